/**
 * Memory caps of a server: a V8 heap cap (`--max-old-space-size`) for every Deno server, and a
 * cap on the whole process (heap, ArrayBuffers, native allocations): `prlimit --data` natively,
 * `docker run --memory` in a container. One setting for both isolations: `limits.heapMb` and
 * `limits.memoryMb`, from the user config (the default of every server) and the manifest (what
 * one server asks for). Pure, except {@linkcode findPrlimit}.
 *
 * @module
 */

/** The memory caps of one server, in MiB. */
export interface ResourceLimits {
  /** The V8 heap cap (`--v8-flags=--max-old-space-size`), in MiB. */
  heapMb: number;
  /**
   * The whole process's cap, in MiB: docker's `--memory` (no swap), and natively `prlimit
   * --data` of this much plus {@linkcode V8_RESERVED_MB}.
   */
  memoryMb: number;
}

/**
 * The caps a server gets when neither the user nor its manifest says otherwise. A heap of 512 MiB
 * is several times what MCP servers use (most stay under 100 MiB) while V8's own default on a
 * 64-bit machine is 2–4 GiB, which is no cap at all. The process gets twice that, so the heap
 * cap (a clean "heap limit" error) is reached before the process cap, and there is room for
 * V8's young generation and code, the runtime itself and off-heap buffers (file and network
 * bodies).
 */
export const DEFAULT_LIMITS: Readonly<ResourceLimits> = { heapMb: 512, memoryMb: 1024 };

/** The bounds a setting must stay in: a cap below the low end breaks Deno's own start. */
export const LIMIT_BOUNDS: Readonly<Record<keyof ResourceLimits, [number, number]>> = {
  heapMb: [64, 65536],
  memoryMb: [128, 131072],
};

/**
 * Address space V8 reserves writable at start and never fills (a 512 MiB code range, thread
 * stacks): `RLIMIT_DATA` counts it, measured at about 540 MiB on Deno 2.9 for an idle server, so
 * the native data limit is the process cap plus this.
 */
export const V8_RESERVED_MB = 640;

/** The limit names, in the order messages list them. */
const KEYS = ["heapMb", "memoryMb"] as const;

/**
 * What is wrong with a `limits` value (from a manifest or the user config), if anything.
 *
 * @param value The parsed value.
 * @returns A message naming the field and what it takes, or `undefined` when it is valid.
 *
 * @example
 * ```ts
 * import { limitsProblem } from "./resource_caps.ts";
 * console.log(limitsProblem({ heapMb: 1024 })); // undefined
 * console.log(limitsProblem({ heapMb: "lots" }));
 * // limits.heapMb must be a whole number of MiB from 64 to 65536, got "lots"
 * ```
 */
export function limitsProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return `limits must be an object such as { "heapMb": 1024, "memoryMb": 2048 }`;
  }
  for (const [key, field] of Object.entries(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      return `limits.${key} is not a limit; known limits are ${KEYS.join(", ")}`;
    }
    const [low, high] = LIMIT_BOUNDS[key as keyof ResourceLimits];
    if (!Number.isSafeInteger(field) || (field as number) < low || (field as number) > high) {
      return `limits.${key} must be a whole number of MiB from ${low} to ${high}, got ${
        JSON.stringify(field)
      }`;
    }
  }
  return undefined;
}

/** Options for {@linkcode effectiveLimits}. */
export interface EffectiveLimitsOptions {
  /** The user's defaults for every server (user config `limits`). */
  user?: Partial<ResourceLimits>;
  /** What the server's manifest asks for (manifest `limits`). */
  manifest?: Partial<ResourceLimits>;
}

/**
 * The caps a server runs with. The user's setting replaces the built-in default for every
 * server; a manifest may only ask for more than that, never less: the user's value is the least
 * each server gets (it is how a user with a big machine gives all servers more), and the
 * manifest's is what one server needs to work, part of what the user approved.
 *
 * @param options The user's defaults and the manifest's ask.
 * @returns Both caps.
 *
 * @example
 * ```ts
 * import { effectiveLimits } from "./resource_caps.ts";
 * console.log(effectiveLimits({ user: { heapMb: 256 }, manifest: { heapMb: 2048 } }));
 * // { heapMb: 2048, memoryMb: 1024 }
 * ```
 */
