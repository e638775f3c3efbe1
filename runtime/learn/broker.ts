/**
 * The learn run's permission broker: Deno asks it about every permission check the server makes
 * (`DENO_PERMISSION_BROKER_PATH`), and it answers by the learn policy and records each distinct
 * check with its verdict.
 *
 * Checked on Deno 2.9.6: with a broker, every `--allow-*`/`--deny-*` flag is ignored, and so is
 * `--ignore-env`: a refused `env` check throws `NotCapable` instead of reading as undefined. The
 * learn policy therefore allows every `env` read, which is safe only because the learn run's
 * environment is built from scratch (placeholders, no real values). `run` checks do reach the
 * broker (first with no value, then the program).
 *
 * Natively the broker is the only wall around the user's files: the server runs as the user, and
 * every read and write it makes is allowed or refused here alone. What else keeps a learn run
 * harmless is that nothing real is handed to it: its environment is built from placeholders, its
 * HOME, working folder and TMPDIR are scratch folders, its code cache is throwaway, and path
 * arguments are replaced by empty stand-ins. So paths are judged by where they really are: the
 * longest existing part of a path is resolved through its symlinks before it is compared with the
 * allowed folders, and a symlink inside an allowed folder that leads outside (a package that ships
 * `assets -> ~/.ssh`) is refused. The server cannot make new symlinks: `Deno.symlink` asks for
 * write access to everything, which the broker refuses.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, normalize, resolve } from "../_path.ts";
import { isWithin } from "../policy/path_policy.ts";
import { MAX_CHECK_LINE_BYTES, type PermissionCheck } from "./permission_check.ts";

/** Where a learn run may read and write; every path absolute and canonical. */
export interface LearnPolicy {
  /** Folders the server may read: its own code, its scratch folders, the throwaway HOME/cwd. */
  read: readonly string[];
  /** Folders the server may write: only its scratch folders. */
  write: readonly string[];
  /**
   * Hosts (`host` or `host:port`) the server's modules may be imported from: the JSR registry
   * its code came from. Deno asks before it loads even cached JSR modules; the run is
   * `--cached-only`, so nothing is fetched.
   */
  imports?: readonly string[];
  /** The server's working folder: a relative path in a check is resolved against it. */
  cwd?: string;
}

/** A check the broker answered, and how. */
export interface BrokerVerdict {
  /** Whether the check was allowed. */
  allowed: boolean;
  /** Why it was refused (or, for an allowed check that production would treat otherwise, why). */
  reason?: string;
}

/** One distinct check the server made during the learn run, with its verdict. */
export interface RecordedCheck extends PermissionCheck, BrokerVerdict {
  /** How many times the server made it. */
  count: number;
}

/** Most distinct checks recorded; later new ones are still answered, and counted as dropped. */
export const MAX_RECORDED_CHECKS = 4096;

/** Why `run` and `ffi` are refused natively, and what a container (docker or gVisor) needs. */
export const NATIVE_ESCAPE_REASON = {
  run: "native mode never lets a server start programs: Deno's permissions end at the child " +
    "process, which runs with the user's full rights. A container can: list the program " +
    "under permissions.run and start it with --isolation docker --trust (or --isolation gvisor " +
    "--trust)",
  ffi: "native mode never lets a server load native libraries: a library runs outside Deno's " +
    "permissions. A container can: list the library under permissions.ffi and start it " +
    "with --isolation docker --trust (or --isolation gvisor --trust)",
} as const;

/**
 * Decides one check by the learn policy (pure).
 *
 * - `read`: allowed within `policy.read`; `write`: allowed within `policy.write`. Anything else
 *   would touch a real file.
 * - `env`: allowed; the learn environment holds only placeholders (see the module doc for why a
 *   refusal is not an option).
 * - `sys`: allowed. These reveal host facts (`hostname`, `networkInterfaces`, `uid`), but a learn
 *   run has no network, no programs and writes only scratch folders, so nothing it reads can
 *   leave the machine; refusing them would make servers fail in ways production would not.
 * - `net`: refused; a learn run reaches no service (the hosts are still recorded).
 * - `import`: allowed only from `policy.imports` (the JSR registry the code came from).
 * - `run` and `ffi`: refused; native mode can never grant them.
 * - A check of everything (no value) is refused, except `env`.
 *
 * @param check One check.
 * @param policy Where the server may read and write.
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { decideLearnCheck } from "./broker.ts";
 * const policy = { read: ["/s"], write: ["/s/out"] };
 * console.log(decideLearnCheck({ permission: "write", value: "/s/out/a" }, policy).allowed); // true
 * console.log(decideLearnCheck({ permission: "read", value: "/etc/passwd" }, policy).allowed); // false
 * ```
 */
