/**
 * Server processes started ahead of demand, so that an isolated session starts without waiting
 * for one to boot. Each process is handed to exactly one session and never taken back; taking
 * one starts its replacement. A process that dies while it waits is replaced after a delay that
 * doubles with each death in a row, so a server that cannot start does not spin. The pool never
 * holds more processes than its limit allows beside those the sessions hold.
 *
 * @module
 */

/** A started process, as the pool keeps it. */
export interface WarmProcess<T> {
  /** What a session gets (the process's transport, not yet started). */
  readonly value: T;
  /** Settles once the process has ended, whoever ended it. */
  readonly exited: Promise<unknown>;
  /**
   * Waits until the process has started up (see {@linkcode whenIdle}); until then a process
   * started ahead counts toward the pool's `maxBooting`. Default: started up at once.
   */
  booted?(): Promise<unknown>;
  /** Ends the process; the pool calls it for a process no session took. */
  stop(): Promise<void>;
}

/** Options for {@linkcode WarmPool}. */
export interface WarmPoolOptions<T> {
  /** Processes kept started ahead of demand (0: every session starts its own). */
  size: number;
  /**
   * Most processes alive at once, those handed out included (a bridge's session limit): the
   * pool keeps fewer ahead as sessions fill it, so `size` never adds to it. A session is
   * always given a process. Default: no limit.
   */
  limit?: number;
  /** Starts one process. */
  start: () => Promise<WarmProcess<T>>;
  /**
   * Most processes started ahead that are still booting: the rest wait their turn, so that
   * replacing many taken processes at once does not starve the sessions of CPU. Processes
   * started for a session that found none waiting never wait. Default 2.
   */
  maxBooting?: number;
  /** Delay before replacing a process that died waiting, in ms; doubles per death. Default 100. */
  backoffMs?: number;
  /** Longest replacement delay, in ms. Default 30 s. */
  maxBackoffMs?: number;
  /** Told when a waiting process dies or one cannot be started ahead. */
  onError?: (error: Error) => void;
}

/**
 * Checks a number of processes to keep ahead against the most processes alive at once.
 *
 * @param size Processes to keep ahead.
 * @param limit Most processes alive at once (a bridge's session limit).
 * @throws {RangeError} When the size is not a whole number ≥ 0, or exceeds the limit.
 * @example
 * ```ts
 * import { checkWarmSize } from "./_warm_pool.ts";
 * checkWarmSize(8, 64); // fine: 8 ahead, at most 64 sessions
 * // checkWarmSize(65, 64) throws a RangeError
 * ```
 */
export function checkWarmSize(size: number, limit: number): void {
  if (!Number.isInteger(size) || size < 0) {
    throw new RangeError(
      `Cannot keep ${size} server processes started ahead: give a whole number, 0 or more`,
    );
  }
  if (size > limit) {
    throw new RangeError(
      `Cannot keep ${size} server processes started ahead with at most ${limit} sessions: ` +
        "lower the number, or raise the session limit",
    );
  }
}

/** Options for {@linkcode whenIdle}. */
export interface WhenIdleOptions {
  /** How often to look, in ms. Default 50. */
  pollMs?: number;
  /** Longest wait, in ms. Default 10 s. */
  maxMs?: number;
}

/**
 * Waits until a process has started up: it sleeps and used no CPU time since the last look.
 * Reads Linux's `/proc/<pid>/stat`; elsewhere (or once the process has ended) it resolves at
 * once.
 *
 * Requires `--allow-read=/proc`.
 *
 * @param pid The process.
 * @param options How often to look and how long at most.
 * @returns When the process is idle, or the wait ran out.
 * @example
 * ```ts ignore
 * import { whenIdle } from "./_warm_pool.ts";
 * await whenIdle(child.pid); // booted: waiting for its first message
 * ```
 */