export function effectiveLimits(options: EffectiveLimitsOptions = {}): ResourceLimits {
  const pick = (key: keyof ResourceLimits) =>
    Math.max(options.user?.[key] ?? DEFAULT_LIMITS[key], options.manifest?.[key] ?? 0);
  return { heapMb: pick("heapMb"), memoryMb: pick("memoryMb") };
}

/**
 * The Deno flag that caps the V8 heap.
 *
 * @param limits The caps.
 * @returns `--v8-flags=--max-old-space-size=<heapMb>`.
 *
 * @example
 * ```ts
 * import { heapFlag } from "./resource_caps.ts";
 * console.log(heapFlag({ heapMb: 512, memoryMb: 1024 })); // --v8-flags=--max-old-space-size=512
 * ```
 */
export function heapFlag(limits: ResourceLimits): string {
  return `--v8-flags=--max-old-space-size=${limits.heapMb}`;
}

/**
 * Wraps a command in `prlimit --data`, which caps the process's writable memory (`RLIMIT_DATA`,
 * on Linux 4.7 and later: heap, ArrayBuffers, `malloc`, `mmap`) at the process cap plus
 * {@linkcode V8_RESERVED_MB}. `RLIMIT_AS` is not used: it counts V8's large address-space
 * reservations, and Deno cannot start under a useful value of it.
 *
 * @param prlimit The `prlimit` program (util-linux).
 * @param limits The caps.
 * @param command The program and its arguments.
 * @returns The wrapped program and arguments.
 *
 * @example
 * ```ts
 * import { prlimitCommand } from "./resource_caps.ts";
 * const { program, args } = prlimitCommand("/usr/bin/prlimit", { heapMb: 512, memoryMb: 1024 }, [
 *   "deno", "run", "x.ts",
 * ]);
 * console.log(program, args.join(" ")); // /usr/bin/prlimit --data=1744830464 -- deno run x.ts
 * ```
 */
export function prlimitCommand(
  prlimit: string,
  limits: ResourceLimits,
  command: string[],
): { program: string; args: string[] } {
  const bytes = (limits.memoryMb + V8_RESERVED_MB) * 1024 * 1024;
  return { program: prlimit, args: [`--data=${bytes}`, "--", ...command] };
}

/** Where util-linux installs `prlimit`; a fixed list, so no `PATH` entry can stand in for it. */
const PRLIMIT_PATHS = ["/usr/bin/prlimit", "/bin/prlimit", "/usr/local/bin/prlimit"];

/**
 * Finds `prlimit` on Linux (the only system whose `RLIMIT_DATA` covers `mmap`).
 *
 * Reads the file system.
 *
 * @param os The operating system.
 * @returns Its path, or `undefined` when there is none (or on another system).
 *
 * @example
 * ```ts ignore
 * import { findPrlimit } from "./resource_caps.ts";
 * console.log(findPrlimit()); // "/usr/bin/prlimit"
 * ```
 */