export function decideLearnCheck(check: PermissionCheck, policy: LearnPolicy): BrokerVerdict {
  const { permission, value } = check;
  if (permission === "env") return { allowed: true };
  if (value === null) {
    if (permission === "run" || permission === "ffi") {
      return { allowed: false, reason: NATIVE_ESCAPE_REASON[permission] };
    }
    return { allowed: false, reason: `all of ${permission} is never granted to a learn run` };
  }
  // Deno sends absolute, normalized paths; anything else is judged by what it names, and a
  // relative path (whose base the broker cannot know) is refused.
  const inside = (roots: readonly string[]) =>
    isAbsolute(value) && roots.some((root) => isWithin(normalize(value), root));
  switch (permission) {
    case "read":
      return inside(policy.read) ? { allowed: true } : {
        allowed: false,
        reason: "outside the server's code and its scratch folders: a learn run reads no real file",
      };
    case "write":
      return inside(policy.write) ? { allowed: true } : {
        allowed: false,
        reason: "outside the server's scratch folders: a learn run writes no real file",
      };
    case "sys":
      return { allowed: true };
    case "net":
      return { allowed: false, reason: "a learn run reaches no network service" };
    case "import":
      return (policy.imports ?? []).includes(value.toLowerCase())
        ? { allowed: true }
        : { allowed: false, reason: "a learn run imports no code from the network" };
    case "run":
    case "ffi":
      return { allowed: false, reason: NATIVE_ESCAPE_REASON[permission] };
    default:
      return { allowed: false, reason: `unknown permission "${permission}"` };
  }
}

/**
 * Where a path really is: its longest existing part resolved through symlinks (as the system
 * would when it opens it), the rest appended. Reads the file system.
 *
 * @param path An absolute path.
 * @returns The real location, or undefined when a part after the existing ones is `..` (the
 *   system would resolve it through a folder that does not exist yet) or the symlinks loop.
 *
 * @example
 * ```ts
 * import { realLocation } from "./broker.ts";
 * console.log(realLocation("/no-such-folder/a")); // "/no-such-folder/a"
 * ```
 */
export function realLocation(path: string): string | undefined {
  const tail: string[] = [];
  let head = path;
  // A dangling symlink is followed too: writing through it would create its target.
  for (let links = 0; links <= MAX_LINKS;) {
    try {
      const real = Deno.realPathSync(head);
      if (tail.includes("..")) return undefined;
      return tail.length ? join(real, ...[...tail].reverse()) : real;
    } catch {
      const target = readLink(head);
      if (target !== undefined) {
        head = resolve(dirname(head), target);
        links++;
        continue;
      }
      const parent = dirname(head);
      if (parent === head) return tail.includes("..") ? undefined : normalize(path);
      tail.push(basename(head));
      head = parent;
    }
  }
  return undefined;
}

/** Most symlinks followed for one path, as the system's own limit (ELOOP). */
const MAX_LINKS = 40;

function readLink(path: string): string | undefined {
  try {
    return Deno.readLinkSync(path);
  } catch {
    return undefined;
  }
}

/** Options for {@linkcode startBroker}. */
export interface StartBrokerOptions {
  /** Where the server may read and write. */
  policy: LearnPolicy;
  /** Most distinct checks recorded (default {@linkcode MAX_RECORDED_CHECKS}). */
  maxChecks?: number;
}

/** A running broker: its socket, what it recorded, and how to stop it. */
export interface PermissionBroker {
  /** The Unix socket to pass as `DENO_PERMISSION_BROKER_PATH`. */
  readonly socketPath: string;
  /** The distinct checks so far, in the order first made. */
  checks(): RecordedCheck[];
  /** How many distinct checks were answered but not recorded (over the bound). */
  dropped(): number;
  /** How many questions could not be read (too long, malformed): each ends that connection. */
  malformed(): number;
  /** Stops listening, closes connections and removes the socket's folder. */
  close(): Promise<void>;
}

/**
 * Starts a permission broker on a Unix socket inside a fresh `0700` folder. The server cannot
 * reach the socket: the folder is outside everything the learn policy allows.
 *
 * Requires `--allow-read` and `--allow-write` for the temporary folder.
 *
 * @param options The learn policy and bounds.
 * @returns The running broker.
 * @throws {Deno.errors.PermissionDenied} When the temporary folder cannot be made.
 *
 * @example
 * ```ts ignore
 * import { startBroker } from "./broker.ts";
 * const broker = await startBroker({ policy: { read: ["/s"], write: ["/s"] } });
 * // spawn deno with DENO_PERMISSION_BROKER_PATH=broker.socketPath, then:
 * console.log(broker.checks());
 * await broker.close();
 * ```
 */
