// Client metadata: RFC 7591 dynamic registration requests and client ID metadata documents
// (an https URL as client_id), validated before anything is stored or trusted.
import { hiddenKind } from "../guard/_scan_text.ts";
import { isLoopbackUrl } from "./metadata.ts";
import { OAuthError } from "./oauth_error.ts";

/** The largest registration request or metadata document accepted, in bytes of UTF-8. */
export const MAX_CLIENT_METADATA_BYTES = 8192;
/** The most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 10;
const MAX_URI = 2000;
const MAX_TEXT = 200;

/** The client metadata mcp-run keeps, normalised: what a registration response returns. */
export interface ClientMetadata {
  /** The exact redirect URIs; an authorization request must use one of them verbatim. */
  redirect_uris: string[];
  /** Always `none`: clients are public and prove possession with PKCE. */
  token_endpoint_auth_method: "none";
  /** `authorization_code`, and `refresh_token` when asked for. */
  grant_types: ("authorization_code" | "refresh_token")[];
  /** Always `["code"]`. */
  response_types: ["code"];
  /** The name shown on the sign-in page, if given. */
  client_name?: string;
  /** The client's home page, if given (https). */
  client_uri?: string;
  /** The scope asked for, if given. */
  scope?: string;
}

/**
 * Validate the body of an RFC 7591 registration request (`POST /oauth/register`). Redirect URIs
 * must be https, http on loopback (RFC 8252 §7.3) or an app's private-use scheme (§7.1),
 * without fragment or credentials; clients
 * must be public (`token_endpoint_auth_method` absent or `none`). Unknown members are dropped.
 *
 * @param body The request body as received.
 * @returns The metadata to register.
 * @throws {OAuthError} `invalid_redirect_uri` for a bad redirect URI, `invalid_client_metadata`
 *   for anything else (oversized, not a JSON object, wrong types, unsupported methods).
 * @example
 * ```ts
 * import { parseRegistrationRequest } from "./registration.ts";
 * const m = parseRegistrationRequest('{"redirect_uris":["http://127.0.0.1:33418/callback"],"client_name":"Claude"}');
 * console.log(m.token_endpoint_auth_method); // none
 * ```
 */
export function parseRegistrationRequest(body: string): ClientMetadata {
  return clientMetadata(parseObject(body, "registration request"));
}

/**
 * Check a client ID that is a URL (an MCP client ID metadata document): https, a path, no
 * query, fragment, credentials or dot segments, port 443. Plain client IDs from registration are not URLs.
 *
 * @param clientId The `client_id` parameter.
 * @returns The URL to fetch the document from.
 * @throws {OAuthError} `invalid_client` if the client ID is not an acceptable URL.
 * @example
 * ```ts
 * import { checkClientIdUrl } from "./registration.ts";
 * console.log(checkClientIdUrl("https://claude.ai/oauth/mcp-client.json").hostname); // claude.ai
 * ```
 */
export function checkClientIdUrl(clientId: string): URL {
  const refuse = (why: string): never => {
    throw new OAuthError(
      "invalid_client",
      `Cannot use client_id "${clientId.slice(0, MAX_URI)}" as a metadata document URL: ${why}`,
    );
  };
  if (clientId.length > MAX_URI) refuse("it is too long");
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return refuse("it is not a URL");
  }
  if (url.protocol !== "https:") refuse("it must be https");
  if (url.pathname === "/" || url.pathname === "") refuse("it must have a path");
  // The parser drops the default port: any port left is another service on that host.
  if (url.port !== "") refuse("it must use the https port 443");
  if (url.username || url.password || url.search || url.hash) {
    refuse("it must not carry credentials, a query or a fragment");
  }
  // The parser resolves dot segments and lowercases the host: a mismatch means another URL.
  if (url.href !== clientId) refuse("it must be in normal form, without dot segments");
  return url;
}

/**
 * Validate a fetched client ID metadata document: its `client_id` must equal the URL it was
 * fetched from, it must name the client, and it is held to the same rules as a registration.
 *
 * @param clientId The URL the document was fetched from (checked by {@linkcode checkClientIdUrl}).
 * @param body The document as fetched.
 * @returns The client's metadata.
 * @throws {OAuthError} `invalid_client` if the document is oversized, malformed or for another
 *   client ID, or its metadata breaks the registration rules.
 * @example
 * ```ts
 * import { parseClientMetadataDocument } from "./registration.ts";
 * const id = "https://app.example.com/oauth/client.json";
 * const m = parseClientMetadataDocument(id, JSON.stringify({
 *   client_id: id,
 *   client_name: "Example",
 *   redirect_uris: ["https://app.example.com/callback"],
 * }));
 * console.log(m.client_name); // Example
 * ```
 */
