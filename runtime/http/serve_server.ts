/**
 * `mcp-run serve` as a function: a resolved server, sandboxed exactly as `run` starts it, served
 * over MCP Streamable HTTP with one process per session (or one shared process).
 *
 * @module
 */
import { type HttpBridgeServer, serveHttpBridge, type ServeHttpBridgeOptions } from "./serve.ts";
import {
  denoLaunchPlan,
  prepareServer,
  type PrepareServerOptions,
} from "../sandbox/launch_plan.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import {
  type ServerProcess,
  spawnServer,
  type SpawnServerOptions,
} from "../sandbox/server_process.ts";
import { ProcessTransport } from "../sandbox/stdio_transport.ts";

/** Options for {@linkcode serveServer}. */
export interface ServeServerOptions
  extends Omit<ServeHttpBridgeOptions, "connect">, PrepareServerOptions, SpawnServerOptions {
  /**
   * Makes the server ready before listening: pull when needed and check the cache. Default:
   * {@linkcode prepareServer} (docker isolation passes its own).
   */
  prepare?: () => Promise<{ verify(): Promise<unknown> }>;
  /**
   * Starts one server process; called once per process (per session in isolated mode), so a
   * launcher that needs unique names (a docker container) can make them. Default: the native
   * Deno launch plan through {@linkcode spawnServer}.
   */
  spawn?: () => ServerProcess;
}

/**
 * Prepares a server (pull and verify, as `run` does), then serves it over Streamable HTTP: each
 * session starts its own sandboxed process, which receives nothing from the HTTP request but
 * JSON-RPC messages.
 *
 * Requires `--allow-net` for the listening address, `--allow-run` for Deno (or docker) and
 * read/write access to the cache root.
 *
 * @param server A resolved server.
 * @param options Cache root, launch plan, address, tokens, allow lists and limits.
 * @returns The listening bridge; `shutdown()` ends every process.
 * @throws {CacheError} When the cache is missing or tampered with.
 * @throws {RangeError} When listening beyond loopback without a token.
 * @example
 * ```ts ignore
 * import { cacheRoot, loadManifest, resolveServer, serveServer } from "jsr:@sandboxed/mcp-run";
 * const root = cacheRoot();
 * const { manifest } = await loadManifest("everything");
 * const served = await serveServer(resolveServer(manifest, { cacheRoot: root }), {
 *   cacheRoot: root,
 *   port: 8808,
 * });
 * console.log(served.url); // http://127.0.0.1:8808/mcp
 * ```
 */
export async function serveServer(
  server: ResolvedServer,
  options: ServeServerOptions,
): Promise<HttpBridgeServer> {
  const prepared = await (options.prepare?.() ?? prepareServer(server, options));
  await prepared.verify();
  let spawn = options.spawn;
  if (spawn === undefined) {
    const plan = denoLaunchPlan(server, options);
    spawn = () => spawnServer(server.name, plan, options);
  }
  const start = spawn;
  return await serveHttpBridge({
    ...options,
    connect: () => Promise.resolve(new ProcessTransport(start())),
  });
}
