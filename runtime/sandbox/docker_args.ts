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
  checkEnvFile,
  checkImageReference,
  checkNetwork,
  checkVolume,
  type DockerLimits,
} from "./docker_checks.ts";
import {
  CONTAINER_DENO_DIR,
  CONTAINER_LOCK_FILE,
  DENO_IMAGE,
  dockerVolumeName,
} from "./docker_names.ts";
import type { InsideEgress } from "./egress_inside.ts";
import {
  bindMount,
  defaultPassEnv,
  envArgs,
  hardeningArgs,
  serverRunHead,
} from "./_container_hardening.ts";

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
  /** `--user` as `uid:gid` (default `CONTAINER_USER`, the Deno image's user); root is refused. */
  user?: string;
  /** Variables whose values are written into argv (`-e NAME=value`): never secrets. */
  env?: Record<string, string>;
  /** Variables passed by name only (`-e NAME`): docker copies the value from its own environment. */
  passEnv?: string[];
  /** More labels (`mcp-run` and `mcp-run.server` are always set). */
  labels?: Record<string, string>;
  /** More host files mounted read-only at the same place (a CA file named by `DENO_CERT`). */
  readOnlyPaths?: string[];
  /**
   * Existing paths inside write grants mounted read-only over them (see
   * `existingProtectedPaths`).
   */
  protectedPaths?: string[];
}

/** Options for {@linkcode dockerRunArgs}. */
export interface DockerRunOptions extends DockerCommonOptions {
  /**
   * The network for a server that declares network access (default `bridge`); a server that
   * declares none always gets `none`, whatever this says.
   */
  network?: string;
  /**
   * The engine's OCI runtime (`--runtime`; `runsc` for gVisor). Default: the engine's default.
   */
  runtime?: string;
  /**
   * An absolute path passed as `--env-file`: secret values for clients that cannot reference a
   * secret (the file is the user's, mode 0600). Its names must not also be in `passEnv`.
   */
  envFile?: string;
  /**
   * Egress from inside the container (see `insideEgress`), for a server with `net` grants under
   * a runtime whose containers cannot share a sidecar's loopback (gVisor): the container gets
   * `--network none`, the proxy's socket and the forwarder mounted read-only, the proxy
   * variables, and its command wrapped so that the forwarder runs first.
   */
  inside?: Pick<InsideEgress, "mounts" | "env" | "command">;
}

/** Options for {@linkcode dockerPullArgs}. */
export interface DockerPullOptions extends DockerCommonOptions {
  /** The network that reaches the package registries (default `bridge`). */
  network?: string;
  /** Enforce an existing lockfile in the volume (`--frozen`): a re-pull must get the same code. */
  frozen?: boolean;
}

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
 * resolved for docker, needs none), the protected paths inside write grants that exist
 * read-only over them, declared variables passed by name (values never in argv,
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
    // Deno denies these paths too; a mount also holds when the server renames a folder above.
    ...[...new Set(options.protectedPaths ?? [])].filter((p) => !writable.has(p))
      .map((p) => bindMount(p, true)),
  ];
  const inside = server.net.length > 0 ? options.inside : undefined;
  const network = server.net.length === 0 || inside
    ? "none"
    : checkNetwork(options.network ?? "bridge");
  // The proxy variables last: nothing else may point the server elsewhere.
  const values = { ...(options.env ?? server.envValues), ...inside?.env };
  return [
    ...serverRunHead(server, options, network),
    "--mount",
    `type=volume,src=${volume},dst=${CONTAINER_DENO_DIR},readonly`,
    ...mounts.flatMap((m) => ["--mount", m]),
    ...(inside?.mounts ?? []).flatMap((m) => ["--mount", m]),
    ...(options.envFile === undefined ? [] : ["--env-file", checkEnvFile(options.envFile)]),
    ...envArgs(
      FIXED_ENV,
      values,
      options.passEnv ?? defaultPassEnv(server, values),
    ),
    image,
    // The image's entry script runs any command given (`sh`), and `deno` for Deno's own.
    ...(inside ? [...inside.command, "deno"] : []),
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
    ...hardeningArgs(server, { ...options, labels: { ...options.labels, "mcp-run.role": "pull" } }),
    "--network",
    checkNetwork(options.network ?? "bridge"),
    "--mount",
    `type=volume,src=${volume},dst=${CONTAINER_DENO_DIR}`,
    ...[...new Set(readOnly)].flatMap((p) => ["--mount", bindMount(p, true)]),
    ...envArgs(FIXED_ENV, options.env ?? {}, options.passEnv ?? []),
    image,
    ...cache,
  ];
}