export function parseClientMetadataDocument(clientId: string, body: string): ClientMetadata {
  try {
    const doc = parseObject(body, "client metadata document");
    if (doc.client_id !== clientId) {
      throw new OAuthError(
        "invalid_client_metadata",
        `Cannot accept the client metadata document: its client_id is not "${clientId}"`,
      );
    }
    if ("client_secret" in doc || "client_secret_expires_at" in doc) {
      throw new OAuthError(
        "invalid_client_metadata",
        "Cannot accept the client metadata document: it carries a client secret",
      );
    }
    const m = clientMetadata(doc);
    if (m.client_name === undefined) {
      throw new OAuthError(
        "invalid_client_metadata",
        "Cannot accept the client metadata document: client_name is missing",
      );
    }
    return m;
  } catch (e) {
    if (!(e instanceof OAuthError)) throw e;
    throw new OAuthError("invalid_client", e.message, { cause: e });
  }
}

/**
 * Whether an authorization request's `redirect_uri` is one of the registered ones: compared
 * as exact strings, with no normalisation, prefix or pattern matching, except that an http
 * loopback redirect URI may use any port (RFC 8252 §7.3: native apps listen on a port the
 * system gives them at the time of the request).
 *
 * @param registered The client's redirect URIs.
 * @param requested The `redirect_uri` parameter.
 * @returns True if it equals one of them exactly, or differs from an http loopback one only
 *   in the port.
 * @example
 * ```ts
 * import { redirectUriAllowed } from "./registration.ts";
 * console.log(redirectUriAllowed(["https://a.example/cb"], "https://a.example/cb/")); // false
 * console.log(redirectUriAllowed(["http://127.0.0.1/cb"], "http://127.0.0.1:51004/cb")); // true
 * ```
 */
export function redirectUriAllowed(
  registered: readonly string[],
  requested: string | null | undefined,
): boolean {
  if (typeof requested !== "string") return false;
  if (registered.includes(requested)) return true;
  const portless = loopbackWithoutPort(requested);
  return portless !== undefined && registered.some((r) => loopbackWithoutPort(r) === portless);
}

/** An http loopback URI without its port, or undefined for any other URI. */
function loopbackWithoutPort(uri: string): string | undefined {
  if (!URL.canParse(uri) || uri.includes("#")) return undefined;
  const url = new URL(uri);
  if (url.protocol !== "http:" || !isLoopbackUrl(url) || url.username || url.password) {
    return undefined;
  }
  url.port = "";
  return url.href;
}

/** Schemes that are not an app's own (RFC 8252 §7.1): web, script, file and browser schemes. */
const NOT_PRIVATE_USE = new Set([
  "http",
  "https",
  "javascript",
  "vbscript",
  "data",
  "blob",
  "file",
  "filesystem",
  "about",
  "ftp",
  "ws",
  "wss",
  "mailto",
  "tel",
  "sms",
  "intent",
  "view-source",
  "jar",
  "resource",
  "urn",
  "chrome",
  "chrome-extension",
  "moz-extension",
  "safari-extension",
  "ms-browser-extension",
]);

/**
 * Whether a redirect URI uses a private-use URI scheme (RFC 8252 §7.1), such as
 * `com.example.app:/callback` or `cursor://…`: the code goes to an app on the owner's device,
 * which the consent page says.
 *
 * @param uri The redirect URI.
 * @returns True for a private-use scheme; false for http(s), browser, script and file schemes.
 * @example
 * ```ts
 * import { isPrivateUseRedirect } from "./registration.ts";
 * console.log(isPrivateUseRedirect("com.example.app:/cb"), isPrivateUseRedirect("javascript:x")); // true false
 * ```
 */
export function isPrivateUseRedirect(uri: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1].toLowerCase();
  return scheme !== undefined && !NOT_PRIVATE_USE.has(scheme);
}

function parseObject(body: string, what: string): Record<string, unknown> {
  const bad = (why: string, cause?: unknown): never => {
    throw new OAuthError("invalid_client_metadata", `Cannot accept the ${what}: ${why}`, { cause });
  };
  if (body.length > MAX_CLIENT_METADATA_BYTES) bad(`it exceeds ${MAX_CLIENT_METADATA_BYTES} bytes`);
  if (new TextEncoder().encode(body).length > MAX_CLIENT_METADATA_BYTES) {
    bad(`it exceeds ${MAX_CLIENT_METADATA_BYTES} bytes`);
  }
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (cause) {
    bad("it is not JSON", cause);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    bad("it is not a JSON object");
  }
  return data as Record<string, unknown>;
}

