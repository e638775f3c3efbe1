/**
 * Egress from inside the server's own container, for runtimes where a container cannot share
 * another's loopback (gVisor has its own network stack, so the sidecar of `egress_sidecar.ts`
 * cannot serve it). The container keeps `--network none`; the egress proxy's Unix socket file
 * and a forwarder file are bind-mounted read-only; the container's command becomes a `sh -c`
 * wrapper that starts the forwarder on `127.0.0.1:3128`, waits for its ready line, and then
 * `exec`s the server, whose `HTTP(S)_PROXY` point at the forwarder. Pure.
 *
 * The wrapper waits with `ready=$(forwarder </dev/null | { read -r line; printf … "$line"; } &)`:
 * the command substitution returns once the reader got the forwarder's first line (or saw it
 * die) and exited. The reader stands between them because the forwarder cannot close its own
 * stdout (Deno keeps a copy of that descriptor), and the shell waits for every writer of the
 * pipe. No ready line: one line on stderr and exit code {@linkcode EGRESS_NOT_READY_EXIT}; the
 * server never starts. The ready line: {@linkcode EGRESS_INSIDE_READY} on stderr, then the
 * server. The shell cannot bound the wait with builtins alone; the launcher does (it stops a
 * container whose wrapper has not said ready in time, see `spawnDockerServer`). Only `sh`
 * builtins are used: images without coreutils work.
 *
 * @module
 */
import { join } from "../_path.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import type { PlannedEgress } from "./container_launch.ts";
import { dockerMountProblem } from "./docker_checks.ts";
import { EGRESS_PORT, INSIDE_EGRESS_DIR, INSIDE_PROXY_SOCKET } from "./docker_names.ts";
import {
  EGRESS_FORWARDER_FILE,
  EGRESS_FORWARDER_SOURCE,
  EGRESS_READY_LINE,
  egressForwarderArgs,
  type ForwarderSource,
} from "./egress_forwarder.ts";
import { egressClientEnv } from "./egress_sidecar.ts";
import {
  PYTHON_FORWARDER_FILE,
  PYTHON_FORWARDER_SOURCE,
  pythonForwarderArgs,
} from "./python_forwarder.ts";
import { shellQuote } from "./shell_quote.ts";

export { INSIDE_PROXY_SOCKET };

/**
 * The line the wrapper writes on stderr once the forwarder is ready, just before the server
 * starts: the launcher stops a container that does not write it in time, and does not pass it on.
 */
export const EGRESS_INSIDE_READY = "mcp-run: egress forwarder ready";

/** The wrapper's exit code when the forwarder did not start (EX_SOFTWARE). */
export const EGRESS_NOT_READY_EXIT = 70;

/** The Deno forwarder's private `DENO_DIR` (the code volume is read-only): in the tmpfs. */
const FORWARDER_DENO_DIR = "/tmp/mcp-run-egress-deno";

/**
 * What the Deno forwarder must not inherit from the server's container: the audit channel (its
 * own permission checks would land in the server's audit) and the tracing and broker settings.
 */
const FORWARDER_UNSET = [
  "DENO_AUDIT_PERMISSIONS",
  "DENO_TRACE_PERMISSIONS",
  "DENO_PERMISSION_BROKER_PATH",
];

const SUFFIX_RE = /^[A-Za-z0-9]{1,32}$/;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Options for {@linkcode egressWrapper}. */
export interface EgressWrapperOptions {
  /** Variables set for the forwarder alone. */
  env?: Record<string, string>;
  /** Variables the forwarder does not inherit. */
  unset?: string[];
}

/** Options for {@linkcode insideEgress}. */
export interface InsideEgressOptions {
  /** mcp-run's cache root: the socket and forwarder live under `egress/` in it. */
  cacheRoot: string;
  /** The suffix of the server's container name: the socket's folder is named after it. */
  suffix: string;
  /** What runs the forwarder in the server's image: its Deno or its Python. */
  runtime: "deno" | "python";
  /** The port the forwarder listens on, on 127.0.0.1 (default {@linkcode EGRESS_PORT}). */
  port?: number;
}

