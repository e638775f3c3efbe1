/**
 * One MCP server process and the client sessions ("links") attached to it: what both session
 * modes share. It relays JSON-RPC between the sessions and the server's
 * {@linkcode UpstreamProcess}, answers for a server that crashes or hangs, and routes
 * server-initiated messages to the right session: a server request goes to a session only when
 * exactly one session can be the one it is about, otherwise the server gets an error: never a
 * guess and never a broadcast.
 *
 * The modes differ only where a subclass says so: {@linkcode PassThrough} (`_pass_through.ts`)
 * serves one session with ids unchanged; {@linkcode Multiplexer} (`_multiplexer.ts`) shares the
 * server, remapping ids and initializing it once.
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
import { routeOf, ServerRequests } from "./_server_requests.ts";

export { BridgeErrorCode, type RequestId } from "./_messages.ts";
export type { Downstream, Link, LinkState } from "./_link.ts";

/** A client request waiting for the server. */
export type Pending = PendingOf<LinkState>;

/** Options for an {@linkcode Upstream}. */
export interface UpstreamOptions {
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
 * message and ended by {@linkcode Upstream.close}; an `Upstream` never restarts a server.
 */
export abstract class Upstream {
  readonly #process: UpstreamProcess;
  readonly #pending: PendingRequests<LinkState>;
  readonly #links = new Set<LinkState>();
  readonly #serverRequests = new ServerRequests();
  readonly #toServer = (message: Message): void => this.toServer(message);
  #closing: Promise<void> | undefined;
  #dropped = 0;

  /**
   * @param connect Starts the server and returns its transport (not yet started).
   * @param options Timeouts and the error sink.
   * @param remapIds Whether requests get fresh ids (and progress tokens) on the server side.
   */
  protected constructor(
    connect: () => Promise<Transport>,
    options: UpstreamOptions,
    remapIds: boolean,
  ) {
    this.#process = new UpstreamProcess(connect, {
      onMessage: (message) => this.#fromChild(message),
      onExit: (reason) => this.#exited(reason),
      onWriteFailed: (message, reason) => this.#childWriteFailed(message, reason),
      onError: options.onError,
      maxQueuedMessages: options.maxQueuedMessages,
    });
    this.#pending = new PendingRequests<LinkState>({
      ...options,
      shared: remapIds,
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

  /** The server's `initialize` result, when this upstream keeps it (a shared server does). */
  get initializeResult(): Record<string, unknown> | undefined {
    return undefined;
  }

