/**
 * Pure builders of `docker` argv: a hardened `docker run denoland/deno` wrapping the same Deno
 * argv as native mode, the pull container that fills a server's code volume, and the names
 * (container, volume) that let leftovers be found.
 *
 * @module
 */
import { denoCacheArgs } from "./flags.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** The image servers run in by default: the real Deno image, pinned (never `latest`). */
export const DENO_IMAGE = "denoland/deno:2.9.6";

/** Where the code volume is mounted inside the container; the image's `DENO_DIR`. */
export const CONTAINER_DENO_DIR = "/deno-dir";

/** The lockfile inside the code volume, written by the pull container. */
export const CONTAINER_LOCK_FILE = "/deno-dir/deno.lock";

/** The non-root user of the Deno image (`deno`, uid and gid 1993). */
export const CONTAINER_USER = "1993:1993";

/** Label every mcp-run container and volume carries, so leftovers can be found. */
export const DOCKER_LABEL = "mcp-run";

/** Resource limits applied to every container unless overridden. */
export const DOCKER_LIMITS: Readonly<DockerLimits> = {
  memory: "512m",
  cpus: "1",
  pidsLimit: 256,
  tmpfsSize: "64m",
  nofile: 4096,
};

/** Resource limits of one container. */
export interface DockerLimits {
  /** `--memory` (also `--memory-swap`, so the container cannot swap), e.g. `512m`. */
  memory: string;
  /** `--cpus`, e.g. `1` or `0.5`. */
  cpus: string;
  /** `--pids-limit`: most processes and threads at once. */
  pidsLimit: number;
  /** Size of the `noexec` tmpfs at `/tmp`, e.g. `64m`. */
  tmpfsSize: string;
  /** `--ulimit nofile`: most open file descriptors. */
  nofile: number;
}

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
const USER_RE = /^[0-9]+(:[0-9]+)?$/;
const SUFFIX_RE = /^[A-Za-z0-9]{1,32}$/;
const VOLUME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SIZE_RE = /^[0-9]+[bkmg]?$/i;
const CPUS_RE = /^[0-9]+(\.[0-9]+)?$/;

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

/** Options for {@linkcode dockerVolumeName}. */
export interface DockerVolumeNameOptions {
  /** The image the code is cached for (default {@linkcode DENO_IMAGE}). */
  image?: string;
}

/**
 * Names the code volume of a server: `mcp-run-cache-<name>-<hash>`, where the hash covers the
 * exact package and the image, so an upgrade of either gets a fresh cache and never mixes code.
 *
 * @param server The server (its `name` and `specifier` are used).
 * @param options The image.
 * @returns A valid docker volume name.
 *
 * @example
 * ```ts
 * import { dockerVolumeName } from "./docker_args.ts";
 * const name = dockerVolumeName({ name: "memory", specifier: "npm:x@1.0.0" });
 * console.log(/^mcp-run-cache-memory-[0-9a-f]{8}$/.test(name)); // true
 * ```
 */
export function dockerVolumeName(
  server: Pick<ResolvedServer, "name" | "specifier">,
  options: DockerVolumeNameOptions = {},
): string {
  const key = `${server.specifier}\n${options.image ?? DENO_IMAGE}`;
  return `mcp-run-cache-${safeName(server.name)}-${fnv1a(key)}`;
}

/**
 * Names a server's container predictably: `mcp-run-<name>-<suffix>`, characters docker does not
 * accept replaced by `_`.
 *
 * @param serverName The server's name.
 * @param suffix A short random suffix (letters and digits) that makes the name unique.
 * @returns A valid docker container name.
 * @throws {RangeError} When the suffix is not 1–32 letters or digits.
 *
 * @example
 * ```ts
 * import { dockerContainerName } from "./docker_args.ts";
 * console.log(dockerContainerName("my server", "x1")); // "mcp-run-my_server-x1"
 * ```
 */
export function dockerContainerName(serverName: string, suffix: string): string {
  if (!SUFFIX_RE.test(suffix)) {
    throw new RangeError(
      `Cannot name a container with suffix "${suffix}": use 1 to 32 letters or digits`,
    );
  }
  return `mcp-run-${safeName(serverName)}-${suffix}`;
}

/**
 * Checks resource limits before they reach `docker run`: sizes such as `512m`, a positive
 * `--cpus` number, positive whole process and file-descriptor counts. Pure.
 *
 * @param limits The limits to check (missing ones are not checked).
 * @throws {RangeError} Naming the option (`--memory`, `--cpus`, `--pids-limit`, …) and what it
 *   takes.
 *
 * @example
 * ```ts
 * import { checkDockerLimits } from "./docker_args.ts";
 * checkDockerLimits({ memory: "256m", cpus: "0.5" }); // fine
 * try {
 *   checkDockerLimits({ memory: "lots" });
 * } catch (error) {
 *   console.log((error as Error).message); // Cannot use "lots" as --memory: give a size such as 512m
 * }
 * ```
 */
