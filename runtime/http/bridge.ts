/**
 * The HTTP bridge: a web-standard `(Request) => Promise<Response>` handler that serves stdio MCP
 * servers over MCP Streamable HTTP (spec 2025-11-25: POST, GET SSE stream, DELETE, session ids),
 * using the MCP SDK's server transport for the HTTP framing.
 *
 * Each HTTP session gets its own server process by default (`isolated`), started through the
 * `connect` factory; `shared` mode multiplexes one process with request-id remapping. The handler
 * enforces the rules of SECURITY.md §9: Host and Origin allow lists (403), bearer tokens compared
 * in constant time (401), session ids that are random and bound to the token that created them,
 * body size (413) and time (408), per-client rate and concurrency (429), session count (503) and
 * idle limits; per-client limits trust forwarding headers only from the proxies listed.
 * The client's headers never reach the server process: only JSON-RPC messages do.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { compileHostCheck, compileOriginCheck, corsHeaders } from "./_host_origin.ts";
import { TokenVerifier } from "./bearer_token.ts";
import { ClientLimits } from "./_client_limits.ts";
import { clientAddress, clientKey, compileTrustedProxies } from "./_client_address.ts";
import { type Link, Upstream } from "./_upstream.ts";

export { BridgeErrorCode } from "./_upstream.ts";
export { loopbackHosts } from "./_host_origin.ts";

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
  /** Bearer tokens; when given, every request must carry one. */
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

interface Session {
  id: string | undefined;
  client: string;
  tokenIndex: number;
  transport: WebStandardStreamableHTTPServerTransport;
  upstream: Upstream;
  link: Link;
  lastActivity: number;
  ended: boolean;
  /** Open GET event streams (0 or 1). */
  getStreams: number;
}

const ACCEPTED_METHODS = "GET, POST, DELETE";

function jsonError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Why a body was not read: larger than allowed, or slower than allowed. */
type BodyRefusal = "too-large" | "too-slow";

async function readBody(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<string | BodyRefusal> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= maxBytes)) {
    await request.body?.cancel().catch(() => {});
    return "too-large";
  }
  if (request.body === null) return "";
  const reader = request.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return "too-slow";
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return "too-large";
      }
      chunks.push(value);
    }
  } catch (error) {
    if (timedOut) return "too-slow";
    throw error;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Whether `origin` is the bridge's own origin as the client addressed it (`Host`). */
function isSameOrigin(origin: string | null, host: string): boolean {
  if (origin === null) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      url.host === new URL(`http://${host}`).host && origin === url.origin;
  } catch {
    return false;
  }
}

function isInitializeRequest(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) &&
    (body as { method?: unknown }).method === "initialize" &&
    (body as { id?: unknown }).id !== undefined;
}

