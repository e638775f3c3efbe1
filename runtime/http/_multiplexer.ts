/**
 * One MCP server process shared out to client sessions ("links"): it relays JSON-RPC between
 * the sessions and the server's {@linkcode UpstreamProcess}, keeps request ids apart, answers
 * for a server that crashes or hangs, and routes server-initiated messages to the right session.
 *
 * In isolated mode a server has exactly one link and ids pass through unchanged. In shared mode
 * every client request gets a fresh id on the server side (and so do progress tokens), and the
 * answers are mapped back; a server-initiated request goes to a session only when exactly one
 * session can be the one it is about, otherwise the server gets an error: never a guess and
 * never a broadcast; only the notifications of `_fan_out.ts` go to several sessions.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import {
  BridgeErrorCode,
  errorResponse,
  isToken,
  type Message,
  type RequestId,
  settle,
} from "./_messages.ts";
import { UpstreamProcess } from "./_upstream_process.ts";
import { type Pending as PendingOf, PendingRequests } from "./_pending_requests.ts";
import type { Downstream, Link, LinkState } from "./_link.ts";
import { SharedInit } from "./_shared_init.ts";
import { routeOf, ServerRequests } from "./_server_requests.ts";
import { fanOut, isSubscribed, trackSubscription } from "./_fan_out.ts";

export { BridgeErrorCode, type RequestId } from "./_messages.ts";
export type { Downstream, Link } from "./_link.ts";

type Pending = PendingOf<LinkState>;

/** Options for {@linkcode Multiplexer}. */
export interface MultiplexerOptions {
  /** Whether several sessions share this server (ids are then remapped). */
  shared: boolean;
  /** Milliseconds a request may wait for its answer; progress notifications restart it. */
  requestTimeoutMs: number;
  /**
   * Milliseconds the first `initialize` may wait, which includes starting the process.
   * Default: the larger of 30 s and `requestTimeoutMs`.
   */
  startTimeoutMs?: number;
  /** Most messages queued while the server starts. Default 1000. */
  maxQueuedMessages?: number;
  /** Called with transport errors that do not end the server. */
  onError?: (error: Error) => void;
}

/**
 * One server process and the sessions attached to it. The process is started on the first
 * message and ended by {@linkcode Multiplexer.close}; a `Multiplexer` never restarts a server.
 */
export class Multiplexer {
  readonly #shared: boolean;
  readonly #process: UpstreamProcess;
  readonly #pending: PendingRequests<LinkState>;
  readonly #links = new Set<LinkState>();
  readonly #serverRequests = new ServerRequests();
  readonly #init = new SharedInit();
  #closing: Promise<void> | undefined;
  #dropped = 0;