  /**
   * Attaches a session.
   *
   * @param down Where messages for the session go.
   * @returns The session's handle.
   * @throws {RangeError} If the server already ended, or takes no more sessions.
   */
  attach(down: Downstream): Link {
    if (this.closed) {
      throw new RangeError("Cannot attach a session: the MCP server has ended");
    }
    this.checkAttach(this.#links.size);
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

  // ---- what the modes decide ----

  /** Throws a RangeError when the mode takes no session beside the `attached` ones. */
  protected abstract checkAttach(attached: number): void;
  /** Takes a client request (id free on its session) first: true when the mode handled it. */
  protected abstract intercept(link: LinkState, message: Message): boolean;
  /** Whether a session's `notifications/initialized` goes to the server. */
  protected abstract passInitialized(): boolean;
  /** Sends a server notification meant for several sessions: true when it was one. */
  protected abstract fanOut(message: Message): boolean;
  /** The server answered `initialize` with `result`. */
  protected abstract initializeSucceeded(result: unknown): void;
  /** `initialize` was refused, timed out or not delivered; called before its session hears. */
  protected abstract initializeFailed(code: number, reason: string): void;
  /** A session was told that its `initialize` was refused or timed out. */
  protected abstract initializeRefused(link: LinkState): void;
  /** Whether a request stays in flight, without its session, when that session leaves. */
  protected abstract keepsWithoutSession(pending: Pending): boolean;
  /** A session left while the server is open; its requests are cancelled already. */
  protected abstract detached(link: LinkState): void;

  // ---- for the modes ----

  /** The sessions attached. */
  protected get sessions(): ReadonlySet<LinkState> {
    return this.#links;
  }

  /** Sends a message, in the server's id space, to the server. */
  protected toServer(message: Message): void {
    this.#process.send(message);
  }

  /** Opens a request of the bridge's own and returns its server-side id. */
  protected ownRequest(method: string): RequestId {
    return this.#pending.openOwn(method);
  }

  // ---- the server ending or failing ----

  /** The server is gone: answer every request, end every session. */
  #exited(reason: string): void {
    for (const link of [...this.#links]) {
      this.#failLink(link, BridgeErrorCode.ServerUnavailable, reason);
      link.closed = true;
      link.down.close();
    }
    this.#links.clear();
    this.initializeFailed(BridgeErrorCode.ServerUnavailable, reason);
    this.#pending.clear();
    this.#serverRequests.clear();
  }

  #childWriteFailed(message: Message, reason: string): void {
    if (message.method === undefined || message.id === undefined || message.id === null) return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#finish(pending);
    if (pending.method === "initialize") {
      this.initializeFailed(BridgeErrorCode.ServerUnavailable, reason);
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
    const reason = `Request timed out after ${ms} ms`;
    const initialize = pending.method === "initialize";
    if (initialize) this.initializeFailed(BridgeErrorCode.RequestTimeout, reason);
    this.#reply(pending, errorResponse(pending.clientId, BridgeErrorCode.RequestTimeout, reason));
    if (initialize && pending.link !== undefined) this.initializeRefused(pending.link);
  }

  #cancelOnChild(childId: RequestId, reason: string): void {
    const state = this.#process.state;
    if (state !== "open" && state !== "connecting") return;
    this.toServer({
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
      this.#serverRequests.answer(link, message, this.#toServer);
    }
  }

  #clientRequest(link: LinkState, message: Message): void {
    const clientId = message.id as RequestId;
    const refuse = (code: number, reason: string) =>
      settle(link.down.send(errorResponse(clientId, code, reason), clientId));
    if (this.closed) {
      refuse(BridgeErrorCode.ServerUnavailable, "The MCP server has ended");
      return;
    }
    if (link.inflight.has(clientId)) {
      refuse(
        BridgeErrorCode.InvalidRequest,
        `Request id ${JSON.stringify(clientId)} is already in use by a request in flight`,
      );
      return;
    }
    if (this.intercept(link, message)) return;
    const opened = this.#pending.open(link, message);
    if (opened === undefined) {
      refuse(BridgeErrorCode.InvalidRequest, "Request id collision");
      return;
    }
    const { pending, out } = opened;
    link.inflight.set(clientId, pending);
    link.down.inflight?.(1);
    this.toServer(out);
  }

  #clientNotification(link: LinkState, message: Message): void {
    switch (message.method) {
      case "notifications/cancelled": {
        const requestId = message.params?.requestId;
        if (!isToken(requestId)) return;
        const pending = link.inflight.get(requestId);
        if (pending === undefined) return;
        this.#finish(pending);
        this.toServer({ ...message, params: { ...message.params, requestId: pending.childId } });
        this.#reply(
          pending,
          errorResponse(pending.clientId, BridgeErrorCode.RequestCancelled, "Request cancelled"),
        );
        return;
      }
      case "notifications/initialized":
        if (this.passInitialized()) this.toServer(message);
        return;
      case "notifications/progress": {
        // Progress on a server-initiated request (sampling, elicitation): only its session.
        const token = message.params?.progressToken;
        if (isToken(token) && this.#serverRequests.progressOwner(token) === link) {
          this.toServer(message);
        }
        return;
      }
      default:
        this.toServer(message);
    }
  }

  // ---- server → client ----

  #fromChild(message: Message): void {
    if (this.closed) return;
    if (message.method !== undefined) {
      if (message.id !== undefined && message.id !== null) {
        this.#serverRequests.forward(message, this.#links, this.#toServer);
      } else this.#childNotification(message);
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
    if (pending.method !== "initialize") {
      this.#reply(pending, out);
      return;
    }
    if (message.result !== undefined) {
      this.initializeSucceeded(message.result);
    } else {
      const error = message.error ?? { code: BridgeErrorCode.InternalError, message: "Error" };
      this.initializeFailed(error.code, error.message);
    }
    if (link === undefined || link.closed) return;
    settle(link.down.send(out, pending.clientId));
    if (message.error !== undefined) this.initializeRefused(link);
  }

  #childNotification(message: Message): void {
    const method = message.method!;
    const params = message.params;
    if (method === "notifications/progress") {
      const token = params?.progressToken;
      const pending = isToken(token) ? this.#pending.byProgressToken(token) : undefined;
      if (pending === undefined || pending.link === undefined) return;
      this.#pending.arm(pending);
      // The token the client chose, where the server saw another.
      const out = pending.childToken === pending.clientToken
        ? message
        : { ...message, params: { ...params, progressToken: pending.clientToken } };
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
    if (this.fanOut(message)) return;
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
      if (this.keepsWithoutSession(pending)) {
        link.inflight.delete(pending.clientId);
        link.down.inflight?.(-1);
        pending.link = undefined;
        continue;
      }
      this.#finish(pending);
      this.#cancelOnChild(pending.childId, "The client session closed");
    }
    const open = this.#process.state === "open";
    this.#serverRequests.drop(link, open ? this.#toServer : undefined);
    if (open) this.detached(link);
  }
}