const HIDDEN_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/** A read-only view of request headers without credentials. */
class ForwardedHeaders {
  readonly #headers: Headers;
  constructor(headers: Headers) {
    this.#headers = headers;
  }
  get(name: string): string | null {
    return HIDDEN_HEADERS.has(name.toLowerCase()) ? null : this.#headers.get(name);
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
  /** Empty: headers only ever reach the SDK's own checks, never the server or the session. */
  entries(): IterableIterator<[string, string]> {
    return [][Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * What the SDK transport gets of a request: method, URL and headers without credentials, and
 * no body (the bridge always passes the parsed body). A view rather than a copy: the pinned SDK
 * (1.32.2) reads only these members when `parsedBody` is given.
 */
function forwardable(request: Request): Request {
  return {
    method: request.method,
    url: request.url,
    headers: new ForwardedHeaders(request.headers),
  } as unknown as Request;
}

/** The path of an absolute request URL, without parsing it fully. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

/**
 * Calls `done` once the response body has been sent or abandoned: for a GET event stream, when
 * it ends; for anything else, at once (a POST stream lasts as long as its requests, which are
 * counted while they wait for the server).
 */
function whenBodyEnds(request: Request, response: Response, done: () => void): Response {
  const body = response.body;
  if (
    body === null || request.method !== "GET" ||
    !response.headers.get("content-type")?.includes("text/event-stream")
  ) {
    done();
    return response;
  }
  const reader = body.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          finish();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(stream, { status: response.status, headers: response.headers });
}

/**
 * Creates an HTTP bridge: a request handler that serves stdio MCP servers over Streamable HTTP.
 *
 * Serve it with `Deno.serve`, passing the connection info so that per-client limits apply:
 * `Deno.serve({ hostname: "127.0.0.1", port }, bridge.handler)`. `/healthz` answers
 * `{"status":"ok"}` without authentication. Binding to a non-loopback address without tokens
 * is refused by {@linkcode serveHttpBridge}, not by the handler.
 *
 * @param options The server factory, allow lists, tokens and limits.
 * @returns The handler, `close()` and `stats()`.
 * @throws {TypeError} If an allow-list entry is a wildcard or malformed.
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
  const path = options.path ?? "/mcp";
  const shared = options.sessionMode === "shared";
  if (options.sessionMode !== undefined && !["isolated", "shared"].includes(options.sessionMode)) {
    throw new TypeError(
      `Cannot use session mode "${options.sessionMode}": expected "isolated" or "shared"`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const maxSessions = options.maxSessions ?? 64;
  const maxSessionsPerClient = options.maxSessionsPerClient ?? 16;
  const idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
  for (
    const [name, value] of Object.entries({
      bodyTimeoutMs,
      maxBodyBytes,
      maxSessions,
      maxSessionsPerClient,
      idleTimeoutMs,
      requestTimeoutMs,
    })
  ) {
    if (!(value > 0)) throw new RangeError(`Cannot create the bridge: "${name}" must be positive`);
  }
  if (options.startTimeoutMs !== undefined && !(options.startTimeoutMs > 0)) {
    throw new RangeError('Cannot create the bridge: "startTimeoutMs" must be positive');
  }
  const hostAllowed = compileHostCheck(options.allowedHosts);
  const originAllowed = compileOriginCheck(options.allowedOrigins ?? []);
  const trustedProxy = compileTrustedProxies(options.trustProxy ?? []);
  const verifier = options.tokens !== undefined && options.tokens.length > 0
    ? new TokenVerifier(options.tokens)
    : undefined;
  const limits = new ClientLimits({
    ratePerSecond: options.ratePerSecond ?? 50,
    burst: options.rateBurst ?? 100,
    maxConcurrent: options.maxConcurrentPerClient ?? 64,
  });
  const onError = options.onError;
  const jsonResponse = options.jsonResponse ?? false;

  const sessions = new Map<string, Session>();
  const live = new Set<Session>();
  const upstreams = new Set<Upstream>();
  const closing = new Set<Promise<void>>();
  let sharedUpstream: Upstream | undefined;
  let closed = false;

  const newUpstream = (): Upstream => {
    const upstream = new Upstream(options.connect, {
      shared,
      requestTimeoutMs,
      startTimeoutMs: options.startTimeoutMs,
      onError,
    });
    upstreams.add(upstream);
    return upstream;
  };

  const endUpstream = (upstream: Upstream): void => {
    const done = upstream.close().finally(() => {
      upstreams.delete(upstream);
      closing.delete(done);
    });
    closing.add(done);
  };

  const endSession = (session: Session): void => {
    if (session.ended) return;
    session.ended = true;
    live.delete(session);
    if (session.id !== undefined && sessions.get(session.id) === session) {
      sessions.delete(session.id);
    }
    session.link.detach();
    session.transport.onclose = undefined;
    session.transport.close().catch((error: Error) => onError?.(error as Error));
    if (!shared || session.upstream.closed) {
      if (upstreams.has(session.upstream)) endUpstream(session.upstream);
    }
  };

  /**
   * Makes room for a new session of `client`: below the per-client limit nothing happens; at
   * it, that client's least recently used session with no request in flight (and created with
   * the same token) is closed. Returns false when nothing can be closed.
   */
  const roomFor = (client: string, tokenIndex: number): boolean => {
    let count = 0;
    let oldest: Session | undefined;
    for (const session of live) {
      if (session.client !== client) continue;
      count++;
      if (session.tokenIndex !== tokenIndex || session.link.inflight > 0) continue;
      if (oldest === undefined || session.lastActivity < oldest.lastActivity) oldest = session;
    }
    if (count < maxSessionsPerClient) return true;
    if (oldest === undefined) return false;
    endSession(oldest);
    return true;
  };

  const createSession = (client: string, tokenIndex: number): Session => {
    let upstream: Upstream;
    if (shared) {
      if (sharedUpstream === undefined || sharedUpstream.closed) {
        if (sharedUpstream !== undefined && upstreams.has(sharedUpstream)) {
          endUpstream(sharedUpstream);
        }
        sharedUpstream = newUpstream();
      }
      upstream = sharedUpstream;
    } else {
      upstream = newUpstream();
    }
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomSessionId,
      enableJsonResponse: jsonResponse,
      maxRequestBodySize: maxBodyBytes,
      onsessioninitialized: (id: string) => {
        session.id = id;
        sessions.set(id, session);
      },
    });
    const session: Session = {
      id: undefined,
      client,
      tokenIndex,
      transport,
      upstream,
      link: undefined as unknown as Link,
      lastActivity: Date.now(),
      ended: false,
      getStreams: 0,
    };
    session.link = upstream.attach({
      send: async (message: JSONRPCMessage, relatedRequestId) => {
        if (session.ended) return false;
        if (jsonResponse && !("result" in message || "error" in message)) {
          // A JSON answer carries nothing but the response: the rest goes on the GET stream.
          if (session.getStreams === 0) return false;
          relatedRequestId = undefined;
        }
        try {
          await transport.send(message, { relatedRequestId });
          return true;
        } catch {
          return false;
        }
      },
      close: () => endSession(session),
      // Requests waiting for the server count toward the client's concurrency.
      inflight: (delta) => delta > 0 ? limits.hold(client, Date.now()) : limits.release(client),
    });
    transport.onmessage = (message: JSONRPCMessage) => session.link.receive(message);
    transport.onclose = () => endSession(session);
    transport.onerror = () => {}; // client protocol errors are answered with HTTP errors
    live.add(session);
    return session;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const session of [...live]) {
      if (session.link.inflight === 0 && now - session.lastActivity > idleTimeoutMs) {
        endSession(session);
      }
    }
    limits.sweep(now);
  };
  const sweeper = setInterval(sweep, Math.max(10, Math.min(idleTimeoutMs / 2, 30_000)));
  Deno.unrefTimer(sweeper);