export async function startBroker(options: StartBrokerOptions): Promise<PermissionBroker> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-broker-" });
  await Deno.chmod(dir, 0o700);
  const socketPath = `${dir}/broker.sock`;
  const listener = Deno.listen({ transport: "unix", path: socketPath });
  const recorder = new CheckRecorder(options.policy, options.maxChecks ?? MAX_RECORDED_CHECKS);
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      serveConnection(conn, recorder).finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  return {
    socketPath,
    checks: () => recorder.list(),
    dropped: () => recorder.dropped,
    malformed: () => recorder.malformed,
    close: async () => {
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await serving;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Decides and records checks, bounded in how many distinct ones it keeps. */
class CheckRecorder {
  #policy: LearnPolicy;
  #max: number;
  #checks = new Map<string, RecordedCheck>();
  dropped = 0;
  malformed = 0;

  constructor(policy: LearnPolicy, max: number) {
    // The roots are compared with real locations, so they are real locations too.
    const real = (roots: readonly string[]) => roots.map((r) => realLocation(r) ?? normalize(r));
    this.#policy = { ...policy, read: real(policy.read), write: real(policy.write) };
    this.#max = max;
  }

  /** A relative path in a read or write check, resolved against the server's working folder. */
  #absolute(check: PermissionCheck): PermissionCheck {
    const { permission, value } = check;
    const cwd = this.#policy.cwd;
    if (permission !== "read" && permission !== "write") return check;
    if (value === null || isAbsolute(value) || cwd === undefined) return check;
    return { permission, value: resolve(cwd, value) };
  }

  /** A path check is decided by where the path really is. */
  #judge(check: PermissionCheck): BrokerVerdict {
    const { permission, value } = check;
    if ((permission !== "read" && permission !== "write") || value === null) {
      return decideLearnCheck(check, this.#policy);
    }
    if (!isAbsolute(value)) return decideLearnCheck(check, this.#policy);
    const real = realLocation(value);
    if (real === undefined) {
      return {
        allowed: false,
        reason: "climbs with .. out of a folder that does not exist: a learn run cannot tell " +
          "where it leads",
      };
    }
    const verdict = decideLearnCheck({ permission, value: real }, this.#policy);
    if (verdict.allowed || real === normalize(value)) return verdict;
    return { ...verdict, reason: `${verdict.reason} (it leads to ${real} through a symlink)` };
  }

  decide(asked: PermissionCheck): BrokerVerdict {
    const check = this.#absolute(asked);
    const key = `${check.permission}\0${check.value ?? ""}`;
    const known = this.#checks.get(key);
    if (known) {
      known.count++;
      return known;
    }
    const verdict = this.#judge(check);
    if (this.#checks.size < this.#max) this.#checks.set(key, { ...check, ...verdict, count: 1 });
    else this.dropped++;
    return verdict;
  }

  list(): RecordedCheck[] {
    return [...this.#checks.values()].map((c) => ({ ...c }));
  }
}

/** Answers one Deno process's questions, one line each, until it closes or misbehaves. */
async function serveConnection(conn: Deno.Conn, recorder: CheckRecorder): Promise<void> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  try {
    for await (const chunk of conn.readable) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        const answer = answerLine(line, recorder);
        if (answer === undefined) return;
        await conn.write(encoder.encode(answer));
      }
      // A question longer than any Deno writes ends the connection (and so the server, exit 87).
      if (buffer.length > MAX_CHECK_LINE_BYTES) {
        recorder.malformed++;
        return;
      }
    }
  } catch {
    // The server ended mid-question: nothing to answer.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** The answer line to one question, or undefined when it is not one Deno writes. */
function answerLine(line: string, recorder: CheckRecorder): string | undefined {
  let question: { id?: unknown; permission?: unknown; value?: unknown };
  try {
    question = line.length <= MAX_CHECK_LINE_BYTES ? JSON.parse(line) : undefined;
  } catch {
    question = {};
  }
  const id = question?.id;
  const permission = question?.permission;
  const value = question?.value ?? null;
  if (
    typeof id !== "number" || typeof permission !== "string" ||
    (value !== null && typeof value !== "string")
  ) {
    recorder.malformed++;
    return undefined;
  }
  const verdict = recorder.decide({ permission, value });
  const answer = verdict.allowed
    ? { id, result: "allow" }
    : { id, result: "deny", reason: `mcp-run learn: ${verdict.reason}` };
  return `${JSON.stringify(answer)}\n`;
}