export function checkDockerLimits(limits: Partial<DockerLimits>): void {
  for (const [flag, value] of [["--memory", limits.memory], ["the tmpfs size", limits.tmpfsSize]]) {
    if (value !== undefined && !SIZE_RE.test(value)) {
      throw new RangeError(`Cannot use "${value}" as ${flag}: give a size such as 512m`);
    }
  }
  const cpus = limits.cpus;
  if (cpus !== undefined && (!CPUS_RE.test(cpus) || Number(cpus) <= 0)) {
    throw new RangeError(`Cannot use "${cpus}" as --cpus: give a positive number such as 1 or 0.5`);
  }
  for (const [flag, value] of [["--pids-limit", limits.pidsLimit], ["nofile", limits.nofile]]) {
    if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 1)) {
      throw new RangeError(`Cannot use "${value}" as ${flag}: give a positive whole number`);
    }
  }
}

/**
 * Checks that an image reference is pinned: it names a version tag other than `latest`, or a
 * digest (`@sha256:…`). A moving or missing tag would let a registry change what runs. Pure.
 *
 * @param image The image reference, e.g. `denoland/deno:2.9.6`.
 * @returns The image, unchanged.
 * @throws {RangeError} When it is empty or malformed, has no tag, or is tagged `latest` (the
 *   message says what to give instead).
 *
 * @example
 * ```ts
 * import { checkImageReference } from "./docker_args.ts";
 * console.log(checkImageReference("denoland/deno:2.9.6")); // "denoland/deno:2.9.6"
 * try {
 *   checkImageReference("denoland/deno:latest");
 * } catch (error) {
 *   console.log(error instanceof RangeError); // true
 * }
 * ```
 */
export function checkImageReference(image: string): string {
  if (image === "" || image.startsWith("-") || /[\s\0]/.test(image)) {
    throw new RangeError(`Cannot use "${image}" as the image: give a name such as ${DENO_IMAGE}`);
  }
  const at = image.indexOf("@");
  const name = at === -1 ? image : image.slice(0, at);
  if (at !== -1 && /^sha256:[0-9a-f]{64}$/.test(image.slice(at + 1))) return image;
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "";
  if (at !== -1 || tag === "" || tag === "latest") {
    const why = at !== -1
      ? "its digest is not sha256:<64 hex digits>"
      : tag === ""
      ? "it has no tag, which means latest"
      : "latest is a moving tag";
    throw new RangeError(
      `Cannot use "${image}" as the image: ${why}, so a registry could change what runs. Give ` +
        `a pinned version such as ${DENO_IMAGE} (or a digest, name@sha256:…)`,
    );
  }
  return image;
}

/**
 * Tells why a host path cannot be written into a docker `--mount` value, if it cannot: docker's
 * comma-separated `--mount` syntax cannot carry `,` or `"` (nor line breaks) safely. Pure.
 *
 * @param path An absolute host path.
 * @returns The reason, or `undefined` when the path can be mounted.
 *
 * @example
 * ```ts
 * import { dockerMountProblem } from "./docker_args.ts";
 * console.log(dockerMountProblem("/data/a,b") !== undefined); // true
 * console.log(dockerMountProblem("/data/ab")); // undefined
 * ```
 */
export function dockerMountProblem(path: string): string | undefined {
  if (!/[,"\n\r\0]/.test(path)) return undefined;
  return 'paths containing "," or \'"\' or line breaks cannot be written as a docker --mount ' +
    "value. Rename the folder, or use --isolation deno";
}

function commonArgs(server: ResolvedServer, options: DockerCommonOptions): string[] {
  const limits = { ...DOCKER_LIMITS, ...definedOnly(options) };
  const user = options.user ?? CONTAINER_USER;
  if (!USER_RE.test(user)) {
    throw new RangeError(`Cannot run as user "${user}": give a numeric uid:gid such as 1993:1993`);
  }
  if (Number(user.split(":")[0]) === 0) {
    throw new RangeError(
      `Cannot run as user "${user}": containers never run as root; give a non-root uid:gid`,
    );
  }
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

function checkEnvFile(path: string): string {
  if (!path.startsWith("/") || /[\0\n\r]/.test(path)) {
    throw new RangeError(`Cannot use "${path}" as the env file: give an absolute path`);
  }
  return path;
}

function checkVolume(volume: string): string {
  if (!VOLUME_RE.test(volume)) {
    throw new RangeError(
      `Cannot use "${volume}" as the code volume: use letters, digits, ".", "_" or "-"`,
    );
  }
  return volume;
}

function checkNetwork(network: string): string {
  if (!VOLUME_RE.test(network)) {
    throw new RangeError(`Cannot use "${network}" as the network: give a docker network name`);
  }
  if (network === "container") {
    throw new RangeError(`Cannot join another container's network ("${network}")`);
  }
  return network;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}
