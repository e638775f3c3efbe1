/**
 * Per-client request rate (token bucket) and concurrency limits for the HTTP bridge, in memory
 * bounded by the number of clients tracked.
 *
 * @module
 */

/** Options for {@linkcode ClientLimits}. */
export interface ClientLimitsOptions {
  /** Requests a client may start per second, sustained. `Infinity` disables the rate limit. */
  ratePerSecond: number;
  /** Requests a client may start at once after being quiet. */
  burst: number;
  /** HTTP requests (open streams included) a client may have open at once. */
  maxConcurrent: number;
  /** Most clients tracked; beyond it, unknown clients are refused. Default 10 000. */
  maxClients?: number;
}

interface ClientState {
  tokens: number;
  updated: number;
  open: number;
}

/** Rate and concurrency accounting, keyed by client (its IP address). */
export class ClientLimits {
  readonly #options: Required<ClientLimitsOptions>;
  readonly #clients = new Map<string, ClientState>();

  /**
   * @param options The limits.
   * @throws {RangeError} If a limit is not positive.
   * @example
   * ```ts
   * const limits = new ClientLimits({ ratePerSecond: 10, burst: 20, maxConcurrent: 4 });
   * limits.take("127.0.0.1", 0); // true
   * ```
   */
  constructor(options: ClientLimitsOptions) {
    for (const key of ["ratePerSecond", "burst", "maxConcurrent"] as const) {
      if (!(options[key] > 0)) {
        throw new RangeError(
          `Cannot limit clients: "${key}" must be positive, got ${options[key]}`,
        );
      }
    }
    this.#options = { maxClients: 10_000, ...options };
  }

  /** Number of clients tracked. */
  get size(): number {
    return this.#clients.size;
  }

  #state(client: string, now: number): ClientState | undefined {
    let state = this.#clients.get(client);
    if (state === undefined) {
      if (this.#clients.size >= this.#options.maxClients) this.sweep(now);
      if (this.#clients.size >= this.#options.maxClients) return undefined;
      state = { tokens: this.#options.burst, updated: now, open: 0 };
      this.#clients.set(client, state);
    }
    return state;
  }

  /**
   * Takes one request from the client's budget.
   *
   * @param client The client key.
   * @param now The time in milliseconds.
   * @returns Whether the request may go ahead.
   */
  take(client: string, now: number): boolean {
    if (this.#options.ratePerSecond === Infinity) return true;
    const state = this.#state(client, now);
    if (state === undefined) return false;
    const { ratePerSecond, burst } = this.#options;
    state.tokens = Math.min(burst, state.tokens + (now - state.updated) * ratePerSecond / 1000);
    state.updated = now;
    if (state.tokens < 1) return false;
    state.tokens -= 1;
    return true;
  }

  /**
   * Opens one concurrent request for the client.
   *
   * @param client The client key.
   * @param now The time in milliseconds.
   * @returns Whether it may open; if so, call {@linkcode ClientLimits.release} when it ends.
   */
  acquire(client: string, now: number): boolean {
    const state = this.#state(client, now);
    if (state === undefined || state.open >= this.#options.maxConcurrent) return false;
    state.open++;
    return true;
  }

  /**
   * Counts one more concurrent request for the client without checking the limit (work that
   * was admitted already, such as the requests of a POST that passed {@linkcode acquire}).
   *
   * @param client The client key.
   * @param now The time in milliseconds.
   */
  hold(client: string, now: number): void {
    const state = this.#state(client, now);
    if (state !== undefined) state.open++;
  }

  /**
   * Closes one concurrent request for the client.
   *
   * @param client The client key.
   */
  release(client: string): void {
    const state = this.#clients.get(client);
    if (state !== undefined && state.open > 0) state.open--;
  }

  /**
   * Forgets clients with nothing open and a full budget: they are indistinguishable from new.
   *
   * @param now The time in milliseconds.
   */
  sweep(now: number): void {
    const { ratePerSecond, burst } = this.#options;
    for (const [client, state] of this.#clients) {
      if (ratePerSecond === Infinity && state.open === 0) {
        this.#clients.delete(client);
        continue;
      }
      const tokens = state.tokens + (now - state.updated) * ratePerSecond / 1000;
      if (state.open === 0 && tokens >= burst) this.#clients.delete(client);
    }
  }
}