  /**
   * @param connect Starts the server and returns its transport (not yet started).
   * @param options Mode and timeouts.
   */
  constructor(connect: () => Promise<Transport>, options: MultiplexerOptions) {
    this.#shared = options.shared;
    this.#process = new UpstreamProcess(connect, {
      onMessage: (message) => this.#fromChild(message),
      onExit: (reason) => this.#exited(reason),
      onWriteFailed: (message, reason) => this.#childWriteFailed(message, reason),
      onError: options.onError,
      maxQueuedMessages: options.maxQueuedMessages,
    });
    this.#pending = new PendingRequests<LinkState>({
      ...options,
      onExpired: (pending, ms) => this.#expired(pending, ms),
    });
  }

  /** Whether the server has exited or was closed. */
  get closed(): boolean {
    return this.#process.state === "closed";
  }

  /** Whether the server process was started and has not ended yet. */
  get running(): boolean {
    return this.#process.running;
  }

  /** Number of sessions attached. */
  get links(): number {
    return this.#links.size;
  }

  /** Server-initiated messages dropped because no session could be chosen. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Attaches a session.
   *
   * @param down Where messages for the session go.
   * @returns The session's handle.
   * @throws {RangeError} If the server already ended, or is isolated and taken.
   */
  attach(down: Downstream): Link {
    if (this.closed) {
      throw new RangeError("Cannot attach a session: the MCP server has ended");
    }
    if (!this.#shared && this.#links.size > 0) {
      throw new RangeError("Cannot attach a second session to an isolated MCP server");
    }
    const link: LinkState = {
      down,
      inflight: new Map(),
      serverRequests: new Set(),
      subscriptions: new Set(),
      closed: false,
    };
    this.#links.add(link);
    return {
      receive: (message) => this.#fromClient(link, message as Message),
      failPending: (message) => this.#failLink(link, BridgeErrorCode.ServerUnavailable, message),
      detach: () => this.#detach(link),
      get inflight() {
        return link.inflight.size;
      },
    };
  }

  /**
   * Ends the server: stops its process through the transport and waits for that.
   * Attached sessions are not told; detach or fail them first.
   *
   * @returns When the transport has closed.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#pending.clear();
      this.#serverRequests.clear();
      this.#closing = this.#process.close();
    }
    return this.#closing;
  }

  /** The server is gone: answer every request, end every session. */
  #exited(reason: string): void {
    for (const link of [...this.#links]) {
      this.#failLink(link, BridgeErrorCode.ServerUnavailable, reason);
      link.closed = true;
      link.down.close();
    }
    this.#links.clear();
    this.#init.failed(BridgeErrorCode.ServerUnavailable, reason);
    this.#pending.clear();
    this.#serverRequests.clear();
  }

  #toChild(message: Message): void {
    this.#process.send(message);
  }

  #childWriteFailed(message: Message, reason: string): void {
    if (message.method === undefined || message.id === undefined || message.id === null) return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#finish(pending);
    if (pending.method === "initialize" && this.#shared) {
      this.#init.failed(BridgeErrorCode.ServerUnavailable, reason);
    }
    this.#reply(
      pending,
      errorResponse(pending.clientId, BridgeErrorCode.ServerUnavailable, reason),
    );
  }

  #reply(pending: Pending, message: JSONRPCMessage): void {
    const link = pending.link;
    if (link === undefined || link.closed) return;
    settle(link.down.send(message, pending.clientId));
  }

  #finish(pending: Pending): void {
    this.#pending.delete(pending);
    if (pending.link?.inflight.get(pending.clientId) === pending) {
      pending.link.inflight.delete(pending.clientId);
      pending.link.down.inflight?.(-1);
    }
  }

  #expired(pending: Pending, ms: number): void {
    this.#finish(pending);
    this.#cancelOnChild(pending.childId, "Request timed out");
    if (pending.method === "initialize" && this.#shared) {
      this.#init.failed(BridgeErrorCode.RequestTimeout, `Request timed out after ${ms} ms`);
    }
    this.#reply(
      pending,
      errorResponse(
        pending.clientId,
        BridgeErrorCode.RequestTimeout,
        `Request timed out after ${ms} ms`,
      ),
    );
    // A session whose server never initialized is of no use.
    if (pending.method === "initialize" && !this.#shared) pending.link?.down.close();
  }

  #cancelOnChild(childId: RequestId, reason: string): void {
    const state = this.#process.state;
    if (state !== "open" && state !== "connecting") return;
    this.#toChild({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: childId, reason },
    });
  }

  // ---- client → server ----

  #fromClient(link: LinkState, message: Message): void {
    if (link.closed) return;
    if (message.method !== undefined) {
      if (message.id !== undefined && message.id !== null) this.#clientRequest(link, message);
      else this.#clientNotification(link, message);
    } else if (message.id !== undefined && message.id !== null) {
      this.#clientResponse(link, message);
    }
  }

  #clientRequest(link: LinkState, message: Message): void {
    const clientId = message.id as RequestId;
    const method = message.method!;
    const answer = (response: JSONRPCMessage) => settle(link.down.send(response, clientId));
    if (this.closed) {
      answer(
        errorResponse(clientId, BridgeErrorCode.ServerUnavailable, "The MCP server has ended"),
      );
      return;
    }
    if (link.inflight.has(clientId)) {
      answer(errorResponse(
        clientId,
        BridgeErrorCode.InvalidRequest,
        `Request id ${JSON.stringify(clientId)} is already in use by a request in flight`,
      ));
      return;
    }
    const shared = this.#shared;
    if (shared && method === "initialize") {
      if (this.#init.request(link, clientId) !== "forward") return;
    }
    if (shared && trackSubscription(link, this.#links, message)) {
      answer({ jsonrpc: "2.0", id: clientId, result: {} } as JSONRPCMessage);
      return;
    }
    const opened = this.#pending.open(link, message);
    if (opened === undefined) {
      answer(errorResponse(clientId, BridgeErrorCode.InvalidRequest, "Request id collision"));
      return;
    }
    const { pending, out } = opened;
    link.inflight.set(clientId, pending);
    link.down.inflight?.(1);
    this.#toChild(out);
  }

  #clientNotification(link: LinkState, message: Message): void {
    switch (message.method) {
      case "notifications/cancelled": {
        const requestId = message.params?.requestId;
        if (!isToken(requestId)) return;
        const pending = link.inflight.get(requestId);
        if (pending === undefined) return;
        this.#finish(pending);
        this.#toChild({ ...message, params: { ...message.params, requestId: pending.childId } });
        this.#reply(
          pending,
          errorResponse(pending.clientId, BridgeErrorCode.RequestCancelled, "Request cancelled"),
        );
        return;
      }
      case "notifications/initialized":
        if (this.#shared) {
          if (!this.#init.passInitialized()) return;
        }
        this.#toChild(message);
        return;
      case "notifications/progress": {
        // Progress on a server-initiated request (sampling, elicitation): only its session.
        const token = message.params?.progressToken;
        if (isToken(token) && this.#serverRequests.progressOwner(token) === link) {
          this.#toChild(message);
        }
        return;
      }
      default:
        this.#toChild(message);
    }
  }

  #clientResponse(link: LinkState, message: Message): void {
    const id = message.id as RequestId;
    const request = this.#serverRequests.get(id);
    if (request === undefined || request.link !== link) return;
    this.#serverRequests.end(id, request);
    this.#toChild(message);
  }

  // ---- server → client ----

  #fromChild(message: Message): void {
    if (this.closed) return;
    if (message.method !== undefined) {
      if (message.id !== undefined && message.id !== null) this.#childRequest(message);
      else this.#childNotification(message);
    } else if (message.id !== undefined && message.id !== null) {
      this.#childResponse(message);
    }
  }

  #childResponse(message: Message): void {
    const pending = this.#pending.get(message.id as RequestId);
    if (pending === undefined) return; // answered already (timeout, cancellation)
    this.#finish(pending);
    const link = pending.link;
    const out = { ...message, id: pending.clientId } as JSONRPCMessage;
    if (pending.method === "initialize") {
      if (this.#shared) {
        if (message.result !== undefined) {
          this.#init.succeeded(message.result);
        } else {
          const error = message.error ?? { code: BridgeErrorCode.InternalError, message: "Error" };
          this.#init.failed(error.code, error.message);
        }
      }
      if (link === undefined || link.closed) return;
      settle(link.down.send(out, pending.clientId));
      if (message.error !== undefined && !this.#shared) link.down.close();
      return;
    }
    this.#reply(pending, out);
  }

  #childRequest(message: Message): void {
    const id = message.id as RequestId;
    const route = routeOf(this.#links);
    if (route === undefined || this.#serverRequests.get(id) !== undefined) {
      if (message.method === "ping") {
        this.#toChild({ jsonrpc: "2.0", id, result: {} });
        return;
      }
      this.#toChild(errorResponse(
        id,
        BridgeErrorCode.InternalError,
        route === undefined
          ? `Cannot route "${message.method}": no single client session it belongs to`
          : `Request id ${JSON.stringify(id)} is already in use`,
      ) as Message);
      return;
    }
    const token = message.params?._meta?.progressToken;
    const request = this.#serverRequests.open(id, route, isToken(token) ? token : undefined);
    route.link.down.send(message as JSONRPCMessage, route.related).then((delivered) => {
      if (delivered || this.#serverRequests.get(id) !== request) return;
      this.#serverRequests.end(id, request);
      this.#toChild(errorResponse(
        id,
        BridgeErrorCode.InternalError,
        "The client session cannot be reached",
      ) as Message);
    }, () => {});
  }

  #childNotification(message: Message): void {
    const method = message.method!;
    const params = message.params;
    if (method === "notifications/progress") {
      const token = params?.progressToken;
      const pending = isToken(token) ? this.#pending.byProgressToken(token) : undefined;
      if (pending === undefined || pending.link === undefined) return;
      this.#pending.arm(pending);
      const out = this.#shared
        ? { ...message, params: { ...params, progressToken: pending.clientToken } }
        : message;
      settle(pending.link.down.send(out as JSONRPCMessage, pending.clientId));
      return;
    }
    if (method === "notifications/cancelled") {
      const requestId = params?.requestId;
      const request = isToken(requestId) ? this.#serverRequests.get(requestId) : undefined;
      if (request === undefined) return;
      this.#serverRequests.end(requestId as RequestId, request);
      settle(request.link.down.send(message as JSONRPCMessage, request.related));
      return;
    }
    if (this.#shared && fanOut(this.#links, message)) return;
    const route = routeOf(this.#links);
    if (route === undefined) {
      this.#dropped++;
      return;
    }
    settle(route.link.down.send(message as JSONRPCMessage, route.related));
  }

  // ---- sessions leaving ----

  #failLink(link: LinkState, code: number, reason: string): void {
    for (const pending of [...link.inflight.values()]) {
      this.#finish(pending);
      this.#cancelOnChild(pending.childId, reason);
      settle(link.down.send(errorResponse(pending.clientId, code, reason), pending.clientId));
    }
  }

  #detach(link: LinkState): void {
    if (link.closed) return;
    link.closed = true;
    this.#links.delete(link);
    for (const pending of [...link.inflight.values()]) {
      if (pending.method === "initialize" && this.#shared) {
        // Other sessions may be waiting for this answer: keep it, without a session.
        link.inflight.delete(pending.clientId);
        link.down.inflight?.(-1);
        pending.link = undefined;
        continue;
      }
      this.#finish(pending);
      this.#cancelOnChild(pending.childId, "The client session closed");
    }
    for (const id of [...link.serverRequests]) {
      const request = this.#serverRequests.get(id);
      if (request !== undefined) this.#serverRequests.end(id, request);
      if (this.#process.state === "open") {
        this.#toChild(errorResponse(
          id,
          BridgeErrorCode.InternalError,
          "The client session closed",
        ) as Message);
      }
    }
    if (!this.#shared || this.#process.state !== "open") return;
    for (const uri of link.subscriptions) {
      if (isSubscribed(this.#links, uri)) continue;
      const childId = this.#pending.openOwn("");
      this.#toChild({
        jsonrpc: "2.0",
        id: childId,
        method: "resources/unsubscribe",
        params: { uri },
      });
    }
  }
}