  const dispatch = async (
    request: Request,
    client: string,
    tokenIndex: number,
    onBodyEnd: (() => void)[],
    info: ClientInfo | undefined,
  ): Promise<Response> => {
    const method = request.method;
    if (method !== "GET" && method !== "POST" && method !== "DELETE") {
      return jsonError(405, -32000, "Method not allowed", { Allow: ACCEPTED_METHODS });
    }
    let parsedBody: unknown;
    if (method === "POST") {
      const text = await readBody(request, maxBodyBytes, bodyTimeoutMs);
      if (text === "too-large") {
        return jsonError(413, -32000, `Request body must not exceed ${maxBodyBytes} bytes`);
      }
      if (text === "too-slow") {
        info?.close?.();
        return jsonError(408, -32000, `Request body must arrive within ${bodyTimeoutMs} ms`, {
          Connection: "close",
        });
      }
      try {
        parsedBody = JSON.parse(text);
      } catch {
        return jsonError(400, -32700, "Parse error: invalid JSON");
      }
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const session = sessions.get(sessionId);
      // A session is only found with the token that created it.
      if (session === undefined || session.ended || session.tokenIndex !== tokenIndex) {
        return jsonError(404, -32001, "Session not found");
      }
      session.lastActivity = Date.now();
      const response = await session.transport.handleRequest(forwardable(request), {
        parsedBody,
      });
      if (method === "GET" && response.status === 200) {
        session.getStreams++;
        onBodyEnd.push(() => session.getStreams--);
      }
      return response;
    }
    if (method !== "POST" || !isInitializeRequest(parsedBody)) {
      return jsonError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    if (!roomFor(client, tokenIndex)) {
      return jsonError(429, -32000, "Too many sessions for this client", { "Retry-After": "5" });
    }
    if (live.size >= maxSessions) {
      return jsonError(503, -32000, "Too many sessions: try again later", { "Retry-After": "5" });
    }
    const session = createSession(client, tokenIndex);
    let response: Response;
    try {
      response = await session.transport.handleRequest(forwardable(request), { parsedBody });
    } catch (error) {
      endSession(session);
      throw error;
    }
    if (session.id === undefined) endSession(session); // the SDK refused it (406, 415, 400)
    return response;
  };

  const handler = async (request: Request, info?: ClientInfo): Promise<Response> => {
    if (closed) return jsonError(503, -32000, "The server is shutting down");
    const pathname = pathOf(request.url);
    if (pathname === "/healthz") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return jsonError(405, -32000, "Method not allowed", { Allow: "GET, HEAD" });
      }
      return Response.json({ status: "ok" });
    }
    if (pathname !== path) return jsonError(404, -32000, "Not found");
    const host = request.headers.get("host");
    if (!hostAllowed(host)) return jsonError(403, -32000, "Forbidden: Host not allowed");
    const origin = request.headers.get("origin");
    if (!originAllowed(origin) && !isSameOrigin(origin, host!)) {
      return jsonError(403, -32000, "Forbidden: Origin not allowed");
    }
    if (request.method === "OPTIONS") {
      const headers = origin === null ? {} : corsHeaders(origin, true);
      return new Response(null, { status: 204, headers: { ...headers, Allow: ACCEPTED_METHODS } });
    }
    const cors = origin === null ? undefined : corsHeaders(origin, false);
    let tokenIndex = -1;
    if (verifier !== undefined) {
      tokenIndex = verifier.verify(request.headers.get("authorization"));
      if (tokenIndex < 0) {
        return jsonError(401, -32000, "Unauthorized: a valid bearer token is required", {
          ...cors,
          "WWW-Authenticate": 'Bearer realm="mcp-run"',
        });
      }
    }
    const peer = info?.remoteAddr?.hostname ?? "unknown";
    const client = clientKey(clientAddress(peer, request.headers, trustedProxy));
    const now = Date.now();
    if (!limits.take(client, now)) {
      return jsonError(429, -32000, "Too many requests", { ...cors, "Retry-After": "1" });
    }
    if (!limits.acquire(client, now)) {
      return jsonError(429, -32000, "Too many concurrent requests", {
        ...cors,
        "Retry-After": "1",
      });
    }
    let response: Response;
    const onBodyEnd = [() => limits.release(client)];
    try {
      response = await dispatch(request, client, tokenIndex, onBodyEnd, info);
    } catch (error) {
      limits.release(client);
      onError?.(error as Error);
      return jsonError(500, -32603, "Internal error", cors);
    }
    if (cors !== undefined) {
      for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    }
    return whenBodyEnds(request, response, () => {
      for (const end of onBodyEnd) end();
    });
  };

  const close = async (): Promise<void> => {
    closed = true;
    clearInterval(sweeper);
    for (const session of [...live]) {
      session.link.failPending("The server is shutting down");
      endSession(session);
    }
    for (const upstream of [...upstreams]) endUpstream(upstream);
    while (closing.size > 0) await Promise.all([...closing]);
  };

  const stats = (): HttpBridgeStats => {
    let dropped = 0;
    let servers = 0;
    for (const upstream of upstreams) {
      dropped += upstream.dropped;
      if (upstream.running) servers++;
    }
    return { sessions: live.size, servers, dropped, clients: limits.size };
  };

  return { handler, close, stats };
}
