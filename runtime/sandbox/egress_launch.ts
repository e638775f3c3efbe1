/**
 * One container's way out: the egress proxy on a Unix socket in a folder only the launcher can
 * enter, and the sidecar whose network namespace the container joins. A container with network
 * grants (a Python or OCI server, or the pull container that may reach only the package index)
 * gets exactly those grants, checked after the proxy's own resolution; traffic that ignores the
 * proxy has no route.
 *
 * @module
 */
import { join } from "../_path.ts";
import { writeEgressForwarder } from "./egress_forwarder.ts";
import { egressSocketDir, forwarderOf } from "./egress_inside.ts";
import { type EgressProxy, type EgressRefusal, startEgressProxy } from "./egress_proxy.ts";
import {
  egressClientEnv,
  egressNetwork,
  type EgressSidecar,
  egressSidecarName,
  startEgressSidecar,
} from "./egress_sidecar.ts";
import type { DockerCommandOptions } from "./docker_engine.ts";

/** Options for {@linkcode startEgress}. */
export interface StartEgressOptions extends DockerCommandOptions {
  /** mcp-run's cache root: the socket and the forwarder live under `egress/` in it. */
  cacheRoot: string;
  /** The server's name, for the sidecar's name and labels. */
  serverName: string;
  /** The suffix of the server's container name (the sidecar is `<container>-egress`). */
  suffix: string;
  /** Grants as `ResolvedServer.net` holds them. */
  allow: string[];
  /** Addresses refused after resolution (`ResolvedServer.denyNet`). */
  deny: string[];
  /** The Deno image the forwarder runs in. */
  image?: string;
  /** Extra labels of the sidecar (the launcher's, so leftovers are found). */
  labels?: Record<string, string>;
  /** Called for each refused connection (default: one line to stderr). */
  onRefusal?: (refusal: EgressRefusal) => void;
  /**
   * Proxy only, no sidecar: the forwarder runs inside the server's container (see
   * `insideEgress`). The proxy listens on `socketPath` (its folder is made, mode 0700, and
   * removed on stop), and the forwarder is written into `forwarderDir`.
   */
  inside?: { socketPath: string; forwarderDir: string; runtime: "deno" | "python" };
}

/** A running egress path for one container. */
export interface Egress {
  /** The `--network` value of the container: the sidecar's namespace, or `none` (`inside`). */
  readonly network: string;
  /** The proxy variables the container gets. */
  readonly env: Readonly<Record<string, string>>;
  /** What the proxy refused so far. */
  readonly refusals: readonly EgressRefusal[];
  /** Removes the sidecar and closes the proxy; again is a no-op. */
  stop(): Promise<void>;
}

/**
 * Starts the egress proxy and its sidecar for one container; with `inside`, the proxy alone, on
 * the planned socket, and the forwarder written for the container to run. Requires
 * `--allow-run=docker`, `--allow-net` for the grants and for `unix:` sockets, and write access
 * to the cache root.
 *
 * @param options Cache root, names, grants, image, docker client; the inside egress.
 * @returns The network and environment for the container, and how to stop both.
 * @throws {Error} When the sidecar does not start (with its log); nothing is left running.
 * @throws {RangeError} When `inside.socketPath` is not `proxy.sock` in this launch's socket
 *   folder (`<cacheRoot>/egress/socket-<suffix>`).
 *
 * @example
 * ```ts ignore
 * import { startEgress } from "./egress_launch.ts";
 * const egress = await startEgress({
 *   cacheRoot: "/tmp/cache", serverName: "fetch", suffix: "a1b2",
 *   allow: ["example.com"], deny: ["10.0.0.0/8"],
 * });
 * // docker run --network <egress.network> -e HTTPS_PROXY=… …
 * await egress.stop();
 * ```
 */
export async function startEgress(options: StartEgressOptions): Promise<Egress> {
  const base = join(options.cacheRoot, "egress");
  const inside = options.inside;
  const planned = inside ? insideSocketDir(options, inside.socketPath) : undefined;
  await Deno.mkdir(base, { recursive: true });
  await removeDeadSockets(base);
  // The socket accepts anyone who can reach it (the container user is not the launcher's):
  // only the launcher may enter its folder; the container gets the socket file itself.
  const dir = planned ?? await Deno.makeTempDir({ dir: base, prefix: "socket-" });
  if (planned) {
    // Named after this launch's container: one left by a launcher that died goes first.
    await Deno.remove(planned, { recursive: true }).catch(() => {});
    await Deno.mkdir(planned, { mode: 0o700 });
  }
  await Deno.chmod(dir, 0o700);
  let proxy: EgressProxy | undefined;
  let sidecar: EgressSidecar | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await sidecar?.stop().catch(() => {});
    await proxy?.close().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    if (inside) await writeEgressForwarder(inside.forwarderDir, forwarderOf(inside.runtime));
    proxy = await startEgressProxy({
      socketPath: join(dir, "proxy.sock"),
      allow: options.allow,
      deny: options.deny,
      onRefusal: options.onRefusal,
    });
    if (!inside) {
      sidecar = await startEgressSidecar({
        name: egressSidecarName(options.serverName, options.suffix),
        socketPath: proxy.socketPath,
        forwarderDir: join(base, "forwarder"),
        image: options.image,
        serverName: options.serverName,
        labels: options.labels,
        docker: options.docker,
        env: options.env,
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const running = proxy;
  return {
    network: sidecar ? egressNetwork(sidecar.name) : "none",
    env: egressClientEnv(),
    get refusals() {
      return running.refusals;
    },
    stop,
  };
}

/**
 * The socket folder of an inside egress, which the launch removes and makes again: only this
 * launch's own (`egressSocketDir`), never a folder a plan names.
 */
function insideSocketDir(options: StartEgressOptions, socketPath: string): string {
  const dir = egressSocketDir(options.cacheRoot, options.suffix);
  if (socketPath !== join(dir, "proxy.sock")) {
    throw new RangeError(
      `Cannot start the egress proxy on "${socketPath}": a launch's proxy listens only on ` +
        `${join(dir, "proxy.sock")}, in the socket folder named after its container. Plan the ` +
        "launch again (insideEgress) instead of editing its socket path",
    );
  }
  return dir;
}

/**
 * Removes the socket folders of launchers that died without closing their proxy (SIGKILL): no
 * one answers on the socket, and the folder is older than a start takes (a minute).
 *
 * @param base The `egress` folder of the cache root.
 * @returns When they are gone (best effort).
 *
 * @example
 * ```ts ignore
 * import { removeDeadSockets } from "./egress_launch.ts";
 * await removeDeadSockets("/home/ada/.cache/mcp-run/egress");
 * ```
 */
export async function removeDeadSockets(base: string): Promise<void> {
  const now = Date.now();
  for await (const entry of Deno.readDir(base)) {
    if (!entry.isDirectory || !entry.name.startsWith("socket-")) continue;
    const dir = join(base, entry.name);
    try {
      const made = (await Deno.stat(dir)).mtime?.getTime() ?? now;
      if (now - made < 60_000) continue;
      const conn = await Deno.connect({ transport: "unix", path: join(dir, "proxy.sock") });
      conn.close();
    } catch {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
}
