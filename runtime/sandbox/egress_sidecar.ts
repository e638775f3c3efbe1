/**
 * The egress sidecar: a hardened container with `--network none` that runs the forwarder
 * (`egress_forwarder.ts`) on `127.0.0.1:EGRESS_PORT` and holds the proxy's Unix socket. A server
 * container started with `--network container:<sidecar>` (see {@linkcode egressNetwork}) shares
 * its network namespace: it sees only loopback, and the forwarder is its one way out, through
 * the egress proxy (`egress_proxy.ts`) on the host. Traffic that ignores the proxy has no route.
 *
 * Launch order: `startEgressProxy` on a socket in a launcher-only folder, then
 * {@linkcode startEgressSidecar} (writes the forwarder, runs the sidecar, waits until it listens),
 * then the server with `--network container:<name>` and {@linkcode egressClientEnv}; afterwards
 * `sidecar.stop()` and `proxy.close()`.
 *
 * The builders ({@linkcode egressSidecarArgs}, {@linkcode egressClientEnv},
 * {@linkcode egressNetwork}, {@linkcode egressSidecarName}) are pure; the `start`/`wait`
 * functions run `docker` (`--allow-run=docker`).
 *
 * @module
 */
import { checkImageReference, type DockerLimits, dockerMountProblem } from "./docker_checks.ts";
import { labelArgs, lockdownArgs } from "./_container_hardening.ts";
import {
  CONTAINER_USER,
  DENO_IMAGE,
  DOCKER_LABEL,
  dockerContainerName,
  EGRESS_PORT,
} from "./docker_names.ts";
import { type DockerCommandOptions, removeContainer, runDocker } from "./docker_engine.ts";
import { trackContainer } from "./child_guard.ts";
import {
  EGRESS_FORWARDER_FILE,
  EGRESS_READY_LINE,
  egressForwarderArgs,
  writeEgressForwarder,
} from "./egress_forwarder.ts";

export { EGRESS_PORT };

/** The sidecar's limits: a forwarder needs little. */
export const EGRESS_SIDECAR_LIMITS: Readonly<DockerLimits> = {
  memory: "128m",
  cpus: "0.5",
  pidsLimit: 64,
  tmpfsSize: "16m",
  nofile: 1024,
};

const FORWARDER_DIR = "/mcp-run-egress";
const SOCKET_PATH = "/mcp-run-egress-socket/proxy.sock";
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Options for {@linkcode egressSidecarArgs}. */
export interface EgressSidecarArgsOptions extends Partial<DockerLimits> {
  /** The container's name (see {@linkcode egressSidecarName}). */
  name: string;
  /** The proxy's Unix socket on the host. */
  socketPath: string;
  /** The host folder holding the forwarder (see `writeEgressForwarder`). */
  forwarderDir: string;
  /** The image with Deno (default {@linkcode DENO_IMAGE}). */
  image?: string;
  /** `--user` as `uid:gid` (default {@linkcode CONTAINER_USER}); root is refused. */
  user?: string;
  /** The server it serves, for the `mcp-run.server` label. */
  serverName?: string;
  /** More labels (`mcp-run`, `mcp-run.role=egress` and `mcp-run.server` are always set). */
  labels?: Record<string, string>;
  /** The port the forwarder listens on (default {@linkcode EGRESS_PORT}). */
  port?: number;
}

/**
 * Names the sidecar of a server's container: `mcp-run-<server>-<suffix>-egress`.
 *
 * @param serverName The server's name.
 * @param suffix The same suffix as the server's container.
 * @returns A valid container name.
 * @throws {RangeError} When the suffix is not 1–32 letters or digits.
 *
 * @example
 * ```ts
 * import { egressSidecarName } from "./egress_sidecar.ts";
 * console.log(egressSidecarName("fetch", "a1b2")); // "mcp-run-fetch-a1b2-egress"
 * ```
 */
export function egressSidecarName(serverName: string, suffix: string): string {
  return `${dockerContainerName(serverName, suffix)}-egress`;
}

/**
 * The `--network` value that puts a container in the sidecar's network namespace.
 *
 * @param sidecarName The sidecar's container name.
 * @returns `container:<name>`.
 * @throws {RangeError} When the name is not a container name.
 *
 * @example
 * ```ts
 * import { egressNetwork } from "./egress_sidecar.ts";
 * console.log(egressNetwork("mcp-run-fetch-a1b2-egress")); // "container:mcp-run-fetch-a1b2-egress"
 * ```
 */
