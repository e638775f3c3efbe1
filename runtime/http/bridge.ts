/**
 * The HTTP bridge: a web-standard `(Request) => Promise<Response>` handler that serves stdio MCP
 * servers over MCP Streamable HTTP (spec 2025-11-25: POST, GET SSE stream, DELETE, session ids,
 * streams resumed with `Last-Event-ID`), using the MCP SDK's server transport for the HTTP framing.
 * What a session's streams sent is kept for a reconnecting client, bounded per stream and per
 * session and dropped with the session; event ids are random per stream, so an id from another
 * session, or a forged one, resumes nothing.
 *
 * Clients of protocol 2026-07-28 (stateless: no session, no GET stream, the version in an
 * `MCP-Protocol-Version` header matching each request's `_meta`) use the same endpoint: each
 * POST is served by a process kept per principal (the credential the request was admitted with),
 * never shared between principals, initialized by the bridge and ended when idle; in `shared`
 * mode by the one shared process. `server/discover` is answered from that process's
 * `initialize`, `subscriptions/listen` streams list changes and resource updates; a version served
 * by neither generation gets `UnsupportedProtocolVersionError`.
 *
 * Each HTTP session gets its own server process by default (`isolated`), started through the
 * `connect` factory; `shared` mode multiplexes one process with request-id remapping. The handler
 * enforces the rules of SECURITY.md §9: Host and Origin allow lists (403), authentication through
 * one {@linkcode RequestAuthorizer} (bearer tokens compared in constant time, or OAuth; 401),
 * session ids that are random and bound to the principal that created them,
 * body size (413) and time (408), per-client rate and concurrency (429), session count (503) and
 * idle limits; per-client limits trust forwarding headers only from the proxies listed.
 * The client's headers (its Authorization header and cookies among them) never reach the server
 * process: only JSON-RPC messages do.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { RequestAuthorizer } from "./_authorizer.ts";
import { BridgeCore } from "./_bridge_core.ts";

export { BridgeErrorCode } from "./_messages.ts";
export { loopbackHosts } from "./_host_origin.ts";
export type { AuthorizerClient, RequestAuthorizer } from "./_authorizer.ts";

/** How HTTP sessions map to server processes. */
export type SessionMode = "isolated" | "shared";

/** Options for {@linkcode createHttpBridge}. */
export interface HttpBridgeOptions {
  /**
   * Starts one server process and returns its MCP transport, not yet started. Called once per
   * session in `isolated` mode, once (and again after a crash) in `shared` mode. It receives
   * nothing from the HTTP request.
   */
  connect: () => Promise<Transport>;
  /**
   * Accepted `Host` header values, `name[:port]`; other hosts get 403. Required: a loopback
   * listener usually passes {@linkcode loopbackHosts}.
   */
  allowedHosts: readonly string[];
  /**
   * Accepted `Origin` values (`https://app.example.com`) beside the bridge's own origin;
   * requests without Origin (not from a browser) pass.
   */
  allowedOrigins?: readonly string[];
  /**
   * Who may use the MCP endpoint: asked for its own routes (any path but `path`, after the
   * Host and Origin checks) and to check every MCP request; sessions are bound to the principal
   * it answers. A {@linkcode BearerTokenAuthorizer}, the OAuth authorization server, or one of
   * your own. The bridge does not close it. Default: no authentication (or `tokens`).
   */
  authorizer?: RequestAuthorizer;
  /**
   * Bearer tokens, a shorthand for `authorizer: new BearerTokenAuthorizer(tokens)`: every
   * request must carry one. Not together with `authorizer`.
   */
  tokens?: readonly string[];
  /** `isolated` (default): one process per session. `shared`: one process for all. */
  sessionMode?: SessionMode;
  /** The MCP endpoint path. Default `/mcp`. */
  path?: string;
  /** Largest request body in bytes (413 beyond). Default 4 MiB. */
  maxBodyBytes?: number;
  /** Most sessions at once (503 beyond). Default 64. */
  maxSessions?: number;
  /**
   * Most sessions one client (IP address) may hold. A new session beyond it closes that
   * client's least recently used idle session created with the same token, or gets 429 when
   * every one of them has a request in flight. Default 16.
   */
  maxSessionsPerClient?: number;
  /** Requests per second one client may start, sustained (429 beyond). Default 50. */
  ratePerSecond?: number;
  /** Requests one client may start in a burst. Default 100. */
  rateBurst?: number;
  /**
   * Requests one client may have open at once (429 beyond): HTTP requests being handled, GET
   * event streams, and JSON-RPC requests waiting for the server. Default 64.
   */
  maxConcurrentPerClient?: number;
  /**
   * Time a request body may take to arrive in full; a slower one gets 408 and its connection
   * is closed (when the server gave a way to close it, as {@linkcode serveHttpBridge} does).
   * Default 30 s.
   */
  bodyTimeoutMs?: number;
  /**
   * Reverse proxies whose forwarding headers are believed, each an IP address or CIDR range
   * (`127.0.0.1`, `10.0.0.0/8`): for a request from one of them, the client is the right-most
   * `X-Forwarded-For` address that is not itself a trusted proxy, else `CF-Connecting-IP`. From
   * any other peer those headers are ignored. Per-client limits count under that address.
   * Default: none (every client is its peer address).
   */
  trustProxy?: readonly string[];
  /** A session with no request for this long is closed and its process ended. Default 10 min. */
  idleTimeoutMs?: number;
  /**
   * Answer each POST with a single JSON body instead of an event stream (the SDK's JSON
   * response mode): less work per call, but messages the server sends while handling a request
   * (progress, logging, sampling, elicitation, roots) then travel on the session's GET stream,
   * so only clients that keep one open receive them; a server request made when there is none
   * fails at once. Default false.
   */
  jsonResponse?: boolean;
  /** A request the server does not answer in this time gets a JSON-RPC error. Default 60 s. */
  requestTimeoutMs?: number;
  /**
   * Time the first `initialize` of a process may take, start-up included (a JSON-RPC error
   * after it). Default: the larger of 30 s and `requestTimeoutMs`.
   */
  startTimeoutMs?: number;
  /** Called with errors that do not reach a client (transport faults). */
  onError?: (error: Error) => void;
}

