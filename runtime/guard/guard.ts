/**
 * The guard of the MCP layer: every JSON-RPC message between a client and a server passes its
 * stages (pins, scan, filter, supervision, audit) in order, one message at a time per direction.
 * It keeps what the stages share: which client requests are open (so a response to an unknown or
 * already answered id is dropped, and an answer a stage gives is recorded), the `initialize`
 * exchange, the guard's own requests to the server, per-call timeouts, and counts of what it
 * dropped.
 *
 * @module
 */
import type { Exchange, GuardContext, GuardStage, Message, RequestId } from "./stage.ts";

/** Where the guard delivers messages; given by the relay or transport that uses it. */
export interface GuardSinks {
  /**
   * Delivers a message to the client.
   *
   * @param message The message.
   * @param raw Its original bytes, when it passed unchanged.
   */
  toClient(message: Message, raw?: Uint8Array): void | Promise<void>;
  /** Delivers a message to the server (with its original bytes, when unchanged). */
  toServer(message: Message, raw?: Uint8Array): void | Promise<void>;
  /** Stops the server. */
  stopServer(reason: string): void;
  /** Writes a notice line for the user. */
  log(line: string): void;
}

/** Options for a {@linkcode Guard}. */
export interface GuardSettings {
  /** The server's name, for notices. */
  server: string;
  /** The connection's id (default: a random UUID). */
  session?: string;
  /**
   * Milliseconds a client request may wait for its answer; progress notifications restart it,
   * up to ten times this in all.
   * When it passes, the client gets a JSON-RPC error and the server a cancellation; a server
   * that then does not answer a ping in the same time is stopped. Default: no timeout.
   */
  requestTimeoutMs?: number;
  /** Milliseconds the guard's own requests may wait. Default 30 000. */
  ownRequestTimeoutMs?: number;
}

/** JSON-RPC error codes the guard answers with. */
export const GuardErrorCode = {
  /** The request was refused by a check of the guard. */
  Refused: -32600,
  /** The server did not answer in time. */
  RequestTimeout: -32001,
  /** The server ended before answering. */
  ServerGone: -32603,
} as const;

interface Open {
  request: Message;
  startedAt: number;
  bytes: number;
  timer?: ReturnType<typeof setTimeout>;
}

