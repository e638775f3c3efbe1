/**
 * The two protocol generations on one endpoint. A request is served by the **legacy** rules
 * (2025-11-25 and earlier: `initialize`, sessions, GET streams) when it opens or names a session,
 * and by the **modern** rules (2026-07-28: stateless, every POST self-contained, the version in an
 * `MCP-Protocol-Version` header matching the body's `_meta`) when its header names a modern
 * version. An unknown version gets the spec's `UnsupportedProtocolVersionError` listing both.
 *
 * Pure: reads headers and parsed bodies, builds responses and messages; no I/O.
 *
 * @module
 */
import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, isObject, type Message, type RequestId } from "./_messages.ts";
import { isInitializeRequest } from "./_http_io.ts";

/** The modern (stateless) versions served. */
const MODERN_VERSIONS: readonly string[] = ["2026-07-28"];
/** The legacy (session) versions served: the pinned SDK's. */
const LEGACY_VERSIONS: readonly string[] = [...SUPPORTED_PROTOCOL_VERSIONS];
/** Every version served, newest first. */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];

/** JSON-RPC error codes of the 2026-07-28 revision. */
export const ModernErrorCode = {
  /** Headers missing, malformed, or not matching the body. */
  HeaderMismatch: -32020,
  /** The requested protocol version is not served. */
  UnsupportedProtocolVersion: -32022,
  /** The method is not implemented. */
  MethodNotFound: -32601,
} as const;

/** The `_meta` keys of the per-request envelope. */
export const MetaKey = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
} as const;

/** Methods whose results carry cache hints (`ttlMs`, `cacheScope`) in 2026-07-28. */
const CACHEABLE = new Set([
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "server/discover",
]);

/** Which rules serve a request, or the refusal when none can. */
export type Era =
  | { era: "legacy" }
  | { era: "modern"; version: string }
  | { era: "refused"; response: Response };

/**
 * Chooses the rules for a request.
 *
 * @param method The HTTP method.
 * @param headers The request headers.
 * @param body The parsed body (POST), or undefined.
 * @returns `legacy`, `modern`, or a ready refusal (405 for GET/DELETE in the modern era, 400
 *   with `UnsupportedProtocolVersionError` for a version not served).
 */
export function eraOf(method: string, headers: Headers, body: unknown): Era {
  const version = headers.get("mcp-protocol-version");
  if (version !== null && MODERN_VERSIONS.includes(version)) {
    if (method !== "POST") {
      return {
        era: "refused",
        response: modernError(
          405,
          null,
          BridgeErrorCode.InvalidRequest,
          `Method Not Allowed: protocol version ${version} has no ${method} on the MCP endpoint: send each request as a POST`,
          { Allow: "POST" },
        ),
      };
    }
    return { era: "modern", version };
  }
  if (version === null || headers.has("mcp-session-id") || LEGACY_VERSIONS.includes(version)) {
    return { era: "legacy" };
  }
  if (method === "POST" && isInitializeRequest(body)) return { era: "legacy" };
  return {
    era: "refused",
    response: unsupportedVersion(idOf(body), version),
  };
}

/** The 400 answer to a version not served, listing the supported ones. */
function unsupportedVersion(id: RequestId | null, requested: string): Response {
  return modernError(
    400,
    id,
    ModernErrorCode.UnsupportedProtocolVersion,
    "Unsupported protocol version",
    undefined,
    { supported: SUPPORTED_VERSIONS, requested },
  );
}

/** A JSON-RPC error body with an HTTP status. */
export function modernError(
  status: number,
  id: RequestId | null,
  code: number,
  message: string,
  headers?: Record<string, string>,
  data?: unknown,
): Response {
  const error = data === undefined ? { code, message } : { code, message, data };
  return Response.json({ jsonrpc: "2.0", id, error }, { status, headers });
}

function idOf(body: unknown): RequestId | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

/**
 * Decodes a header value that may use the `=?base64?…?=` sentinel.
 *
 * @returns The value, or undefined when the encoding is broken.
 */