export function findPrlimit(os: typeof Deno.build.os = Deno.build.os): string | undefined {
  if (os !== "linux") return undefined;
  for (const path of PRLIMIT_PATHS) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * The note printed once when no process cap can be set natively: only the heap is capped then.
 *
 * @returns The note.
 */
export function noProcessCapNote(): string {
  return "mcp-run: no process memory cap natively (prlimit from util-linux was not found, or " +
    "this is not Linux): only the V8 heap is capped (limits.heapMb). Install util-linux, or " +
    "use --isolation docker for a memory cap that covers the whole process.";
}

/** How a server was run, for {@linkcode capHitMessage}. */
export interface CapHitContext {
  /** The server's name. */
  name: string;
  /** Its caps. */
  limits: ResourceLimits;
  /** `deno` (native, with or without prlimit) or `docker`. */
  isolation: "deno" | "docker";
  /** Whether the launcher stopped it (then a kill is not the cap's). */
  stopped: boolean;
}

// V8 names the heap cap ("Reached heap limit"); any other fatal out-of-memory is an allocation
// the process cap refused (a heap page V8 could not map once ArrayBuffers took the rest).
const HEAP_RE = /Reached heap limit|near heap limit|JavaScript heap out of memory/;
const FATAL_RE = /Fatal (JavaScript|process) out of memory|memory allocation of \d+ bytes failed/;
// A refused ArrayBuffer is a RangeError: uncaught, Deno exits 1.
const BUFFER_RE = /Array buffer allocation failed/;

/**
 * Whether the process ended as a fatal out-of-memory ends it: V8 and Rust abort (SIGTRAP or
 * SIGABRT, or 133 and 134 as docker reports them). The server's stderr is its own to write, so
 * its words alone never decide.
 */
function abortedLikeOom(status: Deno.CommandStatus): boolean {
  return status.signal === "SIGTRAP" || status.signal === "SIGABRT" ||
    status.code === 133 || status.code === 134;
}

/**
 * The one line that says a server died from a memory cap: which cap, its value, and how to raise
 * it. V8 names an exhausted heap on stderr ("Reached heap limit"); a refused allocation under
 * `prlimit` shows as "Array buffer allocation failed" or another fatal out-of-memory (a heap
 * page V8 could not map); in docker the kernel kills the container (exit 137, SIGKILL) without a
 * word. The words count only with the exit they come with (V8's abort, or exit 1 for an uncaught
 * refused ArrayBuffer): a server that prints them and exits otherwise gets no advice.
 *
 * @param status How the server exited.
 * @param stderrTail The end of its stderr.
 * @param context Its name, caps, isolation, and whether the launcher stopped it.
 * @returns The line, or `undefined` when nothing points at a cap.
 *
 * @example
 * ```ts
 * import { capHitMessage } from "./resource_caps.ts";
 * const line = capHitMessage({ success: false, code: 133, signal: "SIGTRAP" },
 *   "# Fatal JavaScript out of memory: Reached heap limit", {
 *     name: "x", limits: { heapMb: 512, memoryMb: 1024 }, isolation: "deno", stopped: false,
 *   });
 * console.log(line?.startsWith('mcp-run: "x" was stopped by its heap cap (512 MiB)')); // true
 * ```
 */
export function capHitMessage(
  status: Deno.CommandStatus,
  stderrTail: string,
  context: CapHitContext,
): string | undefined {
  if (status.success) return undefined;
  const { name, limits } = context;
  const where = "in the manifest's or your user config's \"limits\"";
  const fatal = abortedLikeOom(status);
  if (fatal && HEAP_RE.test(stderrTail)) {
    return `mcp-run: "${name}" was stopped by its heap cap (${limits.heapMb} MiB, ` +
      `limits.heapMb): it needs more, or leaks. To raise it, set "heapMb" ${where} ` +
      `(e.g. { "heapMb": ${limits.heapMb * 2} }).`;
  }
  const killed = status.code === 137 || status.signal === "SIGKILL";
  const refused = (fatal && FATAL_RE.test(stderrTail)) ||
    (status.code === 1 && BUFFER_RE.test(stderrTail));
  if (refused || (context.isolation === "docker" && killed && !context.stopped)) {
    const how = context.isolation === "docker" ? "docker --memory" : "prlimit --data";
    return `mcp-run: "${name}" was stopped by its process memory cap (${limits.memoryMb} MiB, ` +
      `limits.memoryMb, ${how}). To raise it, set "memoryMb" ${where} (e.g. { "memoryMb": ${
        limits.memoryMb * 2
      } })${context.isolation === "docker" ? ", or give --memory" : ""}.`;
  }
  return undefined;
}
