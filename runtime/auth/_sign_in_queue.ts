// The queue passphrase checks wait in: few at once (each hash is slow on purpose), one per
// address, served in arrival order, and spaced out when the global failure budget is spent.

/** Options for {@link SignInQueue}. */
export interface SignInQueueOptions {
  /** Checks run at once (default 4). */
  slots?: number;
  /** Checks waiting for a slot; more are turned away (default 32). */
  maxWaiting?: number;
  /** The pause to keep between two check starts, in ms, asked before each start (default 0). */
  pace?: () => number;
}

/**
 * A fair queue of sign-in checks. Each address key holds at most one place (running or
 * waiting), so parallel guesses from one address cannot all pass the lockout before the first
 * failure is counted; places are served first come, first served, so an address that keeps
 * guessing goes to the back after each check and a few busy addresses cannot keep every slot
 * forever: the owner's check runs after at most one check of each address waiting before it.
 */
export class SignInQueue {
  #slots: number;
  #maxWaiting: number;
  #pace: () => number;
  #held = new Set<string>();
  #waiting: (() => void)[] = [];
  #running = 0;
  #lastStart = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Create an empty queue.
   *
   * @param options Slots, waiting bound and pace.
   * @throws {RangeError} If `slots` or `maxWaiting` is below 1.
   */
  constructor(options: SignInQueueOptions = {}) {
    this.#slots = options.slots ?? 4;
    this.#maxWaiting = options.maxWaiting ?? 32;
    this.#pace = options.pace ?? (() => 0);
    if (!(this.#slots >= 1) || !(this.#maxWaiting >= 1)) {
      throw new RangeError("Cannot use fewer than 1 slot or waiting place: give at least 1");
    }
  }

  /**
   * Run `check` for `key` once its turn comes.
   *
   * @param key The address key ({@linkcode clientKey}).
   * @param check The passphrase check.
   * @returns The check's result, or undefined if the key already holds a place or the queue is
   *   full (answer 429 and let the client retry).
   */
  async run<T>(key: string, check: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.#held.has(key) || this.#waiting.length >= this.#maxWaiting) return undefined;
    this.#held.add(key);
    try {
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        this.#pump();
      });
      try {
        return { value: await check() };
      } finally {
        this.#running--;
        this.#pump();
      }
    } finally {
      this.#held.delete(key);
    }
  }

  /** Start waiting checks while slots are free and the pace allows. */
  #pump(): void {
    if (this.#timer !== undefined) return;
    while (this.#running < this.#slots && this.#waiting.length > 0) {
      const wait = this.#lastStart + this.#pace() - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#lastStart = Date.now();
      this.#running++;
      this.#waiting.shift()!();
    }
  }
}
