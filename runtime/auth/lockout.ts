// Failed sign-in counting with exponential lockout per client address.
import { clientKey } from "../http/_client_address.ts";

/** Options for {@link SignInLockout}. */
export interface SignInLockoutOptions {
  /** Failures allowed per address before the first lockout (default 5). */
  threshold?: number;
  /** The first lockout, in ms; each further failure doubles it (default 1 s). */
  baseMs?: number;
  /** The longest lockout, in ms (default 15 min). */
  maxMs?: number;
  /** Failures are forgotten after this long without one, in ms (default 24 h). */
  forgetMs?: number;
  /**
   * The most addresses tracked (default 10 000); the least recently failed are forgotten first,
   * but never one that is still locked out.
   */
  maxEntries?: number;
  /** Failures from all addresses together, within `globalWindowMs`, before every sign-in is paced (default 20). */
  globalThreshold?: number;
  /** The window the global failures are counted in, in ms (default 15 min). */
  globalWindowMs?: number;
  /** The first pause between sign-in checks past the global budget, doubling per failure (default 250 ms). */
  globalBaseMs?: number;
  /**
   * The longest pause between sign-in checks past the global budget (default 5 s): attackers
   * with many addresses get one guess per pause, the owner still gets a try.
   */
  globalMaxMs?: number;
  /** Distinct IPv6 /64 networks of one /48 that must fail before the /48 counts as one address (default 3). */
  ipv6GroupAfter?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

interface Entry {
  failures: number;
  lastFailure: number;
  lockedUntil: number;
  /** For an IPv6 /48: the /64 networks in it that failed (up to `ipv6GroupAfter`). */
  nets?: Set<string>;
}

/**
 * Count failed sign-ins and slow guessing down three ways, so guessing the passphrase online is
 * impractically slow even from many addresses:
 *
 * - per client address, a lockout that doubles with each failure past the threshold (IPv6
 *   addresses count by their /64, IPv4-mapped IPv6 as the IPv4 address, see
 *   {@linkcode clientKey});
 * - per IPv6 /48, once several of its /64 networks have failed, the same lockout for the /48;
 * - for everyone, once more than `globalThreshold` failures happened within the window, a pause
 *   between any two sign-in checks ({@linkcode SignInLockout.pace}) that doubles per failure up
 *   to `globalMaxMs`, so the owner is slowed but never locked out.
 *
 * Memory is bounded by `maxEntries`; an address still locked out is never forgotten to make room.
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
  #recent: number[] = [];
  #threshold: number;
  #base: number;
  #max: number;
  #forget: number;
  #maxEntries: number;
  #globalThreshold: number;
  #globalWindow: number;
  #globalBase: number;
  #globalMax: number;
  #groupAfter: number;
  #now: () => number;

  /**
   * Create a lockout with no failures recorded.
   *
   * @param options Thresholds, durations, bound and clock.
   * @throws {RangeError} If a duration is negative or not finite, or a threshold or bound is
   *   below 1.
   */
  constructor(options: SignInLockoutOptions = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#base = options.baseMs ?? 1000;
    this.#max = options.maxMs ?? 15 * 60_000;
    this.#forget = options.forgetMs ?? 24 * 60 * 60_000;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#globalThreshold = options.globalThreshold ?? 20;
    this.#globalWindow = options.globalWindowMs ?? 15 * 60_000;
    this.#globalBase = options.globalBaseMs ?? 250;
    this.#globalMax = options.globalMaxMs ?? 5000;
    this.#groupAfter = options.ipv6GroupAfter ?? 3;
    this.#now = options.now ?? Date.now;
    for (
      const [name, v] of Object.entries({
        baseMs: this.#base,
        maxMs: this.#max,
        forgetMs: this.#forget,
        globalWindowMs: this.#globalWindow,
        globalBaseMs: this.#globalBase,
        globalMaxMs: this.#globalMax,
      })
    ) {
      if (!Number.isFinite(v) || v < 0) {
        throw new RangeError(`Cannot use ${name} ${v}: give a duration of 0 ms or more`);
      }
    }
    for (
      const [name, v] of Object.entries({
        threshold: this.#threshold,
        maxEntries: this.#maxEntries,
        globalThreshold: this.#globalThreshold,
        ipv6GroupAfter: this.#groupAfter,
      })
    ) {
      if (!(v >= 1)) throw new RangeError(`Cannot use ${name} ${v}: give at least 1`);
    }
  }