export async function whenIdle(pid: number, options: WhenIdleOptions = {}): Promise<void> {
  const { pollMs = 50, maxMs = 10_000 } = options;
  const deadline = Date.now() + maxMs;
  let last = -1;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch {
      return;
    }
    // After the name: state, then user and system time at the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (fields[0] === "Z") return;
    if (fields[0] === "S" && ticks === last) return;
    last = ticks;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Where one process of the pool is in its life. */
type State = "warm" | "taken" | "stopping" | "ended";

interface Entry<T> {
  process: WarmProcess<T>;
  state: State;
  startedAt: number;
}

/** Processes started ahead of demand, one per session. */
export class WarmPool<T> {
  readonly #options: Required<Omit<WarmPoolOptions<T>, "onError">> & {
    onError?: (error: Error) => void;
  };
  readonly #warm: Entry<T>[] = [];
  readonly #stopping = new Set<Promise<void>>();
  readonly #starting = new Set<Promise<void>>();
  #taken = 0;
  #booting = 0;
  #deaths = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * A pool; call {@linkcode WarmPool.fill} to start its processes.
   *
   * @param options The size, the limit and how a process starts.
   * @throws {RangeError} When the size is not a whole number ≥ 0, or exceeds the limit.
   */
  constructor(options: WarmPoolOptions<T>) {
    const limit = options.limit ?? Infinity;
    checkWarmSize(options.size, limit);
    this.#options = { backoffMs: 100, maxBackoffMs: 30_000, maxBooting: 2, ...options, limit };
  }

  /** Processes started and waiting for a session (still starting ones not counted). */
  get ready(): number {
    return this.#warm.length;
  }

  /** Processes handed to sessions and not yet ended. */
  get taken(): number {
    return this.#taken;
  }

  /** How many more processes should be started ahead now. */
  get #missing(): number {
    const { size, limit } = this.#options;
    const wanted = Math.min(size, Math.max(0, limit - this.#taken));
    return wanted - this.#warm.length - this.#starting.size;
  }

  /**
   * Starts the processes missing ahead, as many as may boot at once, unless a replacement delay
   * is pending; the others start as those finish booting.
   */
  fill(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const room = this.#options.maxBooting - this.#booting - this.#starting.size;
    for (let n = Math.min(this.#missing, room); n > 0; n--) this.#startAhead();
  }

  /**
   * A process for a new session: the longest-waiting live one, or one started now when none
   * is; its replacement is started at once.
   *
   * @returns The process's value, given to this caller only.
   * @throws {Error} When the pool is closed, or a process had to be started and could not.
   */
  async take(): Promise<T> {
    if (this.#closed) {
      throw new Error("Cannot start an MCP server: the bridge is shutting down");
    }
    const entry = this.#warm.shift();
    if (entry !== undefined) {
      entry.state = "taken";
      this.#taken++;
      this.#deaths = 0;
      this.fill();
      return entry.process.value;
    }
    this.#taken++;
    let process: WarmProcess<T>;
    try {
      process = await this.#options.start();
    } catch (error) {
      this.#taken--;
      throw error;
    }
    const started: Entry<T> = { process, state: "taken", startedAt: Date.now() };
    this.#watch(started);
    this.fill();
    return process.value;
  }

  /**
   * Ends every process no session took (those starting too, once started); later
   * {@linkcode WarmPool.take} calls are refused. Processes handed out are their sessions' to end.
   *
   * @returns When every such process has ended.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const entry of this.#warm.splice(0)) this.#stop(entry);
    // A process still starting is stopped as it arrives (see #startAhead).
    while (this.#stopping.size > 0 || this.#starting.size > 0) {
      await Promise.all([...this.#stopping, ...this.#starting]);
    }
  }

  #startAhead(): void {
    const starting: Promise<void> = this.#options.start().then(
      (process) => {
        this.#starting.delete(starting);
        const entry: Entry<T> = { process, state: "warm", startedAt: Date.now() };
        this.#watch(entry);
        if (this.#closed || this.#missing < 0) {
          this.#stop(entry);
          return;
        }
        // Ready for a session at once; the next one starts once this one has booted.
        this.#warm.push(entry);
        this.#booting++;
        const booted = () => {
          this.#booting--;
          this.fill();
        };
        Promise.race([process.booted?.(), process.exited]).then(booted, booted);
      },
      (error: Error) => {
        this.#starting.delete(starting);
        this.#options.onError?.(
          new Error(`Cannot start an MCP server process ahead: ${error?.message}`, {
            cause: error,
          }),
        );
        this.#died(0);
      },
    );
    this.#starting.add(starting);
  }

  #watch(entry: Entry<T>): void {
    const ended = () => {
      const state = entry.state;
      entry.state = "ended";
      if (state === "taken") {
        this.#taken--;
        this.fill();
      } else if (state === "warm") {
        this.#warm.splice(this.#warm.indexOf(entry), 1);
        this.#options.onError?.(
          new Error("An MCP server process started ahead exited before any session used it"),
        );
        this.#died(Date.now() - entry.startedAt);
      }
    };
    entry.process.exited.then(ended, ended);
  }

  /** A process died waiting (or could not start): replace it after a growing delay. */
  #died(livedMs: number): void {
    if (this.#closed) return;
    const { backoffMs, maxBackoffMs } = this.#options;
    // One that lived long had not failed at start: its death starts a new count.
    if (livedMs >= maxBackoffMs) this.#deaths = 0;
    this.#deaths++;
    if (this.#retry !== undefined) return;
    const delay = Math.min(backoffMs * 2 ** (this.#deaths - 1), maxBackoffMs);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.fill();
    }, delay);
  }

  #stop(entry: Entry<T>): void {
    entry.state = "stopping";
    const done: Promise<void> = entry.process.stop().catch((error: Error) =>
      this.#options.onError?.(error)
    ).finally(() => this.#stopping.delete(done));
    this.#stopping.add(done);
  }
}
