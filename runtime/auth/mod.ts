/**
 * OAuth 2.1 for remote access: the built-in authorization server that `mcp-run serve --auth
 * oauth` puts in front of a served MCP server, and what the CLI needs around it.
 *
 * - {@linkcode openOAuthAuthorizer}: the bridge's authorizer. It answers discovery (RFC 9728,
 *   RFC 8414), the owner's sign-in and consent page, the token, registration and revocation
 *   endpoints, and checks MCP requests' bearer tokens. Sign-in is slowed per address, per IPv6
 *   /48 and globally ({@linkcode SignInLockout}).
 * - {@linkcode TokenService} over a {@linkcode JsonFileTokenStore}: the sign-ins that
 *   `mcp-run tokens list|revoke` shows and ends.
 * - The owner's passphrase ({@linkcode hashPassphrase}, {@linkcode writePassphraseFile},
 *   {@linkcode readPassphraseFile}, at least {@linkcode MIN_PASSPHRASE_LENGTH} characters) and
 *   the optional TOTP secret ({@linkcode readTotpFile}).
 *
 * @example List the live sign-ins of one server
 * ```ts ignore
 * import { JsonFileTokenStore, TokenService } from "./mod.ts";
 * const tokens = new TokenService(new JsonFileTokenStore("/home/me/.local/state/mcp-run/serve/docs/tokens.json"));
 * for (const g of await tokens.grants()) console.log(g.family, g.clientId);
 * ```
 *
 * @module
 */

export { type OAuthAuthorizerOptions, openOAuthAuthorizer } from "./authorization_server.ts";
export {
  type AccessGrant,
  type GrantRequest,
  type GrantSummary,
  type StoredToken,
  type TokenEdit,
  type TokenResponse,
  TokenService,
  type TokenServiceOptions,
  type TokenStore,
} from "./tokens.ts";
export { JsonFileTokenStore } from "./token_file_store.ts";
export {
  hashPassphrase,
  type HashPassphraseOptions,
  MIN_PASSPHRASE_LENGTH,
  type PassphraseRecord,
  readPassphraseFile,
  writePassphraseFile,
} from "./passphrase.ts";
export { readTotpFile } from "./totp.ts";
export { SignInLockout, type SignInLockoutOptions } from "./lockout.ts";
export type { AuthorizerClient, RequestAuthorizer } from "../http/_authorizer.ts";
