/**
 * The distinct denials of one run: each permission check compared with the server's grants,
 * refused ones explained once, counted, bounded.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import { type Denial, explainDenial } from "./denial.ts";
import type { DenialContext } from "./denial_places.ts";
import { isGranted, type PermissionCheck } from "./permission_check.ts";

/** Options for {@linkcode DenialLog}. */
export interface DenialLogOptions {
  /** How to word denials (see {@linkcode explainDenial}). */
  context?: DenialContext;
  /** Most distinct denials kept (default 1000); later new ones are only counted as dropped. */
  maxDenials?: number;
  /** Called once for each new distinct denial, as it happens. */
  onDenial?: (denial: Denial) => void;
}

/**
 * The distinct denials of one run, in the order they first happened: each check is compared
 * with the server's grants, refused ones are explained and kept once per `asked` (a `net` check
 * Deno records as a URL and as `host:port` is one denial), with a count. Bounded.
 *
 * @example
 * ```ts
 * import { DenialLog } from "./denial_log.ts";
 * const server = {
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: ["A"], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * };
 * const log = new DenialLog(server);
 * log.check({ permission: "env", value: "A" }); // granted: nothing
 * log.check({ permission: "net", value: "https://x.example/" });
 * log.check({ permission: "net", value: "x.example:443" });
 * console.log(log.denials.map((d) => d.asked)); // ["net x.example:443"]
 * ```
 */
export class DenialLog {
  #server: ResolvedServer;
  #options: DenialLogOptions;
  #byAsked = new Map<string, Denial>();
  #lastUrl?: string;
  #dropped = 0;

  /**
   * A log for one run of a server.
   *
   * @param server The resolved server whose grants decide.
   * @param options Wording, bound, and the callback for new denials.
   */
  constructor(server: ResolvedServer, options: DenialLogOptions = {}) {
    this.#server = server;
    this.#options = options;
  }

  /**
   * Records one check Deno made; a refused one becomes (or counts towards) a denial.
   *
   * @param check The check.
   * @returns The denial when this check was the first of its kind, else `undefined`.
   */
  check(check: PermissionCheck): Denial | undefined {
    const context = this.#options.context;
    const options = { cwd: context?.cwd, deniedWrites: context?.protectedWrites };
    if (isGranted(this.#server, check, options)) return undefined;
    const denial = explainDenial(this.#server, check, this.#options.context);
    const url = check.permission === "net" && (check.value ?? "").includes("://");
    // Deno records a refused fetch twice (its URL, then host:port): count the pair once.
    const pair = !url && this.#lastUrl === denial.asked;
    this.#lastUrl = url ? denial.asked : undefined;
    return this.add(denial, pair ? 0 : 1);
  }

  /**
   * Records a denial made elsewhere (the egress proxy's refusals).
   *
   * @param denial The denial.
   * @param times How many refusals it stands for (default its count).
   * @returns The denial when it is new, else `undefined`.
   */
  add(denial: Denial, times: number = denial.count): Denial | undefined {
    const known = this.#byAsked.get(denial.asked);
    if (known) {
      known.count += times;
      return undefined;
    }
    if (this.#byAsked.size >= (this.#options.maxDenials ?? 1000)) {
      this.#dropped++;
      return undefined;
    }
    const kept = { ...denial, count: Math.max(1, times) };
    this.#byAsked.set(kept.asked, kept);
    try {
      this.#options.onDenial?.({ ...kept });
    } catch { /* a failing sink does not stop the log */ }
    return { ...kept };
  }

  /** The distinct denials so far, in order (copies). */
  get denials(): Denial[] {
    return [...this.#byAsked.values()].map((d) => ({ ...d }));
  }

  /** How many new distinct denials were dropped because the log was full. */
  get dropped(): number {
    return this.#dropped;
  }
}
