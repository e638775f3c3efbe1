/**
 * Pure builders of `docker` argv: a hardened `docker run denoland/deno` wrapping the same Deno
 * argv as native mode, and the pull container that fills a server's code volume. The names
 * they use live in `docker_names.ts`, the checks on their inputs in `docker_checks.ts`.
 *
 * @module
 */
import { denoCacheArgs } from "./flags.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import {
  checkContainerUser,
  checkDockerLimits,
  checkEnvFile,
  checkImageReference,
  checkNetwork,
  checkVolume,
  DOCKER_LIMITS,
  type DockerLimits,
  dockerMountProblem,
} from "./docker_checks.ts";
import {
  CONTAINER_DENO_DIR,
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  DOCKER_LABEL,
  dockerContainerName,
  dockerVolumeName,
} from "./docker_names.ts";

/** The variables every container gets, with fixed values. */
const FIXED_ENV: Readonly<Record<string, string>> = {
  HOME: "/tmp",
  DENO_DIR: CONTAINER_DENO_DIR,
  DENO_NO_UPDATE_CHECK: "1",
  DENO_NO_PROMPT: "1",
  NO_COLOR: "1",
};

/** Options shared by {@linkcode dockerRunArgs} and {@linkcode dockerPullArgs}. */
export interface DockerCommonOptions extends Partial<DockerLimits> {
  /** The image (default {@linkcode DENO_IMAGE}). */
  image?: string;
  /** The code volume (default {@linkcode dockerVolumeName} of the server and image). */
  volume?: string;
  /** When set, the container is named `mcp-run-<server>-<suffix>` (see {@linkcode dockerContainerName}). */
  nameSuffix?: string;
  /** `--user` as `uid:gid` (default {@linkcode CONTAINER_USER}); root is refused. */
  user?: string;
  /** Variables whose values are written into argv (`-e NAME=value`): never secrets. */
  env?: Record<string, string>;
  /** Variables passed by name only (`-e NAME`): docker copies the value from its own environment. */
  passEnv?: string[];
  /** More labels (`mcp-run` and `mcp-run.server` are always set). */
  labels?: Record<string, string>;
  /** More host files mounted read-only at the same place (a CA file named by `DENO_CERT`). */
  readOnlyPaths?: string[];
}

/** Options for {@linkcode dockerRunArgs}. */
export interface DockerRunOptions extends DockerCommonOptions {
  /**
   * The network for a server that declares network access (default `bridge`); a server that
   * declares none always gets `none`, whatever this says.
   */
  network?: string;
  /**
   * An absolute path passed as `--env-file`: secret values for clients that cannot reference a
   * secret (the file is the user's, mode 0600). Its names must not also be in `passEnv`.
   */
  envFile?: string;
}

/** Options for {@linkcode dockerPullArgs}. */
export interface DockerPullOptions extends DockerCommonOptions {
  /** The network that reaches the package registries (default `bridge`). */
  network?: string;
  /** Enforce an existing lockfile in the volume (`--frozen`): a re-pull must get the same code. */
  frozen?: boolean;
}
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Builds the `docker` argv (without the `docker` program itself) that runs a server in a
 * hardened container, wrapping the Deno argv built for it.
 *
 * The container gets `-i --rm` (no `-t`: stdio carries JSON-RPC), `--pull never` (images are
 * fetched by the pull step only), `--read-only`, `--cap-drop ALL`, `--security-opt
 * no-new-privileges`, a non-root `--user`, process, memory (no swap), CPU and file-descriptor
 * limits, a `noexec,nosuid` size-capped tmpfs at `/tmp`, no log copy on disk (`--log-driver
 * none`), `--network none` when the server declares no network, the code volume read-only at
 * the image's `DENO_DIR`, declared paths bind-mounted at the same absolute path (read-only
 * unless write was granted; a read inside the code volume, such as a `${package_dir}` grant
 * resolved for docker, needs none), declared variables passed by name (values never in argv,
 * except the non-secret ones in `options.env`), and labels so leftovers can be found.
 *
 * @param server A resolved server.
 * @param denoArgs The Deno argv (from `denoRunArgs` with {@linkcode CONTAINER_LOCK_FILE}).
 * @param options Image, volume, name, limits, environment.
 * @returns The argv to pass to `docker`.
 * @throws {RangeError} When a path, name, limit or image cannot be written safely (a path with
 *   `,` or `"`, a mount over `/tmp` or the code volume, a root user, …).
 * @throws {TypeError} When an environment name is invalid or collides with a fixed one.
 *
 * @example
 * ```ts
 * import { dockerRunArgs } from "./docker_args.ts";
 * const argv = dockerRunArgs({
 *   name: "memory", specifier: "npm:x@1.0.0", args: [], read: ["/data"], write: ["/data"],
 *   net: [], denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * }, ["run", "npm:x@1.0.0"], { volume: "mcp-run-cache-memory", nameSuffix: "a1b2" });
 * console.log(argv.includes("--network"), argv[argv.indexOf("--network") + 1]); // true "none"
 * console.log(argv.includes("type=bind,src=/data,dst=/data")); // true
 * ```
 */
