/**
 * The shape of one check of the MCP layer: a guard stage sees every JSON-RPC message between a
 * client and a server, in each direction, and says what becomes of it. The stages a launch uses
 * are composed by {@linkcode "./guard.ts".Guard}; `run` (the stdio relay), `serve` (each server
 * process's transport) and launcher-form client entries all pass their messages through one.
 *
 * @module
 */

/** A JSON-RPC request id. */
export type RequestId = string | number;

/** Any JSON-RPC message, read field by field (a peer may send anything). */
export interface Message {
  /** "2.0" in a valid message. */
  jsonrpc?: unknown;
  /** Request or response id. */
  id?: RequestId | null;
  /** Request or notification method. */
  method?: string;
  /** Parameters (with the MCP `_meta`). */
  params?: Record<string, unknown>;
  /** A response's result. */
  result?: unknown;
  /** A response's error. */
  error?: { code: number; message: string; data?: unknown };
}

/**
 * What becomes of a message:
 * - `pass`: goes on, as given (a stage may return a changed copy, never change the original);
 * - `drop`: goes nowhere; the reason is counted and logged once per kind;
 * - `reply`: goes nowhere, and this message is sent back to its sender instead (for example a
 *   JSON-RPC error answering a refused `tools/call`).
 */
export type Verdict =
  | { readonly pass: Message }
  | { readonly drop: string }
  | { readonly reply: Message };

/** A client request and its answer, as the audit log records them. */
export interface Exchange {
  /** The client's request (as the client sent it). */
  readonly request: Message;
  /** Its answer (as the client received it). */
  readonly response: Message;
  /** When the request arrived, in epoch milliseconds. */
  readonly startedAt: number;
  /** Milliseconds from the request's arrival to its answer's departure. */
  readonly durationMs: number;
  /** The request's size as the client sent it, in bytes (of its JSON text). */
  readonly requestBytes: number;
  /** The answer's size as the client received it, in bytes. */
  readonly responseBytes: number;
  /** Who answered: "server", or the name of the stage that answered instead. */
  readonly answeredBy: string;
}

/** What a stage may do besides judging a message; given by the guard. */
export interface GuardContext {
  /** The server's name (its manifest's). */
  readonly server: string;
  /** This client connection's id (one per `run`, one per server process in `serve`). */
  readonly session: string;
  /** The client's `initialize` parameters, once seen (capabilities, clientInfo). */
  readonly clientInit: Record<string, unknown> | undefined;
  /** The server's `initialize` result, once seen (capabilities, serverInfo). */
  readonly serverInit: Record<string, unknown> | undefined;
  /**
   * Sends a request of the guard's own to the server; its answer never reaches the client.
   * Rejects with the server's JSON-RPC error, or when the server ends or does not answer in time.
   */
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Sends a message to the client (a notification, or an answer to one of its requests). */
  toClient(message: Message): void;
  /** Sends a message to the server (a notification, or an answer to one of its requests). */
  toServer(message: Message): void;
  /** Stops the server (a server that does not recover). */
  stopServer(reason: string): void;
  /** Writes a notice for the user (stderr), prefixed with mcp-run and the server's name. */
  log(line: string): void;
}

/**
 * One check of the MCP layer. Every hook is optional; a hook that does not apply returns
 * `{ pass: message }`. Hooks of one direction are called in order, one message at a time, so a
 * stage may keep state; an asynchronous hook holds back the later messages of its direction
 * only.
 */
export interface GuardStage {
  /** A short name for notices and counts (`pins`, `scan`, `filter`, …). */
  readonly name: string;
  /**
   * A message from the client on its way to the server.
   *
   * @param message The message (parsed JSON; may be anything).
   * @param context The guard's services.
   */
  fromClient?(message: Message, context: GuardContext): Verdict | Promise<Verdict>;
  /**
   * A message from the server on its way to the client.
   *
   * @param message The message.
   * @param request For a response, the client request it answers (undefined otherwise, and for
   *   answers to the guard's own requests, which stages never see).
   * @param context The guard's services.
   */
  fromServer?(
    message: Message,
    request: Message | undefined,
    context: GuardContext,
  ): Verdict | Promise<Verdict>;
  /**
   * Called when a client request has been answered, by the server or by a stage; for the audit
   * log. Must not throw or block.
   *
   * @param exchange The request, its answer, and what it cost.
   * @param context The guard's services.
   */
  answered?(exchange: Exchange, context: GuardContext): void;
  /**
   * Called once as the connection starts, while the server is still starting: read state and
   * run the stage's code once, so that the first messages are judged without that cost.
   *
   * @param context The guard's services.
   */
  prepare?(context: GuardContext): void | Promise<void>;
  /** Called once when the connection ends; flush and release here. */
  close?(): void | Promise<void>;
}
