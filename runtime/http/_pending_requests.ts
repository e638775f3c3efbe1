/**
 * Client requests waiting for a server's answer: the id each has on the server side (a fresh
 * one when sessions share the server), its progress token there, and its deadline. One coarse
 * timer serves every request rather than one timer each.
 *
 * @module
 */
import { isToken, type Message, type RequestId } from "./_messages.ts";

/** A client request waiting for the server. */
export interface Pending<L> {
  /** The session it came from; undefined for the bridge's own requests or once it left. */
  link: L | undefined;
  /** Its id as the client sent it. */
  clientId: RequestId;
  /** Its id on the server side. */
  childId: RequestId;
  /** Its method. */
  method: string;
  /** The client's progress token. */
  clientToken?: string | number;
  /** The progress token the server sees. */
  childToken?: string | number;
  /** When it times out (ms since the epoch). */
  deadline: number;
}

/** Options for {@linkcode PendingRequests}. */
export interface PendingRequestsOptions<L> {
  /** Whether ids and progress tokens are remapped (several sessions share the server). */
  shared: boolean;
  /** Milliseconds a request may wait; progress restarts the wait. */
  requestTimeoutMs: number;
  /** Milliseconds `initialize` may wait. Default: the larger of 30 s and `requestTimeoutMs`. */
  startTimeoutMs?: number;
  /** Called for each request past its deadline; it is still in the table. */
  onExpired: (pending: Pending<L>, timeoutMs: number) => void;
}

/** The requests in flight on one server, by server-side id and by server-side progress token. */
export class PendingRequests<L> {
  readonly #options: PendingRequestsOptions<L>;
  readonly #byId = new Map<RequestId, Pending<L>>();
  readonly #byToken = new Map<string | number, Pending<L>>();
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  /** @param options Mode, timeouts and what to do on expiry. */
  constructor(options: PendingRequestsOptions<L>) {
    this.#options = options;
  }

  /** Number of requests in flight. */
  get size(): number {
    return this.#byId.size;
  }

  /**
   * Opens a request from a client: gives it its server-side id and progress token, and arms
   * its deadline.
   *
   * @param link The session.
   * @param message The request as the client sent it.
   * @returns The entry and the message for the server, or undefined when the id is taken.
   */
  open(link: L, message: Message): { pending: Pending<L>; out: Message } | undefined {
    const shared = this.#options.shared;
    const clientId = message.id as RequestId;
    const childId = shared ? this.#nextId++ : clientId;
    if (this.#byId.has(childId)) return undefined;
    const pending: Pending<L> = { link, clientId, childId, method: message.method!, deadline: 0 };
    const clientToken = message.params?._meta?.progressToken;
    if (isToken(clientToken)) {
      pending.clientToken = clientToken;
      pending.childToken = shared ? childId : clientToken;
      if (this.#byToken.has(pending.childToken)) pending.childToken = undefined;
      else this.#byToken.set(pending.childToken, pending);
    }
    let out = message;
    if (shared) {
      const params = message.params;
      out = { ...message, id: childId };
      if (params !== undefined && pending.childToken !== undefined) {
        out.params = { ...params, _meta: { ...params._meta, progressToken: pending.childToken } };
      }
    }
    this.#byId.set(childId, pending);
    this.arm(pending);
    return { pending, out };
  }

  /**
   * Opens a request of the bridge's own (no session waits for it).
   *
   * @param method The method.
   * @returns Its server-side id.
   */
  openOwn(method: string): RequestId {
    const childId = this.#nextId++;
    const pending: Pending<L> = {
      link: undefined,
      clientId: childId,
      childId,
      method,
      deadline: 0,
    };
    this.#byId.set(childId, pending);
    this.arm(pending);
    return childId;
  }

  /**
   * @param childId A server-side id.
   * @returns The request with that id.
   */
  get(childId: RequestId): Pending<L> | undefined {
    return this.#byId.get(childId);
  }

  /**
   * @param token A server-side progress token.
   * @returns The request it belongs to.
   */
  byProgressToken(token: string | number): Pending<L> | undefined {
    return this.#byToken.get(token);
  }

  /**
   * Forgets a request (answered, cancelled, expired).
   *
   * @param pending The request.
   */
  delete(pending: Pending<L>): void {
    this.#byId.delete(pending.childId);
    if (pending.childToken !== undefined) this.#byToken.delete(pending.childToken);
  }

  /**
   * Restarts a request's deadline (on progress).
   *
   * @param pending The request.
   */
  arm(pending: Pending<L>): void {
    pending.deadline = Date.now() + this.timeoutOf(pending);
    if (this.#sweeper !== undefined) return;
    const tick = Math.max(10, Math.min(1000, this.#options.requestTimeoutMs / 4));
    const sweeper = setInterval(() => this.#expire(), tick);
    Deno.unrefTimer(sweeper);
    this.#sweeper = sweeper;
  }

  /**
   * @param pending The request.
   * @returns How long it may wait, in ms.
   */
  timeoutOf(pending: Pending<L>): number {
    const { requestTimeoutMs, startTimeoutMs } = this.#options;
    if (pending.method !== "initialize") return requestTimeoutMs;
    return startTimeoutMs ?? Math.max(30_000, requestTimeoutMs);
  }

  /** Forgets every request and stops the timer. */
  clear(): void {
    this.#stop();
    this.#byId.clear();
    this.#byToken.clear();
  }

  #stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  #expire(): void {
    if (this.#byId.size === 0) {
      this.#stop();
      return;
    }
    const now = Date.now();
    for (const pending of [...this.#byId.values()]) {
      if (pending.deadline > now) continue;
      this.#options.onExpired(pending, this.timeoutOf(pending));
    }
  }
}
