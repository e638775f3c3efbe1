/**
 * The fixed names of docker isolation: the default image, the places inside the container, the
 * label that finds leftovers, and how code volumes and containers are named. Pure.
 *
 * @module
 */
import { fnv1a32 } from "./_fnv1a.ts";
import { CONTAINER_DENO_DIR } from "../policy/package_dir.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** Where the code volume is mounted inside the container; the image's `DENO_DIR`. */
export { CONTAINER_DENO_DIR };

/** The image servers run in by default: the real Deno image, pinned (never `latest`). */
export const DENO_IMAGE = "denoland/deno:2.9.6";

/** The engine runtime gVisor is registered as by default (a `runtimes` key of `daemon.json`). */
export const GVISOR_RUNTIME = "runsc";

/**
 * The folder inside a container that holds the egress proxy's socket and the forwarder, when
 * the forwarder runs inside the server's own container (see `insideEgress`). Never a grant's.
 */
export const INSIDE_EGRESS_DIR = "/mcp-run-egress";

/** Where the egress proxy's socket is mounted inside the container. */
export const INSIDE_PROXY_SOCKET = `${INSIDE_EGRESS_DIR}/proxy.sock`;

/** The port the egress forwarder listens on, on 127.0.0.1 (the sidecar's, or inside). */
export const EGRESS_PORT = 3128;

/** The lockfile inside the code volume, written by the pull container. */
export const CONTAINER_LOCK_FILE = "/deno-dir/deno.lock";

/** The non-root user of the Deno image (`deno`, uid and gid 1993). */
export const CONTAINER_USER = "1993:1993";

/** Label every mcp-run container and volume carries, so leftovers can be found. */
export const DOCKER_LABEL = "mcp-run";

const SUFFIX_RE = /^[A-Za-z0-9]{1,32}$/;

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
 * import { dockerVolumeName } from "./docker_names.ts";
 * const name = dockerVolumeName({ name: "memory", specifier: "npm:x@1.0.0" });
 * console.log(/^mcp-run-cache-memory-[0-9a-f]{8}$/.test(name)); // true
 * ```
 */
export function dockerVolumeName(
  server: Pick<ResolvedServer, "name" | "specifier">,
  options: DockerVolumeNameOptions = {},
): string {
  const key = `${server.specifier}\n${options.image ?? DENO_IMAGE}`;
  return `mcp-run-cache-${safeName(server.name)}-${fnv1a32(key, "utf-8")}`;
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
 * import { dockerContainerName } from "./docker_names.ts";
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

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}
