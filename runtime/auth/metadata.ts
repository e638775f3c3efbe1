// The discovery documents of mcp-run's built-in authorization server, and the 401 challenge.

/** Where each part of the built-in authorization server lives, derived from the public URL. */
export interface AuthEndpoints {
  /** The protected resource: the MCP endpoint's public URL (the token audience, RFC 8707). */
  resource: string;
  /** The authorization server's issuer identifier: the public URL's origin. */
  issuer: string;
  /** RFC 9728 protected-resource metadata, path-inserted after `/.well-known/`. */
  resourceMetadata: string;
  /** RFC 8414 authorization-server metadata. */
  authorizationServerMetadata: string;
  /** The authorization endpoint (sign-in page and code issue). */
  authorization: string;
  /** The token endpoint (code and refresh-token grants). */
  token: string;
  /** The RFC 7591 dynamic registration endpoint. */
  registration: string;
  /** The RFC 7009 revocation endpoint. */
  revocation: string;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether a parsed URL names this machine's loopback interface (`localhost`, `127.0.0.1`,
 * `[::1]`), where plain http is acceptable.
 *
 * @param url The URL.
 * @returns True for a loopback host.
 * @example
 * ```ts
 * import { isLoopbackUrl } from "./metadata.ts";
 * console.log(isLoopbackUrl(new URL("http://127.0.0.1:8808/mcp"))); // true
 * ```
 */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK.has(url.hostname);
}

/**
 * Derive every endpoint of the built-in authorization server from the public URL of the MCP
 * endpoint (`--public-url`). The issuer is the URL's origin, so the SDK client finds the
 * server metadata at `/.well-known/oauth-authorization-server`; the resource metadata is at
 * `/.well-known/oauth-protected-resource` followed by the endpoint's path (RFC 9728 §3.1).
 *
 * @param publicUrl The URL clients reach the MCP endpoint at, e.g. `https://mcp.example.com/mcp`.
 * @returns The endpoints, as absolute URLs.
 * @throws {TypeError} If the URL is malformed, not https (http only on loopback), or carries
 *   credentials, a query or a fragment.
 * @example
 * ```ts
 * import { authEndpoints } from "./metadata.ts";
 * const e = authEndpoints("https://mcp.example.com/mcp");
 * console.log(e.resourceMetadata); // https://mcp.example.com/.well-known/oauth-protected-resource/mcp
 * ```
 */
export function authEndpoints(publicUrl: string): AuthEndpoints {
  const url = parsePublicUrl(publicUrl);
  const origin = url.origin;
  const path = url.pathname === "/" ? "" : url.pathname;
  return {
    resource: `${origin}${path || "/"}`,
    issuer: origin,
    resourceMetadata: `${origin}/.well-known/oauth-protected-resource${path}`,
    authorizationServerMetadata: `${origin}/.well-known/oauth-authorization-server`,
    authorization: `${origin}/oauth/authorize`,
    token: `${origin}/oauth/token`,
    registration: `${origin}/oauth/register`,
    revocation: `${origin}/oauth/revoke`,
  };
}

function parsePublicUrl(publicUrl: string): URL {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch (cause) {
    throw new TypeError(
      `Cannot use "${publicUrl}" as the public URL: it is not a URL; pass the full address clients use, such as https://mcp.example.com/mcp`,
      { cause },
    );
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackUrl(url))) {
    throw new TypeError(
      `Cannot use "${publicUrl}" as the public URL: OAuth needs https (plain http only on loopback); put a TLS-terminating proxy in front and pass its https URL`,
    );
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new TypeError(
      `Cannot use "${publicUrl}" as the public URL: it carries credentials, a query or a fragment; pass only scheme, host, port and path`,
    );
  }
  return url;
}

/** RFC 9728 protected-resource metadata, as served to clients. */
export interface ProtectedResourceMetadata {
  /** The resource identifier (the MCP endpoint's public URL). */
  resource: string;
  /** The authorization servers that issue tokens for it (here, only the built-in one). */
  authorization_servers: string[];
  /** Bearer tokens are accepted in the `Authorization` header only. */
  bearer_methods_supported: ["header"];
  /** The scopes the resource understands. */
  scopes_supported: string[];
  /** A human-readable name. */
  resource_name?: string;
}

/** Options for {@link protectedResourceMetadata} and {@link authorizationServerMetadata}. */
export interface MetadataOptions {
  /** The scopes to advertise (default `["mcp"]`). */
  scopes?: string[];
  /** A human-readable name of the resource, such as the server's name. */
  resourceName?: string;
}