/** The connection details the handler uses: Deno.serve's second argument fits. */
export interface ClientInfo {
  /**
   * The peer address; its `hostname` keys the per-client limits (IPv6 per /64), unless it is a
   * trusted proxy (`trustProxy`).
   */
  remoteAddr?: { hostname?: string };
  /** Closes the connection at once; called when a request body arrives too slowly. */
  close?: () => void;
}

/** Counters describing a bridge's state. */
export interface HttpBridgeStats {
  /** Open HTTP sessions. */
  sessions: number;
  /** Server processes started and not yet ended. */
  servers: number;
  /** Server-initiated messages dropped because no session could be chosen. */
  dropped: number;
  /** Clients tracked by the rate and concurrency limits. */
  clients: number;
}

/** A running bridge. */
export interface HttpBridge {
  /**
   * Handles one HTTP request.
   *
   * @param request The request.
   * @param info The peer address (per-client limits); all requests share one budget without it.
   * @returns The response; SSE responses stream.
   */
  handler(request: Request, info?: ClientInfo): Promise<Response>;
  /** Ends every session and server process; later requests get 503. */
  close(): Promise<void>;
  /** Current counters. */
  stats(): HttpBridgeStats;
}

/**
 * Creates an HTTP bridge: a request handler that serves stdio MCP servers over Streamable HTTP.
 *
 * Serve it with `Deno.serve`, passing the connection info so that per-client limits apply:
 * `Deno.serve({ hostname: "127.0.0.1", port }, bridge.handler)`. `/healthz` answers
 * `{"status":"ok"}` without authentication. Binding to a non-loopback address without an
 * authorizer is refused by {@linkcode serveHttpBridge}, not by the handler.
 *
 * @param options The server factory, allow lists, authorizer (or tokens) and limits.
 * @returns The handler, `close()` and `stats()`.
 * @throws {TypeError} If an allow-list entry is a wildcard or malformed, or both `authorizer`
 *   and `tokens` are given.
 * @throws {RangeError} If a limit is not positive or a token is weak.
 * @example
 * ```ts ignore
 * import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
 * const bridge = createHttpBridge({
 *   connect: () => Promise.resolve(new StdioClientTransport({ command: "deno", args: ["run", "server.ts"] })),
 *   allowedHosts: loopbackHosts(8080),
 * });
 * Deno.serve({ hostname: "127.0.0.1", port: 8080 }, bridge.handler);
 * ```
 */
export function createHttpBridge(options: HttpBridgeOptions): HttpBridge {
  const core = new BridgeCore(options);
  return {
    handler: (request, info) => core.handler(request, info),
    close: () => core.close(),
    stats: () => core.stats(),
  };
}