/** What a container needs to reach its egress proxy from inside (see {@linkcode insideEgress}). */
export interface InsideEgress {
  /** The proxy's socket on the host. */
  socketPath: string;
  /** The host folder the forwarder file is written to. */
  forwarderDir: string;
  /** What runs the forwarder: the image's Deno or its Python. */
  runtime: "deno" | "python";
  /** The forwarder to write there (its file name and source; see {@linkcode forwarderOf}). */
  forwarder: ForwarderSource;
  /** `--mount` values: the socket file and the forwarder file, both read-only. */
  mounts: string[];
  /** The proxy variables the server gets (`HTTP_PROXY`, `HTTPS_PROXY`, …). */
  env: Record<string, string>;
  /**
   * The command that goes before the server's argv: `sh -c <wrapper> sh` (the wrapper then
   * `exec "$@"`s the server).
   */
  command: string[];
}

/**
 * The host folder of a launch's egress socket: `<cacheRoot>/egress/socket-<suffix>`, so that a
 * dry run shows the exact mounts. Pure.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param suffix The container name's suffix.
 * @returns The folder.
 * @throws {RangeError} When the suffix is not 1–32 letters or digits.
 *
 * @example
 * ```ts
 * import { egressSocketDir } from "./egress_inside.ts";
 * console.log(egressSocketDir("/c", "a1b2")); // /c/egress/socket-a1b2
 * ```
 */
export function egressSocketDir(cacheRoot: string, suffix: string): string {
  if (!SUFFIX_RE.test(suffix)) {
    throw new RangeError(
      `Cannot name an egress socket after "${suffix}": use 1–32 letters or digits`,
    );
  }
  return join(cacheRoot, "egress", `socket-${suffix}`);
}

/**
 * Plans the egress of a container that runs its own forwarder: the host paths of the proxy's
 * socket and of the forwarder, their read-only mounts, the proxy variables, and the `sh -c`
 * wrapper that starts the forwarder (Deno: `--allow-net` for its port and the socket alone,
 * read and write of the socket, its own `DENO_DIR` in the tmpfs; Python: `python3 -I`), waits
 * for its ready line, and `exec`s the server. Pure.
 *
 * @param options Cache root, suffix, the image's runtime, the port.
 * @returns The plan.
 * @throws {RangeError} When the suffix, a path or the port cannot be used.
 *
 * @example
 * ```ts
 * import { insideEgress } from "./egress_inside.ts";
 * const egress = insideEgress({ cacheRoot: "/c", suffix: "a1b2", runtime: "python" });
 * console.log(egress.socketPath, egress.env.HTTPS_PROXY);
 * // /c/egress/socket-a1b2/proxy.sock http://127.0.0.1:3128
 * console.log(egress.command.slice(0, 2)); // [ "sh", "-c" ]
 * ```
 */
export function insideEgress(options: InsideEgressOptions): InsideEgress {
  const port = options.port ?? EGRESS_PORT;
  const socketDir = egressSocketDir(options.cacheRoot, options.suffix);
  const socketPath = join(socketDir, "proxy.sock");
  const forwarderDir = join(options.cacheRoot, "egress", "forwarder");
  const forwarder = forwarderOf(options.runtime);
  const script = `${INSIDE_EGRESS_DIR}/${forwarder.file}`;
  const argv = options.runtime === "deno"
    ? ["deno", ...egressForwarderArgs({ script, socketPath: INSIDE_PROXY_SOCKET, port })]
    : pythonForwarderArgs({ script, socketPath: INSIDE_PROXY_SOCKET, port });
  return {
    socketPath,
    forwarderDir,
    runtime: options.runtime,
    forwarder,
    mounts: [
      fileMount(socketPath, INSIDE_PROXY_SOCKET),
      fileMount(join(forwarderDir, forwarder.file), script),
    ],
    env: egressClientEnv(port),
    command: [
      "sh",
      "-c",
      egressWrapper(
        argv,
        options.runtime === "deno"
          ? { env: { DENO_DIR: FORWARDER_DENO_DIR }, unset: FORWARDER_UNSET }
          : {},
      ),
      "sh",
    ],
  };
}

/**
 * The forwarder file a runtime runs: the Deno one (`egress_forwarder.ts`) or the Python one
 * (`python_forwarder.ts`). Pure.
 *
 * @param runtime `deno` or `python`.
 * @returns Its file name and source.
 *
 * @example
 * ```ts
 * import { forwarderOf } from "./egress_inside.ts";
 * console.log(forwarderOf("python").file); // egress_forwarder.py
 * ```
 */
export function forwarderOf(runtime: "deno" | "python"): ForwarderSource {
  return runtime === "deno"
    ? { file: EGRESS_FORWARDER_FILE, source: EGRESS_FORWARDER_SOURCE }
    : { file: PYTHON_FORWARDER_FILE, source: PYTHON_FORWARDER_SOURCE };
}

