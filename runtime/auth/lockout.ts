// Failed sign-in counting with exponential lockout per client address.
import { clientKey } from "../http/_client_address.ts";

/** Options for {@link SignInLockout}. */
export interface SignInLockoutOptions {
  /** Failures allowed before the first lockout (default 5). */
  threshold?: number;
  /** The first lockout, in ms; each further failure doubles it (default 1 s). */
  baseMs?: number;
  /** The longest lockout, in ms (default 15 min). */
  maxMs?: number;
  /** Failures are forgotten after this long without one, in ms (default 24 h). */
  forgetMs?: number;
  /** The most addresses tracked; the least recently failed are forgotten first (default 10 000). */
  maxEntries?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

interface Entry {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
}

/**
 * Count failed sign-ins per client address and lock an address out for exponentially longer
 * after each failure past the threshold, so guessing the passphrase online is impractically
 * slow. IPv6 addresses are grouped by their /64 prefix (one host usually owns a whole /64), and
 * IPv4-mapped IPv6 addresses count as IPv4. Memory is bounded by `maxEntries`.
 *
 * @example
 * ```ts
 * import { SignInLockout } from "./lockout.ts";
 * const lockout = new SignInLockout({ threshold: 1 });
 * lockout.fail("203.0.113.7");
 * console.log(lockout.retryAfter("203.0.113.7") > 0); // true
 * ```
 */
export class SignInLockout {
  #entries = new Map<string, Entry>();
  #threshold: number;
  #base: number;
  #max: number;
  #forget: number;
  #maxEntries: number;
  #now: () => number;

  /**
   * Create a lockout with no failures recorded.
   *
   * @param options Threshold, durations, bound and clock.
   * @throws {RangeError} If a number is negative or not finite, or the threshold or bound is
   *   below 1.
   */
  constructor(options: SignInLockoutOptions = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#base = options.baseMs ?? 1000;
    this.#max = options.maxMs ?? 15 * 60_000;
    this.#forget = options.forgetMs ?? 24 * 60 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    for (
      const [name, v] of Object.entries({
        baseMs: this.#base,
        maxMs: this.#max,
        forgetMs: this.#forget,
      })
    ) {
      if (!Number.isFinite(v) || v < 0) {
        throw new RangeError(`Cannot use ${name} ${v}: give a duration of 0 ms or more`);
      }
    }
    if (!(this.#threshold >= 1) || !(this.#maxEntries >= 1)) {
      throw new RangeError("Cannot use a threshold or maxEntries below 1: give at least 1");
    }
  }

  /**
   * How long this address must wait before trying again; check before verifying a passphrase.
   *
   * @param address The client's IP address.
   * @returns Milliseconds until it may try, 0 if it may try now.
   */
  retryAfter(address: string): number {
    const entry = this.#entry(clientKey(address));
    return entry ? Math.max(0, entry.lockedUntil - this.#now()) : 0;
  }

  /**
   * Record a failed sign-in.
   *
   * @param address The client's IP address.
   * @returns Milliseconds the address is now locked out for (0 below the threshold).
   */
  fail(address: string): number {
    const key = clientKey(address);
    const now = this.#now();
    const entry = this.#entry(key) ?? { failures: 0, lastFailure: now, lockedUntil: 0 };
    entry.failures++;
    entry.lastFailure = now;
    const over = entry.failures - this.#threshold;
    const lock = over < 0 ? 0 : Math.min(this.#max, this.#base * 2 ** Math.min(over, 52));
    entry.lockedUntil = Math.max(entry.lockedUntil, now + lock);
    this.#entries.delete(key); // re-insert: the map stays ordered by last failure
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
    return Math.max(0, entry.lockedUntil - now);
  }

  /**
   * Record a successful sign-in: the address's failures are forgotten.
   *
   * @param address The client's IP address.
   */
  succeed(address: string): void {
    this.#entries.delete(clientKey(address));
  }

  #entry(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (
      entry && this.#now() - entry.lastFailure >= this.#forget && entry.lockedUntil <= this.#now()
    ) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
