/**
 * The bridge itself: admission, then a session (found, or created by `initialize`), then the
 * session's server. Sessions map to server processes through {@linkcode UpstreamPool}.
 *
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { ClientInfo, HttpBridgeOptions, HttpBridgeStats } from "./bridge.ts";
import { Admission, type Admitted, ANONYMOUS } from "./_admission.ts";
import type { RequestAuthorizer } from "./_authorizer.ts";
import { BearerTokenAuthorizer } from "./bearer_token.ts";
import type { ProxyCheck } from "./_client_address.ts";
import { SessionTable } from "./_session_table.ts";
import type { Link, Upstream } from "./_upstream.ts";
import { Multiplexer } from "./_multiplexer.ts";
import { PassThrough } from "./_pass_through.ts";
import { SessionEventStore, watchDelivery } from "./_event_store.ts";
import { eraOf } from "./_protocol_era.ts";
import { StatelessServers } from "./_stateless.ts";
import {
  forwardable,
  isInitializeRequest,
  jsonError,
  randomSessionId,
  whenBodyEnds,
} from "./_http_io.ts";

interface Session {
  id: string | undefined;
  readonly client: string;
  readonly principal: string;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  /** What its streams sent, for clients resuming with Last-Event-ID. */
  readonly events: SessionEventStore;
  readonly upstream: Upstream;
  link: Link;
  lastActivity: number;
  ended: boolean;
  /** Open GET event streams (0 or 1). */
  getStreams: number;
  /** Settles when every message handed to the transport so far is written (or failed). */
  delivered: Promise<unknown>;
  readonly inflight: number;
}

/** Options with their defaults applied, checked; bearer tokens become an authorizer. */
type Settings =
  & Required<Omit<HttpBridgeOptions, "startTimeoutMs" | "onError" | "authorizer" | "tokens">>
  & {
    startTimeoutMs?: number;
    onError?: (error: Error) => void;
    authorizer?: RequestAuthorizer;
  };

/** The authorizer the options ask for: the one given, bearer tokens, or none. */
function authorizerOf(options: HttpBridgeOptions): RequestAuthorizer | undefined {
  const tokens = options.tokens ?? [];
  if (options.authorizer !== undefined && tokens.length > 0) {
    throw new TypeError(
      'Cannot create the bridge with both "authorizer" and "tokens": pass the tokens as a ' +
        "BearerTokenAuthorizer, or only one of them",
    );
  }
  return options.authorizer ?? (tokens.length > 0 ? new BearerTokenAuthorizer(tokens) : undefined);
}

