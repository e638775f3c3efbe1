/**
 * Ties the life of every server process (and container) to the launcher's, even when the
 * launcher is killed with SIGKILL and a server ignores SIGTERM and the end of its stdin.
 *
 * A small supervising process (POSIX `sh`, started on the first registration) reads
 * registrations from a pipe whose only writer is the launcher. When the pipe ends — the launcher
 * exited, or was killed by any signal — it kills every process still registered and removes
 * every container still registered (`docker rm -f`, twice, in case the docker client was still
 * creating it). It ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT, so a signal sent to the whole
 * process group (Ctrl-C) cannot end it before the launcher. A parent-death signal
 * (`PR_SET_PDEATHSIG`, e.g. `setpriv --pdeathsig KILL`) was not used: it fires when the spawning
 * *thread* exits, not the process (a server started from a Worker would die with the Worker),
 * and it cannot remove a container, which outlives a killed docker client.
 *
 * @module
 */
import { DOCKER_CLIENT_VARS } from "./docker_engine.ts";

/** The supervisor: reads `+ ID kind value` and `- ID` lines; acts on what is left at the end. */
const SUPERVISOR = `
trap '' INT TERM HUP QUIT PIPE
ids=''
while IFS= read -r line; do
  set -f
  set -- $line
  set +f
  case $1 in
    +) case $2 in *[!0-9]*|'') continue ;; esac
       id=$2; shift 2
       eval "e_$id=\\$*"
       ids="$ids $id" ;;
    -) case $2 in *[!0-9]*|'') continue ;; esac
       unset "e_$2"
       kept=''
       for id in $ids; do [ "$id" = "$2" ] || kept="$kept $id"; done
       ids=$kept ;;
  esac
done
names=''
for id in $ids; do
  eval "entry=\\\${e_$id-}"
  set -f
  set -- $entry
  set +f
  case $1 in
    pid) case $2 in *[!0-9]*|'') ;; *) kill -KILL "$2" 2>/dev/null ;; esac ;;
    container) names="$names $id" ;;
  esac
done
for try in 1 2; do
  for id in $names; do
    eval "entry=\\\${e_$id-}"
    set -f
    set -- $entry
    set +f
    name=$2; shift 2
    "$*" rm -f -- "$name" >/dev/null 2>&1 &
  done
  wait
  [ -z "$names" ] && break
  sleep 1
done
`;

/** Variables the supervisor keeps, so that it finds and configures the docker client. */
const SUPERVISOR_VARS = DOCKER_CLIENT_VARS;
/** What {@linkcode guardChildren} was given, once enabled. */
interface GuardState {
  shell: string;
  env: Record<string, string>;
  writer?: WritableStreamDefaultWriter<Uint8Array>;
  child?: Deno.ChildProcess;
  queue: Promise<void>;
  nextId: number;
}

let state: GuardState | undefined;

/** Options for {@linkcode guardChildren}. */
export interface GuardChildrenOptions {
  /** The shell that runs the supervisor (default `/bin/sh`). */
  shell?: string;
  /** The launcher's environment; the docker client's settings are kept (default: the process's). */
  env?: Record<string, string>;
}

/**
 * Makes every server process and container started from now on die with this process: after
 * this call, {@linkcode trackProcess} and {@linkcode trackContainer} register with a supervising
 * process, started on first use (a few milliseconds, off the start-up path of anything that
 * starts no server). Calling it again changes nothing. Does nothing on Windows.
 *
 * Requires `--allow-run` for the shell (and docker, used by the supervisor after our death).
 *
 * @param options The shell and the environment for the docker client.
 *
 * @example
 * ```ts ignore
 * import { guardChildren } from "./child_guard.ts";
 * guardChildren(); // the CLI does this first
 * ```
 */
export function guardChildren(options: GuardChildrenOptions = {}): void {
  if (state || Deno.build.os === "windows") return;
  let source = options.env;
  try {
    source ??= Deno.env.toObject();
  } catch {
    source = {};
  }
  const env: Record<string, string> = {};
  for (const name of SUPERVISOR_VARS) if (source[name] !== undefined) env[name] = source[name];
  state = { shell: options.shell ?? "/bin/sh", env, queue: Promise.resolve(), nextId: 1 };
}

/**
 * Registers a process to be killed (SIGKILL) if this process dies before it; a no-op unless
 * {@linkcode guardChildren} was called.
 *
 * @param pid The child's process id.
 * @returns A function that unregisters it (call it once the child has exited).
 *
 * @example
 * ```ts ignore
 * import { trackProcess } from "./child_guard.ts";
 * const untrack = trackProcess(child.pid);
 * child.status.then(untrack);
 * ```
 */
export function trackProcess(pid: number): () => void {
  return register(`pid ${pid}`);
}

/**
 * Registers a container to be removed (`docker rm -f`) if this process dies first; a no-op
 * unless {@linkcode guardChildren} was called.
 *
 * @param name The container's name (letters, digits, `_`, `.`, `-`).
 * @param docker The docker client to remove it with (default `docker`, found on `PATH`).
 * @returns A function that unregisters it (call it once the container is removed).
 * @throws {RangeError} When the name is not a docker container name.
 *
 * @example
 * ```ts ignore
 * import { trackContainer } from "./child_guard.ts";
 * const untrack = trackContainer("mcp-run-memory-1a2b");
 * ```
 */
export function trackContainer(name: string, docker = "docker"): () => void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new RangeError(`Cannot guard the container "${name}": not a docker container name`);
  }
  if (/[\n\r\0]/.test(docker)) {
    throw new RangeError(`Cannot guard a container with the docker client "${docker}"`);
  }
  return register(`container ${name} ${docker}`);
}

/**
 * Starts the supervising process now rather than on the first registration, so that it starts
 * while the launcher waits for its checks instead of delaying the server's start; a no-op unless
 * {@linkcode guardChildren} was called, or when it already runs.
 *
 * @example
 * ```ts ignore
 * import { guardChildren, startGuard } from "./child_guard.ts";
 * guardChildren();
 * startGuard(); // before the checks that precede a server's start
 * ```
 */
export function startGuard(): void {
  if (state) supervisor(state);
}

function register(entry: string): () => void {
  const guard = state;
  if (!guard) return () => {};
  const id = guard.nextId++;
  send(guard, `+ ${id} ${entry}\n`);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    send(guard, `- ${id}\n`);
  };
}

function send(guard: GuardState, line: string): void {
  const writer = supervisor(guard);
  if (!writer) return; // no shell: nothing to guard with
  const bytes = new TextEncoder().encode(line);
  guard.queue = guard.queue.then(() => writer.write(bytes)).catch(() => {});
}

/** The pipe to the supervisor, which is started on first use; none when no shell starts. */
function supervisor(guard: GuardState): WritableStreamDefaultWriter<Uint8Array> | undefined {
  if (guard.writer) return guard.writer;
  try {
    guard.child = new Deno.Command(guard.shell, {
      args: ["-c", SUPERVISOR],
      env: guard.env,
      clearEnv: true,
      cwd: "/",
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return undefined;
  }
  // Neither the supervisor nor its pipe keeps this process alive.
  guard.child.unref();
  guard.writer = guard.child.stdin.getWriter();
  guard.writer.closed.catch(() => {});
  return guard.writer;
}