/**
 * The `sh -c` script that starts a forwarder in the background, waits for its ready line, and
 * `exec`s the rest of its arguments (`"$@"`); without the ready line it says so on stderr and
 * exits with {@linkcode EGRESS_NOT_READY_EXIT}. Pure.
 *
 * @param forwarder The forwarder's argv.
 * @param options Variables set for the forwarder alone, and those it does not inherit.
 * @returns The script.
 * @throws {TypeError} When a variable's name is not a valid name.
 *
 * @example
 * ```ts
 * import { egressWrapper } from "./egress_inside.ts";
 * console.log(egressWrapper(["python3", "-I", "/f.py"]).startsWith("ready=$( (exec python3 -I /f.py)")); // true
 * ```
 */
export function egressWrapper(forwarder: string[], options: EgressWrapperOptions = {}): string {
  const check = (name: string) => {
    if (!NAME_RE.test(name)) {
      throw new TypeError(`Cannot set "${name}" for the forwarder: not a valid variable name`);
    }
    return name;
  };
  const unset = options.unset?.length ? `unset ${options.unset.map(check).join(" ")}; ` : "";
  const exports = Object.entries(options.env ?? {})
    .map(([name, value]) => `export ${check(name)}=${shellQuote([value])}; `).join("");
  return [
    `ready=$( (${unset}${exports}exec ${shellQuote(forwarder)}) </dev/null | ` +
    `{ IFS= read -r line; printf '%s\\n' "$line"; } &)`,
    `case "$ready" in`,
    `  ${shellQuote([EGRESS_READY_LINE])}*) printf '%s\\n' ${
      shellQuote([EGRESS_INSIDE_READY])
    } >&2 ;;`,
    `  *) echo "mcp-run: the egress forwarder did not start in the container, so the server ` +
    `cannot reach its granted hosts (see its error); the server was not started" >&2; ` +
    `exit ${EGRESS_NOT_READY_EXIT} ;;`,
    `esac`,
    `exec "$@"`,
  ].join("\n");
}

function fileMount(host: string, target: string): string {
  const problem = dockerMountProblem(host);
  if (!host.startsWith("/") || host.split("/").includes("..") || problem) {
    throw new RangeError(
      `Cannot mount "${host}" into the container: ${problem ?? "give an absolute, canonical path"}`,
    );
  }
  return `type=bind,src=${host},dst=${target},readonly`;
}

/**
 * The refusal of a server with `net` grants written as a command to copy (`mcp-run flags`, a
 * docker-form client entry): its network goes through mcp-run's egress proxy, which only a
 * launcher starts (from a sidecar under docker, or inside its container under gVisor).
 *
 * @param server The server.
 * @returns The error.
 *
 * @example
 * ```ts
 * import { copiedCommandError } from "./egress_inside.ts";
 * const error = copiedCommandError({ name: "f", specifier: "npm:f@1.0.0", net: ["a.test"] });
 * console.log(error.message.endsWith("(or a launcher-form client entry)")); // true
 * ```
 */
export function copiedCommandError(
  server: Pick<ResolvedServer, "name" | "specifier" | "net">,
): GrantError {
  return new GrantError(
    "permissions.net",
    `Cannot write "${server.name}" (${server.specifier}) as a command to copy: it reaches ` +
      `${server.net.join(", ")} only through mcp-run's egress proxy, which a copied docker ` +
      "command cannot start. Start it with mcp-run run (or a launcher-form client entry)",
  );
}

/**
 * The egress a plan with the forwarder inside its container records: proxy only, no sidecar.
 *
 * @param server The server.
 * @param suffix The container name's suffix.
 * @param egress Its inside egress.
 * @returns The planned egress.
 *
 * @example
 * ```ts
 * import { insideEgress, plannedInside } from "./egress_inside.ts";
 * const egress = insideEgress({ cacheRoot: "/c", suffix: "a1", runtime: "deno" });
 * const planned = plannedInside({ net: ["a.test"], denyNet: [] }, "a1", egress);
 * console.log(planned.sidecar, planned.inside?.socketPath); // undefined /c/egress/socket-a1/proxy.sock
 * ```
 */
export function plannedInside(
  server: Pick<ResolvedServer, "net" | "denyNet">,
  suffix: string,
  egress: InsideEgress,
): PlannedEgress {
  return {
    suffix,
    allow: [...server.net],
    deny: [...server.denyNet],
    inside: {
      socketPath: egress.socketPath,
      forwarderDir: egress.forwarderDir,
      runtime: egress.runtime,
    },
  };
}