function clientMetadata(m: Record<string, unknown>): ClientMetadata {
  const bad = (why: string): never => {
    throw new OAuthError("invalid_client_metadata", `Cannot register the client: ${why}`);
  };
  const method = m.token_endpoint_auth_method ?? "none";
  if (method !== "none") {
    bad(
      `token_endpoint_auth_method "${
        String(method)
      }" is not supported; use "none" (public client with PKCE)`,
    );
  }
  const grants = stringList(m.grant_types ?? ["authorization_code"], "grant_types", bad);
  for (const g of grants) {
    if (g !== "authorization_code" && g !== "refresh_token") {
      bad(`grant type "${g}" is not supported`);
    }
  }
  if (!grants.includes("authorization_code")) bad('grant_types must include "authorization_code"');
  const responses = stringList(m.response_types ?? ["code"], "response_types", bad);
  if (responses.some((r) => r !== "code")) bad('only the response type "code" is supported');
  const out: ClientMetadata = {
    redirect_uris: redirectUris(m.redirect_uris),
    token_endpoint_auth_method: "none",
    grant_types: [...new Set(grants)] as ClientMetadata["grant_types"],
    response_types: ["code"],
  };
  const name = optionalText(m.client_name, "client_name", MAX_TEXT, bad);
  if (name !== undefined) {
    refuseHidden(name, "client_name", bad);
    out.client_name = name;
  }
  const uri = optionalText(m.client_uri, "client_uri", MAX_URI, bad);
  if (uri !== undefined) {
    refuseHidden(uri, "client_uri", bad);
    if (!URL.canParse(uri) || new URL(uri).protocol !== "https:") {
      bad("client_uri must be an https URL");
    }
    out.client_uri = uri;
  }
  const scope = optionalText(m.scope, "scope", MAX_TEXT, bad);
  if (scope !== undefined) {
    if (!/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(scope)) {
      bad("scope is not a space-separated list of scope tokens");
    }
    out.scope = scope;
  }
  return out;
}

function redirectUris(value: unknown): string[] {
  const bad = (why: string): never => {
    throw new OAuthError("invalid_redirect_uri", `Cannot register the client: ${why}`);
  };
  if (!Array.isArray(value) || value.length === 0) bad("redirect_uris must be a non-empty array");
  const uris = value as unknown[];
  if (uris.length > MAX_REDIRECT_URIS) {
    bad(`at most ${MAX_REDIRECT_URIS} redirect_uris are accepted`);
  }
  for (const uri of uris) {
    if (typeof uri !== "string" || uri.length === 0) bad("each redirect URI must be a string");
    const text = uri as string;
    if (text.length > MAX_URI) bad(`a redirect URI exceeds ${MAX_URI} characters`);
    // Shown on the consent page as registered: nothing in it may hide or reorder text.
    refuseHidden(text, "a redirect URI", bad);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return bad(`redirect URI "${text}" is not an absolute URL`);
    }
    if (
      url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackUrl(url)) &&
      !isPrivateUseRedirect(text)
    ) {
      bad(
        `redirect URI "${text}" must be https, http on 127.0.0.1, [::1] or localhost, or an app's own scheme such as com.example.app:/callback`,
      );
    }
    if (url.hash || text.includes("#")) bad(`redirect URI "${text}" must not have a fragment`);
    if (url.username || url.password) bad(`redirect URI "${text}" must not carry credentials`);
  }
  return [...new Set(uris as string[])];
}

/**
 * Refuse text shown to the owner that hides characters: control, zero-width, bidirectional
 * overrides, tag characters (what {@linkcode hiddenKind} flags), which could make one name look
 * like another on the consent page.
 */
function refuseHidden(text: string, field: string, bad: (why: string) => never): void {
  for (const char of text) {
    const kind = hiddenKind(char) ?? (/[\t\n\r]/.test(char) ? "control" : undefined);
    if (kind !== undefined) {
      const code = char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      bad(`${field} contains a hidden character (U+${code}, ${kind}); use visible text only`);
    }
  }
}

function stringList(value: unknown, field: string, bad: (why: string) => never): string[] {
  if (!Array.isArray(value) || value.length > 10 || value.some((v) => typeof v !== "string")) {
    bad(`${field} must be an array of at most 10 strings`);
  }
  return value as string[];
}

function optionalText(
  value: unknown,
  field: string,
  max: number,
  bad: (why: string) => never,
): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > max) {
    bad(`${field} must be a string of 1 to ${max} characters`);
  }
  return value as string;
}