export function egressNetwork(sidecarName: string): string {
  return `container:${checkName(sidecarName)}`;
}

/**
 * Builds the `docker run -d` argv (without `docker`) of an egress sidecar: the hardening of
 * every mcp-run container (read-only root, `--cap-drop ALL`, no-new-privileges, non-root user,
 * process, memory, CPU and file limits, `noexec` tmpfs), `--network none`, the forwarder's
 * folder and the proxy's socket mounted read-only (a socket still connects on a read-only
 * mount), and the forwarder run with only `--allow-net` for the port and the socket and access to the
 * socket. Its small log (`json-file`, 64 KiB) is what says it listens. Pure.
 *
 * @param options Name, socket, forwarder folder, image, user, limits, labels, port.
 * @returns The argv.
 * @throws {RangeError} When a name, path, image, user or limit cannot be used.
 *
 * @example
 * ```ts
 * import { egressSidecarArgs } from "./egress_sidecar.ts";
 * const argv = egressSidecarArgs({
 *   name: "mcp-run-fetch-a1b2-egress", socketPath: "/home/me/.cache/mcp-run/egress/a1b2.sock",
 *   forwarderDir: "/home/me/.cache/mcp-run/egress",
 * });
 * console.log(argv[argv.indexOf("--network") + 1]); // "none"
 * ```
 */
export function egressSidecarArgs(options: EgressSidecarArgsOptions): string[] {
  const limits: DockerLimits = { ...EGRESS_SIDECAR_LIMITS };
  for (const key of Object.keys(limits) as (keyof DockerLimits)[]) {
    if (options[key] !== undefined) {
      (limits as unknown as Record<string, unknown>)[key] = options[key];
    }
  }
  return [
    "run",
    "-d",
    "--rm",
    "--pull",
    "never",
    "--name",
    checkName(options.name),
    "--log-driver",
    "json-file",
    "--log-opt",
    "max-size=64k",
    "--log-opt",
    "max-file=1",
    ...labelArgs({
      ...options.labels,
      [DOCKER_LABEL]: "1",
      [`${DOCKER_LABEL}.role`]: "egress",
      ...(options.serverName === undefined
        ? {}
        : { [`${DOCKER_LABEL}.server`]: options.serverName }),
    }),
    ...lockdownArgs(options.user ?? CONTAINER_USER, limits),
    "--network",
    "none",
    "--mount",
    `type=bind,src=${hostPath(options.forwarderDir)},dst=${FORWARDER_DIR},readonly`,
    "--mount",
    `type=bind,src=${hostPath(options.socketPath)},dst=${SOCKET_PATH},readonly`,
    ...["HOME=/tmp", "DENO_DIR=/tmp/deno-dir", "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1"]
      .flatMap((pair) => ["-e", pair]),
    checkImageReference(options.image ?? DENO_IMAGE),
    ...egressForwarderArgs({
      script: `${FORWARDER_DIR}/${EGRESS_FORWARDER_FILE}`,
      socketPath: SOCKET_PATH,
      port: options.port ?? EGRESS_PORT,
    }),
  ];
}

/**
 * The environment that points a server's HTTP clients at the forwarder: `HTTP_PROXY`,
 * `HTTPS_PROXY`, `ALL_PROXY` in both cases, and an empty `NO_PROXY`, so that every connection,
 * `localhost` included, goes through the proxy (a granted `localhost` means the host's, as it
 * does natively; the sidecar's own loopback has nothing else to reach). Pure.
 *
 * @param port The forwarder's port (default {@linkcode EGRESS_PORT}).
 * @returns Names and values to set in the server's container.
 *
 * @example
 * ```ts
 * import { egressClientEnv } from "./egress_sidecar.ts";
 * console.log(egressClientEnv().HTTPS_PROXY); // "http://127.0.0.1:3128"
 * ```
 */
export function egressClientEnv(port: number = EGRESS_PORT): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    ALL_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    all_proxy: url,
    NO_PROXY: "",
    no_proxy: "",
  };
}