export function dockerRunArgs(
  server: ResolvedServer,
  denoArgs: string[],
  options: DockerRunOptions = {},
): string[] {
  const image = checkImageReference(options.image ?? DENO_IMAGE);
  const volume = checkVolume(options.volume ?? dockerVolumeName(server, { image }));
  const writable = new Set(server.write);
  const readOnly = [
    // Reads inside the code volume (a `${package_dir}` grant) need no mount: it is mounted whole.
    ...server.read.filter((p) => !p.startsWith(`${CONTAINER_DENO_DIR}/`)),
    ...(server.localDir ? [server.localDir] : []),
    ...(options.readOnlyPaths ?? []),
  ].filter((p) => !writable.has(p));
  const mounts = [
    ...[...new Set(readOnly)].map((p) => bindMount(p, true)),
    ...[...writable].map((p) => bindMount(p, false)),
  ];
  const network = server.net.length === 0 ? "none" : checkNetwork(options.network ?? "bridge");
  return [
    "run",
    "-i",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    ...commonArgs(server, options),
    "--network",
    network,
    "--mount",
    `type=volume,src=${volume},dst=${CONTAINER_DENO_DIR},readonly`,
    ...mounts.flatMap((m) => ["--mount", m]),
    ...(options.envFile === undefined ? [] : ["--env-file", checkEnvFile(options.envFile)]),
    ...envArgs(
      options.env ?? server.envValues,
      options.passEnv ?? defaultPassEnv(server, options.env ?? server.envValues),
    ),
    image,
    ...denoArgs,
  ];
}

/**
 * Builds the `docker` argv (without the `docker` program itself) of the pull container: it
 * fills the server's code volume with `deno cache --lock` (no server code runs) over a network
 * that reaches the package registries, with the same hardening as a run except that the volume
 * is writable. A local server's folder is mounted read-only so its imports can be cached.
 *
 * @param server A resolved server.
 * @param options Image, volume, network, limits, registry variables.
 * @returns The argv to pass to `docker`.
 * @throws {RangeError} When a path, name, limit or image cannot be written safely.
 * @throws {TypeError} When an environment name is invalid or collides with a fixed one.
 *
 * @example
 * ```ts
 * import { dockerPullArgs } from "./docker_args.ts";
 * const argv = dockerPullArgs({
 *   name: "memory", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { volume: "mcp-run-cache-memory" });
 * console.log(argv.slice(-4).join(" "));
 * // cache --no-config --lock=/deno-dir/deno.lock npm:x@1.0.0
 * ```
 */