function settingsOf(options: HttpBridgeOptions): Settings {
  if (options.sessionMode !== undefined && !["isolated", "shared"].includes(options.sessionMode)) {
    throw new TypeError(
      `Cannot use session mode "${options.sessionMode}": expected "isolated" or "shared"`,
    );
  }
  const { tokens: _tokens, authorizer: _authorizer, ...rest } = options;
  const settings: Settings = {
    path: "/mcp",
    allowedOrigins: [],
    sessionMode: "isolated",
    maxBodyBytes: 4 * 1024 * 1024,
    maxSessions: 64,
    maxSessionsPerClient: 16,
    ratePerSecond: 50,
    rateBurst: 100,
    maxConcurrentPerClient: 64,
    bodyTimeoutMs: 30_000,
    trustProxy: [],
    idleTimeoutMs: 10 * 60_000,
    jsonResponse: false,
    requestTimeoutMs: 60_000,
    ...withoutUndefined(rest),
    connect: options.connect,
    allowedHosts: options.allowedHosts,
    authorizer: authorizerOf(options),
  };
  const { bodyTimeoutMs, maxBodyBytes, maxSessions, maxSessionsPerClient } = settings;
  const { idleTimeoutMs, requestTimeoutMs } = settings;
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
  return settings;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The server processes of a bridge: one per session, or one shared (restarted after a crash). */
class UpstreamPool {
  readonly #settings: Settings;
  readonly #upstreams = new Set<Upstream>();
  readonly #closing = new Set<Promise<void>>();
  #shared: Upstream | undefined;

  constructor(settings: Settings) {
    this.#settings = settings;
  }

  /** The server for a new session. */
  take(): Upstream {
    if (this.#settings.sessionMode !== "shared") return this.#start();
    if (this.#shared === undefined || this.#shared.closed) {
      if (this.#shared !== undefined) this.end(this.#shared);
      this.#shared = this.#start();
    }
    return this.#shared;
  }

  /** A server several links share (stateless clients of one principal). */
  startShared(): Upstream {
    return this.#start(true);
  }

  #start(multiplex = false): Upstream {
    const { connect, sessionMode, requestTimeoutMs, startTimeoutMs, onError } = this.#settings;
    const options = { requestTimeoutMs, startTimeoutMs, onError };
    const upstream = multiplex || sessionMode === "shared"
      ? new Multiplexer(connect, options)
      : new PassThrough(connect, options);
    this.#upstreams.add(upstream);
    return upstream;
  }

  /** Ends a server unless already ending; in shared mode only once it has exited. */
  release(upstream: Upstream): void {
    if (this.#settings.sessionMode !== "shared" || upstream.closed) this.end(upstream);
  }

  end(upstream: Upstream): void {
    if (!this.#upstreams.has(upstream)) return;
    const done = upstream.close().finally(() => {
      this.#upstreams.delete(upstream);
      this.#closing.delete(done);
    });
    this.#closing.add(done);
  }

  async closeAll(): Promise<void> {
    for (const upstream of [...this.#upstreams]) this.end(upstream);
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
  }

  stats(): { servers: number; dropped: number } {
    let dropped = 0;
    let servers = 0;
    for (const upstream of this.#upstreams) {
      dropped += upstream.dropped;
      if (upstream.running) servers++;
    }
    return { servers, dropped };
  }
}

/** One bridge: see {@linkcode createHttpBridge} in bridge.ts. */
export class BridgeCore {
  readonly #settings: Settings;
  readonly #admission: Admission;
  readonly #sessions: SessionTable<Session>;
  readonly #pool: UpstreamPool;
  readonly #stateless: StatelessServers;
  readonly #sweeper: ReturnType<typeof setInterval>;
  #closed = false;

  /**
   * @param options The bridge options.
   * @throws {TypeError} If an allow-list entry or the session mode is malformed, or both an
   *   authorizer and tokens are given.
   * @throws {RangeError} If a limit is not positive or a token is weak.
   */
  constructor(options: HttpBridgeOptions) {
    const settings = settingsOf(options);
    this.#settings = settings;
    this.#admission = new Admission(settings);
    this.#sessions = new SessionTable<Session>({
      ...settings,
      end: (session) => this.#endSession(session),
      // Stateless requests' processes share the budget.
      others: () => this.#stateless.size,
    });
    this.#pool = new UpstreamPool(settings);
    this.#stateless = new StatelessServers({
      start: () => this.#pool.startShared(),
      end: (upstream) => this.#pool.end(upstream),
      shared: settings.sessionMode === "shared" ? () => this.#pool.take() : undefined,
      canStart: () => this.#sessions.size + this.#stateless.size < settings.maxSessions,
      idleTimeoutMs: settings.idleTimeoutMs,
    });
    const idle = settings.idleTimeoutMs;
    this.#sweeper = setInterval(() => {
      const now = Date.now();
      this.#sessions.sweep(now);
      this.#stateless.sweep(now);
      this.#admission.limits.sweep(now);
    }, Math.max(10, Math.min(idle / 2, 30_000)));
    Deno.unrefTimer(this.#sweeper);
  }

  /** The trusted proxies (`trustProxy`), compiled once for the bridge and its listener. */
  get trustedProxy(): ProxyCheck {
    return this.#admission.trustedProxy;
  }

  /**
   * Accepts more `Host` values (a listener's own, known once bound).
   *
   * @param hosts The hosts.
   */
  allowHosts(hosts: readonly string[]): void {
    this.#admission.allowHosts(hosts);
  }

  /**
   * Handles one HTTP request.
   *
   * @param request The request.
   * @param info The connection.
   * @returns The response.
   */
  async handler(request: Request, info?: ClientInfo): Promise<Response> {
    if (this.#closed) return jsonError(503, -32000, "The server is shutting down");
    const verdict = await this.#admission.admit(request, info, Date.now());
    if ("response" in verdict) return verdict.response;
    const { client, cors } = verdict.admitted;
    let response: Response;
    const onBodyEnd = [() => this.#admission.release(client)];
    try {
      response = await this.#dispatch(request, verdict.admitted, onBodyEnd, info);
    } catch (error) {
      this.#admission.release(client);
      this.#settings.onError?.(error as Error);
      return jsonError(500, -32603, "Internal error", cors);
    }
    if (cors !== undefined) {
      for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    }
    return whenBodyEnds(request, response, () => {
      for (const end of onBodyEnd) end();
    });
  }

  async #dispatch(
    request: Request,
    admitted: Admitted,
    onBodyEnd: (() => void)[],
    info: ClientInfo | undefined,
  ): Promise<Response> {
    const read = await this.#admission.readBody(request, info);
    if ("response" in read) return read.response;
    const parsedBody = read.body;
    const era = eraOf(request.method, request.headers, parsedBody);
    if (era.era === "refused") return era.response;
    if (era.era === "modern") {
      const { client } = admitted;
      // The principal: undefined for a request without credentials (served on its own).
      const principal = admitted.principal === ANONYMOUS ? undefined : admitted.principal;
      return await this.#stateless.serve(
        principal,
        request.headers,
        era.version,
        parsedBody,
        {
          client,
          signal: request.signal,
          inflight: (delta) =>
            delta > 0
              ? this.#admission.limits.hold(client, Date.now())
              : this.#admission.limits.release(client),
        },
      );
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const session = this.#sessions.find(sessionId, admitted.principal);
      if (session === undefined) return jsonError(404, -32001, "Session not found");
      session.lastActivity = Date.now();
      const resumeFrom = request.method === "GET" ? request.headers.get("last-event-id") : null;
      if (resumeFrom !== null && session.events.lostAfter(resumeFrom)) {
        return jsonError(
          400,
          -32000,
          "Cannot resume the stream: events after Last-Event-ID were dropped (the backlog exceeded its bound); open a new stream without Last-Event-ID and list again what you track",
        );
      }
      const response = await session.transport.handleRequest(forwardable(request), {
        parsedBody,
      });
      if (request.method === "GET" && response.status === 200) {
        session.getStreams++;
        onBodyEnd.push(() => session.getStreams--);
      }
      if (request.method !== "POST") return response;
      return watchDelivery(response, (id) => session.events.forgetDelivered(id));
    }
    if (request.method !== "POST" || !isInitializeRequest(parsedBody)) {
      return jsonError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    }
    const refusal = this.#sessions.admit(admitted.client, admitted.principal);
    if (refusal === "client-full") {
      return jsonError(429, -32000, "Too many sessions for this client", { "Retry-After": "5" });
    }
    if (refusal === "full") {
      return jsonError(503, -32000, "Too many sessions: try again later", { "Retry-After": "5" });
    }
    const session = this.#createSession(admitted.client, admitted.principal);
    let response: Response;
    try {
      response = await session.transport.handleRequest(forwardable(request), { parsedBody });
    } catch (error) {
      this.#endSession(session);
      throw error;
    }
    if (session.id === undefined) this.#endSession(session); // the SDK refused it (406, 415, 400)
    return watchDelivery(response, (id) => session.events.forgetDelivered(id));
  }

  #createSession(client: string, principal: string): Session {
    const upstream = this.#pool.take();
    const events = new SessionEventStore();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomSessionId,
      eventStore: events,
      enableJsonResponse: this.#settings.jsonResponse,
      maxRequestBodySize: this.#settings.maxBodyBytes,
      onsessioninitialized: (id: string) => this.#sessions.bind(session, id),
    });
    const session: Session = {
      id: undefined,
      client,
      principal,
      transport,
      events,
      upstream,
      link: undefined as unknown as Link,
      lastActivity: Date.now(),
      ended: false,
      getStreams: 0,
      delivered: Promise.resolve(),
      get inflight() {
        return session.link.inflight;
      },
    };
    session.link = upstream.attach({
      send: (message, relatedRequestId) => this.#deliver(session, message, relatedRequestId),
      close: () => this.#endSession(session),
      // Requests waiting for the server count toward the client's concurrency.
      inflight: (delta) =>
        delta > 0
          ? this.#admission.limits.hold(client, Date.now())
          : this.#admission.limits.release(client),
    });
    transport.onmessage = (message: JSONRPCMessage) => session.link.receive(message);
    transport.onclose = () => this.#endSession(session);
    transport.onerror = () => {}; // client protocol errors are answered with HTTP errors
    this.#sessions.add(session);
    return session;
  }

  async #deliver(
    session: Session,
    message: JSONRPCMessage,
    relatedRequestId: string | number | undefined,
  ): Promise<boolean> {
    if (session.ended) return false;
    if (this.#settings.jsonResponse && !("result" in message || "error" in message)) {
      // A JSON answer carries nothing but the response: the rest goes on the GET stream.
      if (session.getStreams === 0) return false;
      relatedRequestId = undefined;
    }
    try {
      // Sending stores the event first (resumability): closing waits for the write.
      const sent = session.transport.send(message, { relatedRequestId });
      session.delivered = sent.catch(() => {});
      await sent;
      return true;
    } catch {
      return false;
    }
  }

  #endSession(session: Session): void {
    if (session.ended) return;
    session.ended = true;
    this.#sessions.remove(session);
    session.link.detach();
    session.transport.onclose = undefined;
    session.delivered
      .then(() => session.transport.close())
      .catch((error: Error) => this.#settings.onError?.(error));
    this.#pool.release(session.upstream);
    session.events.clear();
  }

  /**
   * Ends every session and server process.
   *
   * @returns When every process has ended.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const session of this.#sessions.all()) {
      session.link.failPending("The server is shutting down");
      this.#endSession(session);
    }
    this.#stateless.clear();
    await this.#pool.closeAll();
  }

  /**
   * Current counters.
   *
   * @returns Sessions, servers, dropped messages and tracked clients.
   */
  stats(): HttpBridgeStats {
    const { servers, dropped } = this.#pool.stats();
    return {
      sessions: this.#sessions.size,
      servers,
      dropped,
      clients: this.#admission.limits.size,
    };
  }
}