/** Options for {@linkcode startEgressSidecar}. */
export interface StartEgressSidecarOptions
  extends Omit<EgressSidecarArgsOptions, "forwarderDir">, DockerCommandOptions {
  /** The host folder to write the forwarder into (created if missing; e.g. in the cache root). */
  forwarderDir: string;
  /** Longest wait until the forwarder listens, in milliseconds (default 15000). */
  timeoutMs?: number;
}

/** A running egress sidecar. */
export interface EgressSidecar {
  /** Its container name (the server joins it with {@linkcode egressNetwork}). */
  readonly name: string;
  /** Removes the container (`docker rm -f`); again is a no-op. */
  stop(): Promise<void>;
}

/**
 * Starts an egress sidecar and waits until its forwarder listens: writes the forwarder into
 * `forwarderDir`, runs {@linkcode egressSidecarArgs}, registers the container with the child
 * guard (removed if the launcher dies), and polls its log for the ready line. A sidecar that
 * fails to start is removed. The proxy (`startEgressProxy`) must already listen on
 * `socketPath`. Requires `--allow-run=docker` and write access to `forwarderDir`.
 *
 * @param options The sidecar's argv options, the docker client, the wait.
 * @returns The running sidecar.
 * @throws {Error} When docker cannot start it or it does not listen in time (with its log).
 *
 * @example
 * ```ts ignore
 * import { startEgressSidecar } from "./egress_sidecar.ts";
 * const sidecar = await startEgressSidecar({
 *   name: "mcp-run-fetch-a1b2-egress", socketPath, forwarderDir: `${cacheRoot}/egress`,
 * });
 * // docker run --network container:mcp-run-fetch-a1b2-egress … (the server)
 * await sidecar.stop();
 * ```
 */
export async function startEgressSidecar(
  options: StartEgressSidecarOptions,
): Promise<EgressSidecar> {
  const argv = egressSidecarArgs(options);
  await writeEgressForwarder(options.forwarderDir);
  const untrack = trackContainer(options.name, options.docker);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await removeContainer(options.name, options);
    untrack();
  };
  try {
    const run = await runDocker(argv, options);
    if (run.code !== 0) {
      throw new Error(`Cannot start the egress sidecar "${options.name}": ${run.stderr.trim()}`);
    }
    await waitForEgressSidecar(options.name, options);
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
  return { name: options.name, stop };
}

/** Options for {@linkcode waitForEgressSidecar}. */
export interface WaitForEgressSidecarOptions extends DockerCommandOptions {
  /** Longest wait, in milliseconds (default 15000). */
  timeoutMs?: number;
}

/**
 * Waits until a sidecar's forwarder listens: polls the container's log for the ready line.
 * Requires `--allow-run=docker`.
 *
 * @param name The sidecar's container name.
 * @param options The docker client and the longest wait.
 * @throws {Error} When the container stops or does not listen in time (with its log's tail).
 *
 * @example
 * ```ts ignore
 * import { waitForEgressSidecar } from "./egress_sidecar.ts";
 * await waitForEgressSidecar("mcp-run-fetch-a1b2-egress", { timeoutMs: 5000 });
 * ```
 */
export async function waitForEgressSidecar(
  name: string,
  options: WaitForEgressSidecarOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let log = "";
  while (true) {
    const out = await runDocker(["logs", "--", checkName(name)], options);
    log = `${out.stdout}${out.stderr}`.trim();
    if (out.code === 0 && out.stdout.includes(EGRESS_READY_LINE)) return;
    const state = await runDocker(["inspect", "-f", "{{.State.Running}}", "--", name], options);
    const why = state.code !== 0 || state.stdout.trim() !== "true"
      ? "it stopped"
      : Date.now() > deadline
      ? "it did not listen in time"
      : undefined;
    if (why) {
      throw new Error(
        `The egress sidecar "${name}" is not ready: ${why}. Its log: ${
          log.slice(-500) || "(empty)"
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function checkName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new RangeError(`Cannot use "${name}" as a container name: use letters, digits, _ . -`);
  }
  return name;
}

function hostPath(path: string): string {
  const problem = dockerMountProblem(path);
  if (!path.startsWith("/") || path.split("/").includes("..") || problem) {
    throw new RangeError(
      `Cannot mount "${path}" into the egress sidecar: ${
        problem ?? "give an absolute, canonical path"
      }`,
    );
  }
  return path;
}