export function dockerPullArgs(server: ResolvedServer, options: DockerPullOptions = {}): string[] {
  const image = checkImageReference(options.image ?? DENO_IMAGE);
  const volume = checkVolume(options.volume ?? dockerVolumeName(server, { image }));
  const readOnly = [
    ...(server.localDir ? [server.localDir] : []),
    ...(options.readOnlyPaths ?? []),
  ];
  const cache = denoCacheArgs(server, { lockFile: CONTAINER_LOCK_FILE });
  if (options.frozen) cache.splice(1, 0, "--frozen");
  return [
    "run",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    ...commonArgs(server, { ...options, labels: { ...options.labels, "mcp-run.role": "pull" } }),
    "--network",
    checkNetwork(options.network ?? "bridge"),
    "--mount",
    `type=volume,src=${volume},dst=${CONTAINER_DENO_DIR}`,
    ...[...new Set(readOnly)].flatMap((p) => ["--mount", bindMount(p, true)]),
    ...envArgs(options.env ?? {}, options.passEnv ?? []),
    image,
    ...cache,
  ];
}
function commonArgs(server: ResolvedServer, options: DockerCommonOptions): string[] {
  const limits = { ...DOCKER_LIMITS, ...definedOnly(options) };
  const user = checkContainerUser(options.user ?? CONTAINER_USER);
  checkDockerLimits(limits);
  const labels: Record<string, string> = {
    ...options.labels,
    [DOCKER_LABEL]: "1",
    [`${DOCKER_LABEL}.server`]: server.name,
  };
  for (const [key, value] of Object.entries(labels)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key) || /[\0\n\r]/.test(value)) {
      throw new RangeError(`Cannot write the label "${key}": keys are lowercase, values one line`);
    }
  }
  return [
    ...(options.nameSuffix !== undefined
      ? ["--name", dockerContainerName(server.name, options.nameSuffix)]
      : []),
    ...Object.keys(labels).sort().flatMap((key) => ["--label", `${key}=${labels[key]}`]),
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--user",
    user,
    "--pids-limit",
    String(limits.pidsLimit),
    "--memory",
    limits.memory,
    "--memory-swap",
    limits.memory,
    "--cpus",
    limits.cpus,
    "--ulimit",
    `nofile=${limits.nofile}:${limits.nofile}`,
    "--tmpfs",
    `/tmp:rw,noexec,nosuid,nodev,size=${limits.tmpfsSize}`,
  ];
}

function definedOnly(options: DockerCommonOptions): Partial<DockerLimits> {
  const out: Partial<DockerLimits> = {};
  for (const key of Object.keys(DOCKER_LIMITS) as (keyof DockerLimits)[]) {
    if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  }
  return out;
}

function defaultPassEnv(server: ResolvedServer, values: Record<string, string>): string[] {
  return server.env.filter((name) => !name.endsWith("*") && !(name in values));
}

function envArgs(values: Record<string, string>, names: string[]): string[] {
  const args = Object.entries(FIXED_ENV).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const seen = new Set<string>();
  const check = (name: string) => {
    if (!ENV_NAME_RE.test(name)) {
      throw new TypeError(`Cannot pass "${name}" to the container: not a valid variable name`);
    }
    if (name in FIXED_ENV) {
      throw new TypeError(`Cannot pass "${name}" to the container: mcp-run sets it itself`);
    }
    if (seen.has(name)) {
      throw new TypeError(`Cannot pass "${name}" to the container twice (by value and by name)`);
    }
    seen.add(name);
  };
  for (const [name, value] of Object.entries(values)) {
    check(name);
    if (value.includes("\0")) {
      throw new TypeError(`Cannot pass "${name}" to the container: its value contains a NUL byte`);
    }
    args.push("-e", `${name}=${value}`);
  }
  for (const name of names) {
    check(name);
    args.push("-e", name);
  }
  return args;
}

/** Paths that must never be mounted into a container (or that would shadow its runtime). */
const NEVER_MOUNTED = ["/proc", "/sys", "/dev", "/run", "/var/run", CONTAINER_DENO_DIR];

function bindMount(path: string, readOnly: boolean): string {
  const refuse = (why: string) =>
    new RangeError(`Cannot mount "${path}" into the container: ${why}`);
  if (!path.startsWith("/")) throw refuse("it is not an absolute path");
  const problem = dockerMountProblem(path);
  if (problem) throw refuse(problem);
  if (path.split("/").some((part) => part === "." || part === "..")) {
    throw refuse("it is not canonical (it contains . or ..)");
  }
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (clean === "/" || clean === "") throw refuse("the whole file system is never mounted");
  if (clean === "/tmp") {
    throw refuse("it would replace the container's private /tmp; grant a folder inside it");
  }
  if (clean.endsWith("/docker.sock")) throw refuse("the Docker socket is never mounted");
  for (const root of NEVER_MOUNTED) {
    if (clean === root || clean.startsWith(`${root}/`)) {
      throw refuse(`${root} is never mounted`);
    }
  }
  return `type=bind,src=${clean},dst=${clean}${readOnly ? ",readonly" : ""}`;
}