export function decodeHeaderValue(value: string): string | undefined {
  const match = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/.exec(value);
  if (match === null) return value.startsWith("=?base64?") ? undefined : value;
  try {
    const bytes = Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Checks a modern POST: one JSON-RPC request or notification whose `_meta` protocol version,
 * method and name match the mirrored headers.
 *
 * @param headers The request headers.
 * @param version The `MCP-Protocol-Version` header.
 * @param body The parsed body.
 * @returns The message, or a ready 400 response.
 */
export function checkModernRequest(
  headers: Headers,
  version: string,
  body: unknown,
): Message | Response {
  if (!isObject(body) || body.jsonrpc !== "2.0" || typeof body.method !== "string") {
    return modernError(
      400,
      null,
      BridgeErrorCode.InvalidRequest,
      "Invalid Request: the body must be one JSON-RPC request or notification (no batches, no responses)",
    );
  }
  const message = body as unknown as Message;
  const id = idOf(body);
  if (message.params !== undefined && !isObject(message.params)) {
    return modernError(
      400,
      id,
      BridgeErrorCode.InvalidRequest,
      "Invalid Request: params must be an object",
    );
  }
  const mismatch = (what: string) =>
    modernError(400, id, ModernErrorCode.HeaderMismatch, `Header mismatch: ${what}`);
  const meta = message.params?._meta;
  const bodyVersion = isObject(meta) ? meta[MetaKey.protocolVersion] : undefined;
  if (bodyVersion !== version) {
    return mismatch(
      `MCP-Protocol-Version header "${version}" does not match _meta["${MetaKey.protocolVersion}"] ${
        JSON.stringify(bodyVersion ?? null)
      }`,
    );
  }
  const method = headers.get("mcp-method");
  if (method !== message.method) {
    return mismatch(
      `Mcp-Method header ${
        JSON.stringify(method)
      } does not match the body's method "${message.method}"`,
    );
  }
  const nameField = message.method === "resources/read"
    ? "uri"
    : message.method === "tools/call" || message.method === "prompts/get"
    ? "name"
    : undefined;
  if (nameField !== undefined) {
    const raw = headers.get("mcp-name");
    const name = raw === null ? undefined : decodeHeaderValue(raw);
    const expected = message.params?.[nameField];
    if (name === undefined || name !== expected) {
      return mismatch(
        `Mcp-Name header ${JSON.stringify(raw)} does not match params.${nameField} ${
          JSON.stringify(expected ?? null)
        }`,
      );
    }
  }
  return message;
}

/**
 * The message a legacy server receives for a modern request: the per-request envelope
 * (`io.modelcontextprotocol/*` keys of `_meta`) removed, everything else (progress tokens)
 * kept.
 *
 * @param message The checked modern request.
 * @returns A copy for the server.
 */
export function legacyMessageOf(message: Message): Message {
  const params = message.params;
  if (params?._meta === undefined) return message;
  const meta = Object.fromEntries(
    Object.entries(params._meta).filter(([key]) => !key.startsWith("io.modelcontextprotocol/")),
  );
  const { _meta: _, ...rest } = params;
  return {
    ...message,
    params: Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta },
  };
}

/**
 * A legacy server's result as the 2026-07-28 wire carries it: `resultType`, cache hints on
 * cacheable methods (always `ttlMs` 0 and `private`, whatever the server put there), and the
 * server's identity in `_meta`.
 *
 * @param method The request's method.
 * @param result The server's result.
 * @param serverInfo The server's `initialize` answer `serverInfo`, when known.
 * @returns The result to send.
 */
export function modernResultOf(
  method: string,
  result: unknown,
  serverInfo: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = isObject(result) ? { ...result } : {};
  out.resultType ??= "complete";
  if (CACHEABLE.has(method) && out.resultType === "complete") {
    // Whatever the server says: it cannot know who else the bridge serves, nor what its guard
    // filters per principal, so an answer is never shared, nor reused.
    out.ttlMs = 0;
    out.cacheScope = "private";
  }
  if (serverInfo !== undefined) {
    const meta = isObject(out._meta) ? out._meta : {};
    out._meta = { ...meta, [MetaKey.serverInfo]: meta[MetaKey.serverInfo] ?? serverInfo };
  }
  return out;
}

/**
 * The `server/discover` result, from the server's `initialize` answer.
 *
 * @param initialize The server's `initialize` result.
 * @returns The result (before {@linkcode modernResultOf}).
 */
export function discoverResultOf(initialize: unknown): Record<string, unknown> {
  const init = isObject(initialize) ? initialize : {};
  const result: Record<string, unknown> = {
    supportedVersions: SUPPORTED_VERSIONS,
    capabilities: isObject(init.capabilities) ? init.capabilities : {},
  };
  if (typeof init.instructions === "string") result.instructions = init.instructions;
  return result;
}
