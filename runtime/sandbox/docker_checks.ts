/**
 * Checks on what may reach a `docker` argv: resource limits, a pinned image, host paths that a
 * `--mount` value can carry (and a server's grants that are such paths), and the user, volume,
 * network and env-file names. Pure.
 *
 * @module
 */
import { CONTAINER_DENO_DIR, DENO_IMAGE } from "./docker_names.ts";
import { GrantError } from "../policy/grant_error.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { DEFAULT_LIMITS } from "./resource_caps.ts";

/**
 * Resource limits applied to every container unless overridden; the memory is the process cap
 * natively (`DEFAULT_LIMITS.memoryMb`), one setting for both isolations.
 */
export const DOCKER_LIMITS: Readonly<DockerLimits> = {
  memory: `${DEFAULT_LIMITS.memoryMb}m`,
  cpus: "1",
  pidsLimit: 256,
  tmpfsSize: "64m",
  nofile: 4096,
};

/**
 * The process cap of a container under gVisor when none is given: gVisor's own threads count
 * against it (an idle Deno server holds about 60 host tasks under gVisor, 7 under runc, and each
 * process the server starts adds about 6), so docker's default would leave a server about 30.
 */
export const GVISOR_PIDS_LIMIT = 1024;

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

const USER_RE = /^[0-9]+(:[0-9]+)?$/;
const VOLUME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SIZE_RE = /^[0-9]+[bkmg]?$/i;

/** The smallest `--memory` Docker accepts: 6 MiB. */
const MIN_MEMORY_BYTES = 6 * 1024 ** 2;

/** The bytes of a size that matches `SIZE_RE` (`512m`; no unit is bytes). */
function sizeBytes(size: string): number {
  const unit = size.at(-1)!.toLowerCase();
  const power = "bkmg".indexOf(unit);
  return power < 0 ? Number(size) : Number(size.slice(0, -1)) * 1024 ** power;
}
const CPUS_RE = /^[0-9]+(\.[0-9]+)?$/;

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
 * import { checkDockerLimits } from "./docker_checks.ts";
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
  if (limits.memory !== undefined && sizeBytes(limits.memory) < MIN_MEMORY_BYTES) {
    throw new RangeError(
      `Cannot use "${limits.memory}" as --memory: the engine's smallest memory limit is 6m ` +
        "(a size without a unit is in bytes); give a size such as 512m",
    );
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
 * import { checkImageReference } from "./docker_checks.ts";
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
 * import { dockerMountProblem } from "./docker_checks.ts";
 * console.log(dockerMountProblem("/data/a,b") !== undefined); // true
 * console.log(dockerMountProblem("/data/ab")); // undefined
 * ```
 */
export function dockerMountProblem(path: string): string | undefined {
  if (!/[,"\n\r\0]/.test(path)) return undefined;
  return 'paths containing "," or \'"\' or line breaks cannot be written as a docker --mount ' +
    "value. Rename the folder (or, for a Deno server, use --isolation deno)";
}

/**
 * Refuses a server whose grants docker cannot mount: a read or write grant, or a local server's
 * folder, whose path a `--mount` value cannot carry (see {@linkcode dockerMountProblem}). Reads
 * inside the code volume (a `${package_dir}` grant) are not mounts. Every docker plan, pull and
 * prepare checks this first, so a refused server is reported as a grant error (exit 3) before
 * anything is fetched or started. Pure.
 *
 * @param server The resolved server.
 * @throws {GrantError} Naming the grant (`permissions.read`, `permissions.write`, `package`) and
 *   what to do.
 *
 * @example
 * ```ts
 * import { checkDockerMounts } from "./docker_checks.ts";
 * checkDockerMounts({ read: ["/data/ab"], write: [] }); // fine
 * try {
 *   checkDockerMounts({ read: ["/data/a,b"], write: [] });
 * } catch (error) {
 *   console.log((error as Error).name); // GrantError
 * }
 * ```
 */
export function checkDockerMounts(
  server: Pick<ResolvedServer, "read" | "write" | "localDir">,
): void {
  for (const kind of ["read", "write"] as const) {
    for (const path of server[kind]) {
      if (path.startsWith(`${CONTAINER_DENO_DIR}/`)) continue;
      const problem = dockerMountProblem(path);
      if (problem) {
        throw new GrantError(
          `permissions.${kind}`,
          `Cannot grant ${kind} access to "${path}" in docker: ${problem}`,
        );
      }
    }
  }
  const problem = server.localDir ? dockerMountProblem(server.localDir) : undefined;
  if (problem) {
    throw new GrantError(
      "package",
      `Cannot mount "${server.localDir}" into the container: ${problem}`,
    );
  }
}

/**
 * Checks the `--user` of a container: a numeric `uid:gid` (or `uid`), never root. Pure.
 *
 * @param user The user, e.g. `1993:1993`.
 * @returns The user, unchanged.
 * @throws {RangeError} When it is not numeric, or is root.
 *
 * @example
 * ```ts
 * import { checkContainerUser } from "./docker_checks.ts";
 * console.log(checkContainerUser("1000:1000")); // "1000:1000"
 * ```
 */
export function checkContainerUser(user: string): string {
  if (!USER_RE.test(user)) {
    throw new RangeError(`Cannot run as user "${user}": give a numeric uid:gid such as 1993:1993`);
  }
  if (Number(user.split(":")[0]) === 0) {
    throw new RangeError(
      `Cannot run as user "${user}": containers never run as root; give a non-root uid:gid`,
    );
  }
  return user;
}

/**
 * Checks the `--env-file` path: absolute, on one line. Pure.
 *
 * @param path The path.
 * @returns The path, unchanged.
 * @throws {RangeError} When it is not absolute or spans lines.
 *
 * @example
 * ```ts
 * import { checkEnvFile } from "./docker_checks.ts";
 * console.log(checkEnvFile("/home/ada/.env")); // "/home/ada/.env"
 * ```
 */
export function checkEnvFile(path: string): string {
  if (!path.startsWith("/") || /[\0\n\r]/.test(path)) {
    throw new RangeError(`Cannot use "${path}" as the env file: give an absolute path`);
  }
  return path;
}

/**
 * Checks a code volume's name: letters, digits, `.`, `_` or `-`. Pure.
 *
 * @param volume The volume's name.
 * @returns The name, unchanged.
 * @throws {RangeError} When it holds other characters.
 *
 * @example
 * ```ts
 * import { checkVolume } from "./docker_checks.ts";
 * console.log(checkVolume("mcp-run-cache-memory")); // "mcp-run-cache-memory"
 * ```
 */
export function checkVolume(volume: string): string {
  if (!VOLUME_RE.test(volume)) {
    throw new RangeError(
      `Cannot use "${volume}" as the code volume: use letters, digits, ".", "_" or "-"`,
    );
  }
  return volume;
}

/**
 * Checks a docker network's name; joining another container's network is refused. Pure.
 *
 * @param network The network's name.
 * @returns The name, unchanged.
 * @throws {RangeError} When it is not a plain network name, or is `container`.
 *
 * @example
 * ```ts
 * import { checkNetwork } from "./docker_checks.ts";
 * console.log(checkNetwork("bridge")); // "bridge"
 * ```
 */
export function checkNetwork(network: string): string {
  if (!VOLUME_RE.test(network)) {
    throw new RangeError(`Cannot use "${network}" as the network: give a docker network name`);
  }
  if (network === "container") {
    throw new RangeError(`Cannot join another container's network ("${network}")`);
  }
  return network;
}
