/**
 * Stateless requests (protocol 2026-07-28): each POST is self-contained, so it is served by a
 * server process that outlives it. Each principal (the credential a request was admitted with)
 * gets its own process, started on its first request, initialized once by the bridge (as a
 * legacy client with no client capabilities), shared by that principal's requests and ended
 * after the idle timeout; in `shared` session mode the bridge's one process serves them all.
 * Requests of different principals never reach the same process, so no state a server keeps
 * (in memory, in its files) crosses from one principal to another.
 *
 * A request is one exchange on a temporary link of that process: the bridge's `initialize`
 * (answered from the first one after it), then the request. Its answer is one JSON body, or, when
 * the client asked for progress (a progress token) or log messages (`_meta` logLevel), an event
 * stream scoped to the request: those notifications, then the answer. A client that goes away
 * (or closes that stream) cancels the request on the server. Server requests (sampling,
 * elicitation, roots) get an error: a stateless client takes none. `server/discover` is
 * answered from the server's `initialize`; `subscriptions/listen` opens a long-lived link
 * (`_listen.ts`); `initialize` belongs to the legacy generation and is refused here.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, errorResponse, type Message, type RequestId } from "./_messages.ts";
import type { Downstream, Link } from "./_link.ts";
import type { Upstream } from "./_upstream.ts";
import { filterOf, listen, type SubscriptionFilter } from "./_listen.ts";
import {
  checkModernRequest,
  discoverResultOf,
  legacyMessageOf,
  MetaKey,
  modernError,
  ModernErrorCode,
  modernResultOf,
} from "./_protocol_era.ts";

/** Options for {@linkcode StatelessServers}. */
export interface StatelessServersOptions {
  /** Starts a server for one principal (not yet running: it starts on its first message). */
  start: () => Upstream;
  /** Ends a server started by `start`. */
  end: (upstream: Upstream) => void;
  /** In `shared` session mode: the one shared server, instead of one per principal. */
  shared?: () => Upstream;
  /** Whether another server process may be started now (the bridge's session budget). */
  canStart: () => boolean;
  /** A principal's server with no request for this long is ended (ms). */
  idleTimeoutMs: number;
}

/** Hooks of one HTTP request. */
export interface ExchangeHooks {
  /** Aborted when the client goes away: the request is cancelled on the server. */
  signal?: AbortSignal;
  /** Told +1/-1 as the request starts and stops waiting for the server. */
  inflight?: (delta: 1 | -1) => void;
  /** Receives the server's notifications about the request (progress, log messages). */
  notify?: (notification: Message) => void;
  /** Aborted when the bridge shuts down: the request is answered with an error. */
  shutdown?: AbortSignal;
}

interface Entry {
  readonly upstream: Upstream;
  /** The server's `initialize` answer, once known. */
  init?: Record<string, unknown>;
  lastActivity: number;
  /** Requests and subscriptions open: the server is not ended for idleness meanwhile. */
  active: number;
  /** Subscriptions open. */
  listeners: number;
}

/** Most subscriptions one principal may hold open. */
const MAX_LISTENERS = 8;

/** The bridge's own `initialize`: no client capabilities (a stateless client takes no request). */
function initializeRequest(id: RequestId): JSONRPCMessage {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: SERVER_PROTOCOL, capabilities: {}, clientInfo: CLIENT_INFO },
  } as JSONRPCMessage;
}

/** Log levels, least severe first (RFC 5424 as MCP names them). */
const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/**
 * Which of the server's notifications about a request its client wants on an event stream:
 * progress when it sent a progress token, log messages at or above the level it asked for
 * (`_meta` logLevel). Undefined when it wants none, or takes no event stream: then the answer is
 * one JSON body.
 */
function notificationsWanted(
  message: Message,
  headers: Headers,
): ((note: Message) => boolean) | undefined {
  if (!headers.get("accept")?.includes("text/event-stream")) return undefined;
  const meta = message.params?._meta ?? {};
  const progress = meta.progressToken !== undefined;
  const level = LEVELS.indexOf(String(meta[MetaKey.logLevel]));
  if (!progress && level < 0) return undefined;
  return (note) => {
    if (note.method === "notifications/progress") return progress;
    if (note.method !== "notifications/message") return false;
    return level >= 0 && LEVELS.indexOf(String(note.params?.level)) >= level;
  };
}

/** The name the bridge gives itself when it initializes a server for stateless clients. */
const CLIENT_INFO = { name: "mcp-run (stateless clients)", version: "1" };
/** The version the bridge initializes a server with: the newest legacy one. */
const SERVER_PROTOCOL = "2025-11-25";