/**
 * Build the RFC 9728 protected-resource metadata document for the MCP endpoint.
 *
 * @param publicUrl The MCP endpoint's public URL.
 * @param options Scopes and name to advertise.
 * @returns The document, ready for `JSON.stringify`.
 * @throws {TypeError} If the public URL is unusable (see {@link authEndpoints}).
 * @example
 * ```ts
 * import { protectedResourceMetadata } from "./metadata.ts";
 * const doc = protectedResourceMetadata("https://mcp.example.com/mcp");
 * console.log(doc.authorization_servers); // ["https://mcp.example.com"]
 * ```
 */
export function protectedResourceMetadata(
  publicUrl: string,
  options: MetadataOptions = {},
): ProtectedResourceMetadata {
  const e = authEndpoints(publicUrl);
  const doc: ProtectedResourceMetadata = {
    resource: e.resource,
    authorization_servers: [e.issuer],
    bearer_methods_supported: ["header"],
    scopes_supported: options.scopes ?? ["mcp"],
  };
  if (options.resourceName !== undefined) doc.resource_name = options.resourceName;
  return doc;
}

/** RFC 8414 authorization-server metadata, as served to clients. */
export interface AuthorizationServerMetadata {
  /** The issuer identifier, identical to the URL the document was found under. */
  issuer: string;
  /** The authorization endpoint. */
  authorization_endpoint: string;
  /** The token endpoint. */
  token_endpoint: string;
  /** The dynamic registration endpoint (RFC 7591). */
  registration_endpoint: string;
  /** The revocation endpoint (RFC 7009). */
  revocation_endpoint: string;
  /** Only the authorization code flow. */
  response_types_supported: ["code"];
  /** Authorization code and refresh token grants. */
  grant_types_supported: ["authorization_code", "refresh_token"];
  /** PKCE with S256 only; `plain` is refused. */
  code_challenge_methods_supported: ["S256"];
  /** Public clients only: no client secrets. */
  token_endpoint_auth_methods_supported: ["none"];
  /** Revocation needs no client authentication either. */
  revocation_endpoint_auth_methods_supported: ["none"];
  /** The scopes the server issues. */
  scopes_supported: string[];
  /** Clients may use an https URL as their client ID (MCP client ID metadata documents). */
  client_id_metadata_document_supported: true;
}

/**
 * Build the RFC 8414 authorization-server metadata document of the built-in server.
 *
 * @param publicUrl The MCP endpoint's public URL.
 * @param options Scopes to advertise.
 * @returns The document, ready for `JSON.stringify`.
 * @throws {TypeError} If the public URL is unusable (see {@link authEndpoints}).
 * @example
 * ```ts
 * import { authorizationServerMetadata } from "./metadata.ts";
 * const doc = authorizationServerMetadata("https://mcp.example.com/mcp");
 * console.log(doc.token_endpoint); // https://mcp.example.com/oauth/token
 * ```
 */
export function authorizationServerMetadata(
  publicUrl: string,
  options: MetadataOptions = {},
): AuthorizationServerMetadata {
  const e = authEndpoints(publicUrl);
  return {
    issuer: e.issuer,
    authorization_endpoint: e.authorization,
    token_endpoint: e.token,
    registration_endpoint: e.registration,
    revocation_endpoint: e.revocation,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    scopes_supported: options.scopes ?? ["mcp"],
    client_id_metadata_document_supported: true,
  };
}

/** Options for {@link wwwAuthenticate}. */
export interface ChallengeOptions {
  /** `invalid_token` when a token was sent but refused (RFC 6750 §3.1); omit when none was sent. */
  error?: "invalid_token" | "insufficient_scope";
  /** A human description of the error; quotes and backslashes are dropped. */
  description?: string;
  /** The scope the request needs. */
  scope?: string;
}

/**
 * Build the `WWW-Authenticate` header value of a 401 from the MCP endpoint, pointing the
 * client at the protected-resource metadata (RFC 9728 §5.1).
 *
 * @param publicUrl The MCP endpoint's public URL.
 * @param options The error, description and scope to include.
 * @returns The header value, e.g. `Bearer resource_metadata="https://…"`.
 * @throws {TypeError} If the public URL is unusable (see {@link authEndpoints}).
 * @example
 * ```ts
 * import { wwwAuthenticate } from "./metadata.ts";
 * console.log(wwwAuthenticate("https://mcp.example.com/mcp", { error: "invalid_token" }));
 * ```
 */
export function wwwAuthenticate(publicUrl: string, options: ChallengeOptions = {}): string {
  const params = [`resource_metadata="${authEndpoints(publicUrl).resourceMetadata}"`];
  const clean = (s: string) => s.replace(/["\\\r\n]/g, "");
  if (options.error) params.push(`error="${options.error}"`);
  if (options.description) params.push(`error_description="${clean(options.description)}"`);
  if (options.scope) params.push(`scope="${clean(options.scope)}"`);
  return `Bearer ${params.join(", ")}`;
}