interface Own {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();

/** Client requests the stages judge by their parameters (a name, a URI). */
const JUDGED_USES = new Set(["tools/call", "prompts/get", "resources/read"]);

/** The byte size of a message's JSON text. */
function sizeOf(message: Message): number {
  return encoder.encode(JSON.stringify(message)).length;
}

function isId(value: unknown): value is RequestId {
  return typeof value === "string" || typeof value === "number";
}

/** The server answered one of the guard's own requests with a JSON-RPC error. */
export class ServerAnswerError extends Error {
  /** The error's JSON-RPC code. */
  readonly code: number;
  /**
   * Creates the error.
   *
   * @param code The JSON-RPC error code.
   * @param message The server's message.
   */
  constructor(code: number, message: string) {
    super(`${message} (JSON-RPC error ${code})`);
    this.name = "ServerAnswerError";
    this.code = code;
  }
}

/** A JSON-RPC error response. */
export function errorAnswer(id: RequestId | null, code: number, message: string): Message {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

/**
 * Runs a connection's messages through the stages. Each direction's caller awaits
 * {@linkcode Guard.fromClient} / {@linkcode Guard.fromServer} one message at a time.
 *
 * @example
 * ```ts
 * import { Guard } from "./guard.ts";
 * const seen: unknown[] = [];
 * const guard = new Guard([], {
 *   toClient: (m) => void seen.push(m),
 *   toServer: () => {},
 *   stopServer: () => {},
 *   log: () => {},
 * }, { server: "demo" });
 * await guard.fromClient({ jsonrpc: "2.0", id: 1, method: "ping" });
 * await guard.fromServer({ jsonrpc: "2.0", id: 1, result: {} });
 * await guard.fromServer({ jsonrpc: "2.0", id: 1, result: {} }); // already answered: dropped
 * console.log(seen.length); // 1
 * await guard.close("done");
 * ```
 */
export class Guard {
  readonly #stages: readonly GuardStage[];
  readonly #sinks: GuardSinks;
  readonly #settings: GuardSettings;
  readonly #open = new Map<RequestId, Open>();
  readonly #own = new Map<RequestId, Own>();
  readonly #ownPrefix = `mcp-run-guard-${crypto.randomUUID().slice(0, 8)}-`;
  readonly #dropped = new Map<string, number>();
  readonly #context: GuardContext;
  #ownCount = 0;
  #clientInit: Record<string, unknown> | undefined;
  #serverInit: Record<string, unknown> | undefined;
  #initId: RequestId | undefined;
  #closed = false;
  #probing = false;

  /**
   * Creates the guard of one connection.
   *
   * @param stages The checks, in order.
   * @param sinks Where messages go.
   * @param settings Names and timeouts.
   */
  constructor(stages: readonly GuardStage[], sinks: GuardSinks, settings: GuardSettings) {
    this.#stages = stages;
    this.#sinks = sinks;
    this.#settings = settings;
    const session = settings.session ?? crypto.randomUUID();
    const initFields = {
      clientInit: { get: () => this.#clientInit, enumerable: true },
      serverInit: { get: () => this.#serverInit, enumerable: true },
    };
    this.#context = Object.defineProperties({
      server: settings.server,
      session,
      clientInit: undefined,
      serverInit: undefined,
      request: (method, params) => this.#request(method, params),
      toClient: (message) => this.#toClientQuietly(message),
      toServer: (message) => this.#toServerQuietly(message),
      stopServer: (reason) => this.#sinks.stopServer(reason),
      log: (line) => this.#sinks.log(`mcp-run: ${settings.server}: ${line}`),
    }, initFields);
    // The server takes a while to start: the stages get ready meanwhile, off the first answers'
    // path.
    setTimeout(() => {
      for (const stage of stages) {
        try {
          Promise.resolve(stage.prepare?.(this.#context)).catch(() => {});
        } catch { /* a stage that cannot prepare is prepared on first use */ }
      }
    }, 0);
  }

  /** The services stages get (also for stages' own tests). */
  get context(): GuardContext {
    return this.#context;
  }

  /** What was dropped so far, by reason. */
  get dropped(): ReadonlyMap<string, number> {
    return this.#dropped;
  }

  /** The ids of client requests still waiting for an answer. */
  get openRequests(): RequestId[] {
    return [...this.#open.keys()];
  }

  /**
   * Judges a message from the client and delivers what is left of it.
   *
   * @param message The parsed message.
   * @param raw Its bytes, delivered as they are when no stage changed it.
   */
  async fromClient(message: Message, raw?: Uint8Array): Promise<void> {
    const isRequest = typeof message.method === "string" && isId(message.id);
    if (typeof message.method === "string" && !isRequest) {
      // A call sent as a notification, or with a null id, would reach the server unjudged.
      if ("id" in message || !message.method.startsWith("notifications/")) {
        return this.#drop("requests without a valid id", "client");
      }
    }
    if (isRequest && this.#open.has(message.id as RequestId)) {
      // Its answer could not be told from the open one's, nor judged against the right request.
      const reply = errorAnswer(
        message.id as RequestId,
        GuardErrorCode.Refused,
        "A request with this id is still open; use a new id",
      );
      return await this.#sinks.toClient(reply);
    }
    if (isRequest) this.#opened(message, raw);
    if (message.method === "notifications/cancelled") this.#cancelled(message);
    let current = message;
    for (const stage of this.#stages) {
      if (!stage.fromClient) continue;
      const verdict = await stage.fromClient(current, this.#context);
      if ("pass" in verdict) {
        current = verdict.pass;
        continue;
      }
      if ("drop" in verdict) return this.#drop(verdict.drop, "client");
      if (isRequest && verdict.reply.id === message.id) {
        return await this.#answer(message.id as RequestId, verdict.reply, stage.name);
      }
      return await this.#sinks.toClient(verdict.reply);
    }
    if (isRequest && message.method === "initialize") {
      this.#clientInit = current.params ?? {};
      this.#initId = message.id as RequestId;
    }
    // A judged use goes as the guard read it: its own bytes could say otherwise to a parser that
    // reads duplicate keys differently.
    const judged = message.method !== undefined && JUDGED_USES.has(message.method);
    await this.#sinks.toServer(current, current === message && !judged ? raw : undefined);
  }

  /**
   * Judges a message from the server and delivers what is left of it.
   *
   * @param message The parsed message.
   * @param raw Its bytes, delivered as they are when no stage changed it.
   */
  async fromServer(message: Message, raw?: Uint8Array): Promise<void> {
    if (message === null || typeof message !== "object" || message.jsonrpc !== "2.0") {
      return this.#drop("messages that are not JSON-RPC 2.0");
    }
    const isResponse = message.method === undefined;
    const answers = ("result" in message ? 1 : 0) + ("error" in message ? 1 : 0);
    let request: Message | undefined;
    if (!isResponse && (answers > 0 || ("id" in message && !isId(message.id)))) {
      // A client could read it as an answer, or as a notification no check looked at.
      return this.#drop("messages that are neither a request, a notification nor a response");
    }
    if (isResponse) {
      if (!isId(message.id) || answers !== 1) {
        return this.#drop("responses without an id or with not exactly one result or error");
      }
      if (this.#own.has(message.id)) return this.#ownAnswered(message);
      request = this.#open.get(message.id)?.request;
      if (!request) return this.#drop("responses to unknown or already answered requests");
      if (message.id === this.#initId && message.result && typeof message.result === "object") {
        this.#serverInit = message.result as Record<string, unknown>;
      }
    } else if (typeof message.method !== "string") {
      return this.#drop("messages with a malformed method");
    } else if (message.method === "notifications/progress" && !this.#progressed(message)) {
      return this.#drop("progress notifications for no open request");
    }
    let current = message;
    for (const stage of this.#stages) {
      if (!stage.fromServer) continue;
      const verdict = await stage.fromServer(current, request, this.#context);
      if ("pass" in verdict) {
        current = verdict.pass;
        continue;
      }
      if ("drop" in verdict) return this.#drop(verdict.drop);
      return this.#toServerQuietly(verdict.reply);
    }
    if (isResponse) {
      const bytes = current === message ? raw : undefined;
      return await this.#answer(message.id as RequestId, current, "server", bytes);
    }
    await this.#sinks.toClient(current, current === message ? raw : undefined);
  }

  /**
   * Answers an open client request with an error: the server's answer was dropped (over the size
   * limit) or will not come.
   *
   * @param id The request's id.
   * @param message Why.
   * @param code The JSON-RPC error code.
   */
  async fail(
    id: RequestId,
    message: string,
    code: number = GuardErrorCode.ServerGone,
  ): Promise<void> {
    if (!this.#open.has(id)) return;
    await this.#answer(id, errorAnswer(id, code, message), "mcp-run");
  }

  /**
   * Ends the connection: every open client request gets an error with the reason, the guard's own
   * requests are rejected, drop counts are reported, and the stages are closed.
   *
   * @param reason Why the connection ended (in the open requests' errors).
   * @param options `failOpen: false` leaves open requests to the caller (default true).
   */
  async close(reason: string, options: { failOpen?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    if (options.failOpen !== false) {
      for (const id of [...this.#open.keys()]) await this.fail(id, reason);
    }
    this.#closed = true;
    for (const open of this.#open.values()) clearTimeout(open.timer);
    for (const own of this.#own.values()) {
      clearTimeout(own.timer);
      own.reject(new Error(reason));
    }
    this.#own.clear();
    for (const [what, count] of this.#dropped) {
      if (count > 1) this.#context.log(`dropped ${count} ${what} in all`);
    }
    for (const stage of this.#stages) {
      try {
        await stage.close?.();
      } catch (error) {
        this.#context.log(`${stage.name}: ${(error as Error).message}`);
      }
    }
  }

  #opened(message: Message, raw: Uint8Array | undefined): void {
    const id = message.id as RequestId;
    clearTimeout(this.#open.get(id)?.timer);
    const open: Open = {
      request: message,
      startedAt: Date.now(),
      bytes: raw ? raw.length + 1 : sizeOf(message),
    };
    this.#open.set(id, open);
    this.#arm(id, open);
  }

  #arm(id: RequestId, open: Open): void {
    const limit = this.#settings.requestTimeoutMs;
    if (!limit || this.#closed) return;
    clearTimeout(open.timer);
    open.timer = setTimeout(() => this.#timedOut(id, limit), limit);
  }

  async #timedOut(id: RequestId, limit: number): Promise<void> {
    if (!this.#open.has(id)) return;
    const method = this.#open.get(id)!.request.method;
    const seconds = limit / 1000;
    await this.fail(
      id,
      `Server "${this.#settings.server}" did not answer ${method} in ${seconds} s ` +
        "(--request-timeout)",
      GuardErrorCode.RequestTimeout,
    );
    this.#toServerQuietly({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: id, reason: "timed out" },
    });
    this.#probe(limit);
  }

  /** A server that timed out must answer a ping in time, or it is stopped. */
  #probe(limit: number): void {
    if (this.#probing || this.#closed) return;
    this.#probing = true;
    this.#request("ping", undefined, limit).then(
      () => this.#probing = false,
      () => {
        if (this.#closed) return;
        const reason = `did not answer a ping within ${limit / 1000} s after a timeout`;
        this.#context.log(`stopping the server: it ${reason}`);
        this.#sinks.stopServer(reason);
      },
    );
  }

  #cancelled(message: Message): void {
    const id = message.params?.requestId;
    if (!isId(id)) return;
    clearTimeout(this.#open.get(id)?.timer);
    this.#open.delete(id);
  }

  /** Restarts the clock of the request a progress notification is about; false if none is. */
  #progressed(message: Message): boolean {
    const token = message.params?.progressToken;
    if (!isId(token)) return false;
    let found = false;
    for (const [id, open] of this.#open) {
      const meta = open.request.params?._meta as Record<string, unknown> | undefined;
      if (meta?.progressToken !== token) continue;
      found = true;
      // Progress extends a call, but never past ten timeouts in all.
      const limit = this.#settings.requestTimeoutMs;
      if (limit && Date.now() - open.startedAt < 9 * limit) this.#arm(id, open);
    }
    return found;
  }

  async #answer(
    id: RequestId,
    response: Message,
    answeredBy: string,
    raw?: Uint8Array,
  ): Promise<void> {
    const open = this.#open.get(id);
    if (!open) return;
    clearTimeout(open.timer);
    this.#open.delete(id);
    await this.#sinks.toClient(response, raw);
    const exchange: Exchange = {
      request: open.request,
      response,
      startedAt: open.startedAt,
      durationMs: Date.now() - open.startedAt,
      requestBytes: open.bytes,
      responseBytes: raw ? raw.length + 1 : sizeOf(response),
      answeredBy,
    };
    for (const stage of this.#stages) {
      try {
        stage.answered?.(exchange, this.#context);
      } catch { /* the audit must never break the relay */ }
    }
  }

  #drop(reason: string, from: "client" | "server" = "server"): void {
    const what = `${reason} from the ${from}`;
    const count = (this.#dropped.get(what) ?? 0) + 1;
    this.#dropped.set(what, count);
    if (count === 1) this.#context.log(`dropped ${what} (counted)`);
  }

  #request(
    method: string,
    params?: Record<string, unknown>,
    timeoutMs = this.#settings.ownRequestTimeoutMs ?? 30_000,
  ): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error("the connection has ended"));
    const id = `${this.#ownPrefix}${++this.#ownCount}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#own.delete(id);
        reject(new Error(`the server did not answer ${method} in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#own.set(id, { resolve, reject, timer });
      const message: Message = { jsonrpc: "2.0", id, method };
      if (params) message.params = params;
      this.#toServerQuietly(message, (error) => {
        clearTimeout(timer);
        this.#own.delete(id);
        reject(error);
      });
    });
  }

  /** Sends to the server where no one awaits the send: a failure is the caller's, never thrown. */
  #toServerQuietly(message: Message, failed: (error: Error) => void = () => {}): void {
    try {
      Promise.resolve(this.#sinks.toServer(message)).catch(failed);
    } catch (error) {
      failed(error as Error);
    }
  }

  /** Sends to the client where no one awaits the send. */
  #toClientQuietly(message: Message): void {
    try {
      Promise.resolve(this.#sinks.toClient(message)).catch(() => {});
    } catch { /* the client went away */ }
  }

  #ownAnswered(message: Message): void {
    const own = this.#own.get(message.id as RequestId)!;
    this.#own.delete(message.id as RequestId);
    clearTimeout(own.timer);
    if (message.error) {
      own.reject(new ServerAnswerError(message.error.code, message.error.message));
    } else if (message.result && typeof message.result === "object") {
      own.resolve(message.result as Record<string, unknown>);
    } else own.reject(new Error("the server's answer had no result object"));
  }
}