/** The server processes of stateless requests, one per principal. */
export class StatelessServers {
  readonly #options: StatelessServersOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #closing = new AbortController();
  readonly #sharedInit = new WeakMap<Upstream, Entry>();

  /** @param options How servers start and end, and the budget. */
  constructor(options: StatelessServersOptions) {
    this.#options = options;
  }

  /** Server processes held for principals. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Serves one modern POST.
   *
   * @param principal The key of the credential it was admitted with.
   * @param headers The request headers (mirrored values are checked against the body).
   * @param version The `MCP-Protocol-Version` header.
   * @param body The parsed body.
   * @param hooks Cancellation and in-flight counting.
   * @returns The HTTP response: one JSON body or a request-scoped event stream, 202 for a
   *   notification, or a 4xx/5xx.
   */
  async serve(
    principal: string,
    headers: Headers,
    version: string,
    body: unknown,
    hooks: ExchangeHooks = {},
  ): Promise<Response> {
    const checked = checkModernRequest(headers, version, body);
    if (checked instanceof Response) return checked;
    const message = checked;
    // No client notification is defined on this transport: accepted and dropped.
    if (message.id === undefined || message.id === null) return new Response(null, { status: 202 });
    const id = message.id;
    if (message.method === "initialize") {
      return modernError(
        400,
        id,
        ModernErrorCode.InvalidRequest,
        `initialize is not part of protocol ${version}: send it without an MCP-Protocol-Version header to open a 2025-11-25 session, or send requests directly`,
      );
    }
    const listening = message.method === "subscriptions/listen";
    const filter = listening ? filterOf(message.params) : undefined;
    if (typeof filter === "string") {
      return modernError(400, id, -32602, `Invalid params: ${filter}`);
    }
    const entry = this.#entry(principal);
    if (entry === undefined) {
      return modernError(
        503,
        id,
        BridgeErrorCode.ServerUnavailable,
        "Too many sessions: try again later",
        { "Retry-After": "5" },
      );
    }
    if (filter !== undefined) return this.#listen(entry, id, filter, hooks);
    entry.active++;
    entry.lastActivity = Date.now();
    const settled = () => {
      entry.active--;
      entry.lastActivity = Date.now();
    };
    const final = (answer: Message): Record<string, unknown> => {
      if (answer.error !== undefined) return { jsonrpc: "2.0", id, error: answer.error };
      const result = message.method === "server/discover"
        ? discoverResultOf(entry.init)
        : answer.result;
      return {
        jsonrpc: "2.0",
        id,
        result: modernResultOf(message.method!, result, entry.init?.serverInfo),
      };
    };
    const relay = notificationsWanted(message, headers);
    if (relay === undefined) {
      let answer: Message;
      try {
        answer = await exchange(entry, legacyMessageOf(message), {
          ...hooks,
          shutdown: this.#closing.signal,
        });
      } finally {
        settled();
      }
      if (hooks.signal?.aborted) return new Response(null, { status: 499 });
      return Response.json(final(answer));
    }
    // An event stream scoped to the request: its notifications, then its answer.
    const cancel = new AbortController();
    hooks.signal?.addEventListener("abort", () => cancel.abort(), { once: true });
    const encoder = new TextEncoder();
    let out!: ReadableStreamDefaultController<Uint8Array>;
    const write = (event: unknown) => {
      try {
        out.enqueue(encoder.encode(`event: message\ndata: ${JSON.stringify(event)}\n\n`));
      } catch { /* the client went away */ }
    };
    const events = new ReadableStream<Uint8Array>({
      start: (controller) => {
        out = controller;
      },
      // Closing the stream cancels the request (2026-07-28): the server is told.
      cancel: () => cancel.abort(),
    });
    exchange(entry, legacyMessageOf(message), {
      signal: cancel.signal,
      inflight: hooks.inflight,
      shutdown: this.#closing.signal,
      notify: (note) => {
        if (relay(note)) write(note);
      },
    }).then((answer) => {
      if (!cancel.signal.aborted) write(final(answer));
      try {
        out.close();
      } catch { /* cancelled by the client */ }
    }).finally(settled);
    return new Response(events, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  #listen(
    entry: Entry,
    id: RequestId,
    filter: SubscriptionFilter,
    hooks: ExchangeHooks,
  ): Response {
    if (entry.listeners >= MAX_LISTENERS) {
      return modernError(
        429,
        id,
        BridgeErrorCode.ServerUnavailable,
        `Too many subscriptions: at most ${MAX_LISTENERS} open at once per client credential; close one first`,
        { "Retry-After": "5" },
      );
    }
    entry.active++;
    entry.listeners++;
    return listen(entry.upstream, id, filter, {
      initialize: (link, initId) => link.receive(initializeRequest(initId)),
      initialized: (result) => {
        entry.init ??= result;
      },
      signal: hooks.signal,
      shutdown: this.#closing.signal,
      ended: () => {
        entry.active--;
        entry.listeners--;
        entry.lastActivity = Date.now();
      },
    });
  }

  /**
   * Ends every principal's server idle longer than the idle timeout.
   *
   * @param now The current time (ms since the epoch).
   */
  sweep(now: number): void {
    for (const [principal, entry] of this.#entries) {
      if (entry.active === 0 && now - entry.lastActivity > this.#options.idleTimeoutMs) {
        this.#entries.delete(principal);
        this.#options.end(entry.upstream);
      }
    }
  }

  /** Answers every request in flight with an error and forgets every server (the bridge ends them). */
  clear(): void {
    this.#closing.abort();
    this.#entries.clear();
  }

  #entry(principal: string): Entry | undefined {
    const { shared } = this.#options;
    if (shared !== undefined) {
      const upstream = shared();
      let entry = this.#sharedInit.get(upstream);
      if (entry === undefined) {
        entry = { upstream, lastActivity: Date.now(), active: 0, listeners: 0 };
        this.#sharedInit.set(upstream, entry);
      }
      return entry;
    }
    let entry = this.#entries.get(principal);
    if (entry !== undefined && entry.upstream.closed) {
      this.#entries.delete(principal);
      this.#options.end(entry.upstream);
      entry = undefined;
    }
    if (entry === undefined) {
      if (!this.#options.canStart()) return undefined;
      entry = {
        upstream: this.#options.start(),
        lastActivity: Date.now(),
        active: 0,
        listeners: 0,
      };
      this.#entries.set(principal, entry);
    }
    return entry;
  }
}

/**
 * One request on a temporary link: initialize (answered at once after the first time), then the
 * request; resolves with its answer, in the link's id space.
 */
function exchange(entry: Entry, message: Message, hooks: ExchangeHooks): Promise<Message> {
  const id = message.id as RequestId;
  const initId: RequestId = id === "mcp-run-init" ? "mcp-run-init-2" : "mcp-run-init";
  return new Promise<Message>((resolve) => {
    let link: Link | undefined;
    let done = false;
    const finish = (answer: Message) => {
      if (done) return;
      done = true;
      hooks.signal?.removeEventListener("abort", abort);
      hooks.shutdown?.removeEventListener("abort", shutdown);
      resolve(answer);
      // After the answer: nothing is in flight, and detaching cancels whatever still is.
      queueMicrotask(() => link?.detach());
    };
    const fail = (code: number, reason: string) =>
      finish(errorResponse(id, code, reason) as unknown as Message);
    const abort = () => fail(BridgeErrorCode.RequestCancelled, "Request cancelled");
    const shutdown = () => fail(BridgeErrorCode.ServerUnavailable, "The server is shutting down");
    const down: Downstream = {
      send: (sent: JSONRPCMessage, related?: RequestId) => {
        const reply = sent as unknown as Message;
        const isAnswer = reply.method === undefined;
        if (isAnswer && reply.id === initId) {
          if (reply.error !== undefined) {
            finish({ ...reply, id });
          } else {
            entry.init ??= reply.result as Record<string, unknown>;
            link!.receive(
              { jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage,
            );
            if (message.method === "server/discover") finish({ jsonrpc: "2.0", id, result: {} });
            else link!.receive(message as unknown as JSONRPCMessage);
          }
        } else if (isAnswer && reply.id === id) {
          finish(reply);
        } else if (!isAnswer && (reply.id === undefined || reply.id === null)) {
          if (related === id) hooks.notify?.(reply);
        } else if (!isAnswer) {
          // A server request: a stateless client takes none.
          link!.receive(errorResponse(
            reply.id as RequestId,
            ModernErrorCode.MethodNotFound,
            `${reply.method} is not available: the client connected without a session (protocol 2026-07-28)`,
          ));
        }
        return Promise.resolve(true);
      },
      close: () => fail(BridgeErrorCode.ServerUnavailable, "The MCP server has ended"),
      inflight: hooks.inflight,
    };
    if (hooks.signal?.aborted) return abort();
    if (hooks.shutdown?.aborted) return shutdown();
    hooks.signal?.addEventListener("abort", abort);
    hooks.shutdown?.addEventListener("abort", shutdown);
    try {
      link = entry.upstream.attach(down);
    } catch (error) {
      return fail(BridgeErrorCode.ServerUnavailable, (error as Error).message);
    }
    link.receive(initializeRequest(initId));
  });
}
