/**
 * OAuth 2.1 for remote access: the pieces of the built-in authorization server that
 * `mcp-run serve --public-url` will use, each pure or with one small, named I/O helper.
 *
 * - Discovery: {@linkcode protectedResourceMetadata} (RFC 9728),
 *   {@linkcode authorizationServerMetadata} (RFC 8414) and the 401 challenge
 *   {@linkcode wwwAuthenticate}, all derived from the public URL ({@linkcode authEndpoints}).
 * - PKCE, S256 only: {@linkcode checkPkceChallenge}, {@linkcode verifyPkce}.
 * - Authorization codes, single use and bound to client, redirect URI, challenge and resource:
 *   {@linkcode AuthorizationCodes}.
 * - Opaque tokens stored as hashes, audience-bound access tokens and rotated refresh tokens
 *   whose reuse revokes the family: {@linkcode TokenService} over a {@linkcode TokenStore}
 *   ({@linkcode MemoryTokenStore}, or {@linkcode JsonFileTokenStore} to survive a restart).
 * - Client metadata: RFC 7591 registrations ({@linkcode parseRegistrationRequest}), client ID
 *   metadata documents ({@linkcode checkClientIdUrl}, {@linkcode parseClientMetadataDocument})
 *   and exact redirect URI matching ({@linkcode redirectUriAllowed}).
 * - The owner's passphrase: a slow salted hash ({@linkcode hashPassphrase},
 *   {@linkcode verifyPassphrase}) in a 0600 file ({@linkcode writePassphraseFile}), and
 *   exponential lockout of addresses that keep failing ({@linkcode SignInLockout}).
 *
 * - The HTTP side, as the bridge's authorizer: {@linkcode openOAuthAuthorizer} answers the
 *   discovery, authorize (sign-in and consent page, {@linkcode renderConsentPage}), token,
 *   register and revoke endpoints and checks MCP requests' bearer tokens; clients are kept by a
 *   {@linkcode ClientStore}, metadata documents fetched by {@linkcode fetchClientMetadata}
 *   (public addresses only), and sign-in can ask for a TOTP code ({@linkcode TotpVerifier}).
 *
 * Errors a client should see are {@linkcode OAuthError}s carrying the RFC error code.
 *
 * @example The 401 challenge of an endpoint
 * ```ts
 * import { wwwAuthenticate } from "./mod.ts";
 * console.log(wwwAuthenticate("https://mcp.example.com/mcp"));
 * // Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
 * ```
 *
 * @module
 */

export { OAuthError, type OAuthErrorCode } from "./oauth_error.ts";
export {
  type AuthEndpoints,
  authEndpoints,
  type AuthorizationServerMetadata,
  authorizationServerMetadata,
  type ChallengeOptions,
  isLoopbackUrl,
  type MetadataOptions,
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
  wwwAuthenticate,
} from "./metadata.ts";
export { checkPkceChallenge, pkceChallenge, verifyPkce } from "./pkce.ts";
export {
  AuthorizationCodes,
  type AuthorizationCodesOptions,
  type CodeGrant,
  type CodeRedemption,
  type RedeemedCode,
} from "./codes.ts";
export {
  type AccessGrant,
  type GrantRequest,
  type GrantSummary,
  MemoryTokenStore,
  type StoredToken,
  type TokenEdit,
  type TokenResponse,
  TokenService,
  type TokenServiceOptions,
  type TokenStore,
} from "./tokens.ts";
export { JsonFileTokenStore } from "./token_file_store.ts";
export {
  checkClientIdUrl,
  type ClientMetadata,
  MAX_CLIENT_METADATA_BYTES,
  MAX_REDIRECT_URIS,
  parseClientMetadataDocument,
  parseRegistrationRequest,
  redirectUriAllowed,
} from "./registration.ts";
export {
  hashPassphrase,
  type HashPassphraseOptions,
  MIN_PASSPHRASE_ITERATIONS,
  MIN_PASSPHRASE_LENGTH,
  parsePassphraseRecord,
  PASSPHRASE_ITERATIONS,
  type PassphraseRecord,
  readPassphraseFile,
  verifyPassphrase,
  writePassphraseFile,
} from "./passphrase.ts";
export { SignInLockout, type SignInLockoutOptions } from "./lockout.ts";
export { type OAuthAuthorizerOptions, openOAuthAuthorizer } from "./authorization_server.ts";
export type { AuthorizerClient, RequestAuthorizer } from "../http/_authorizer.ts";
export {
  ClientStore,
  type ClientStoreOptions,
  type KnownClient,
  type RegisteredClient,
} from "./client_store.ts";
export {
  fetchClientMetadata,
  type FetchClientMetadataOptions,
  isPublicAddress,
} from "./client_metadata_fetch.ts";
export {
  consentCookie,
  consentCookieName,
  type ConsentView,
  escapeHtml,
  pageResponse,
  type PageResponseOptions,
  readConsentCookie,
  renderConsentPage,
  renderErrorPage,
} from "./consent_page.ts";
export {
  parseTotpSecret,
  readTotpFile,
  totpCode,
  TotpVerifier,
  type TotpVerifierOptions,
} from "./totp.ts";