  /**
   * How long this address must wait before trying again; check before verifying a passphrase.
   *
   * @param address The client's IP address.
   * @returns Milliseconds until it may try, 0 if it may try now.
   */
  retryAfter(address: string): number {
    const now = this.#now();
    let until = 0;
    for (const key of this.#keys(address)) {
      const entry = this.#entry(key);
      if (entry && (!entry.nets || entry.nets.size >= this.#groupAfter)) {
        until = Math.max(until, entry.lockedUntil);
      }
    }
    return Math.max(0, until - now);
  }

  /**
   * The pause every sign-in check must keep from the previous one, because failures from all
   * addresses together passed the global budget: 0 below it, then doubling per failure up to
   * `globalMaxMs`.
   *
   * @returns Milliseconds between two checks, 0 when not paced.
   */
  pace(): number {
    const now = this.#now();
    while (this.#recent.length > 0 && this.#recent[0] <= now - this.#globalWindow) {
      this.#recent.shift();
    }
    const over = this.#recent.length - this.#globalThreshold;
    return over <= 0
      ? 0
      : Math.min(this.#globalMax, this.#globalBase * 2 ** Math.min(over - 1, 52));
  }

  /**
   * Record a failed sign-in.
   *
   * @param address The client's IP address.
   * @returns Milliseconds the address is now locked out for (0 below the threshold).
   */
  fail(address: string): number {
    const now = this.#now();
    this.#recent.push(now);
    // Past the budget the pause is at its cap after a few dozen failures: more are not needed.
    if (this.#recent.length > this.#globalThreshold + 64) this.#recent.shift();
    const [key, group] = this.#keys(address) as [string, string | undefined];
    this.#count(key, now, true);
    if (group !== undefined) {
      const entry = this.#count(group, now, false);
      if (entry.nets!.size < this.#groupAfter) entry.nets!.add(key);
      if (entry.nets!.size >= this.#groupAfter) this.#lock(entry, now);
    }
    return this.retryAfter(address);
  }

  /**
   * Record a successful sign-in: the address's own failures are forgotten (its /48's and the
   * global count stay: the owner's success says nothing about the other addresses).
   *
   * @param address The client's IP address.
   */
  succeed(address: string): void {
    this.#entries.delete(clientKey(address));
  }

  /** The address's key, and its IPv6 /48 when it is an IPv6 /64. */
  #keys(address: string): string[] {
    const key = clientKey(address);
    const net = /^([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):[0-9a-f]+::\/64$/.exec(key);
    return net ? [key, `${net[1]}::/48`] : [key];
  }

  #count(key: string, now: number, lock: boolean): Entry {
    const entry = this.#entry(key) ??
      {
        failures: 0,
        lastFailure: now,
        lockedUntil: 0,
        nets: key.endsWith("/48") ? new Set() : undefined,
      };
    entry.failures++;
    entry.lastFailure = now;
    if (lock) this.#lock(entry, now);
    this.#entries.delete(key); // re-insert: the map stays ordered by last failure
    this.#entries.set(key, entry);
    this.#bound(key, now);
    return entry;
  }

  #lock(entry: Entry, now: number): void {
    const over = entry.failures - this.#threshold;
    const lock = over < 0 ? 0 : Math.min(this.#max, this.#base * 2 ** Math.min(over, 52));
    entry.lockedUntil = Math.max(entry.lockedUntil, now + lock);
  }

  /** Forget the least recently failed entries that are not locked out, down to the bound. */
  #bound(added: string, now: number): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) return;
      if (key !== added && entry.lockedUntil <= now) this.#entries.delete(key);
    }
    // Every other entry is locked out: the new one goes untracked (the global budget still
    // counts its failure) rather than freeing an attacker that is locked out.
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(added);
  }

  #entry(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    const now = this.#now();
    if (entry && now - entry.lastFailure >= this.#forget && entry.lockedUntil <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
