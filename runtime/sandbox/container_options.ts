/**
 * What the container packages (`pypi:`, `oci:`) take besides the docker options, and how their
 * network is chosen: none, unless the egress proxy gives them one. Pure.
 *
 * @module
 */
import { packageKind } from "../policy/package_kind.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import type { DockerPullStepOptions } from "./docker_pull.ts";

/**
 * The network a container-package server with `net` grants gets from mcp-run's egress proxy:
 * Deno's flags do not reach inside these containers, so their network goes through the proxy.
 */
export interface ContainerEgress {
  /** The docker network to join: `container:<sidecar>` (the proxy's sidecar), or `none`. */
  network: string;
  /** Variables that point the server at the proxy (`HTTP_PROXY`, `HTTPS_PROXY`, …). */
  env: Record<string, string>;
  /** Host files the server needs to use the proxy (a socket, a CA file), mounted read-only. */
  readOnlyPaths?: string[];
}

/** Options of the container packages, on top of the docker options. */
export interface ContainerPackageOptions extends DockerPullStepOptions {
  /** The image `pypi:` packages are installed and run in (default `PYTHON_IMAGE`). */
  pythonImage?: string;
  /**
   * Build source distributions in the pull container (default false: a package that has no
   * wheel is refused, since building runs its code at install time).
   */
  allowBuild?: boolean;
  /**
   * The Deno image the egress sidecar's forwarder runs in (default `image`, then `DENO_IMAGE`).
   * Never the server's own image: `--image` chooses that one.
   */
  egressImage?: string;
  /** The egress proxy's network for servers with `net` grants (absent: they are refused). */
  egress?: ContainerEgress;
  /**
   * Write no `--name` (a client entry's command: two clients may start it at once; labels find
   * leftovers). The plan's `container` is then only a label for messages.
   */
  unnamed?: boolean;
}

const SIDECAR_RE = /^container:[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * Whether a `--network` value joins another container's namespace (`container:<name>`), as an
 * egress sidecar's is.
 *
 * @param network The value.
 * @returns Whether it names a container, by a valid container name.
 *
 * @example
 * ```ts
 * import { isSidecarNetwork } from "./container_options.ts";
 * console.log(isSidecarNetwork("container:mcp-run-x-a1-egress"), isSidecarNetwork("host")); // true false
 * ```
 */
export function isSidecarNetwork(network: string): boolean {
  return SIDECAR_RE.test(network);
}

/**
 * The `--network` of a container-package server: `none` when it declares no network; the egress
 * proxy's when it does and one is given; otherwise an error, never a bridge network (which
 * would let it reach any address).
 *
 * @param server The server.
 * @param egress The egress proxy's network, when it runs.
 * @returns The network name.
 * @throws {GrantError} `permissions.net` when the server declares network access and no egress
 *   proxy is given.
 * @throws {RangeError} When the egress network is neither `none` nor `container:<name>`.
 *
 * @example
 * ```ts
 * import { containerNetwork } from "./container_options.ts";
 * console.log(containerNetwork({ name: "t", specifier: "pypi:t@1.0", net: [] })); // "none"
 * ```
 */
export function containerNetwork(
  server: Pick<ResolvedServer, "name" | "specifier" | "net">,
  egress?: ContainerEgress,
): string {
  if (server.net.length === 0) return "none";
  if (!egress) {
    throw new GrantError(
      "permissions.net",
      `Cannot give "${server.name}" (${server.specifier}) network access: a ` +
        `${packageKind(server.specifier)} server runs in a container with no network of its own, ` +
        "and reaches granted hosts only through mcp-run's egress proxy, which this launch does " +
        `not start. Run it without network grants, or with a launcher that runs the proxy ` +
        `(granted: ${server.net.join(", ")})`,
    );
  }
  if (egress.network !== "none" && !isSidecarNetwork(egress.network)) {
    throw new RangeError(
      `Cannot use "${egress.network}" as the egress network: give container:<proxy sidecar>`,
    );
  }
  return egress.network;
}
