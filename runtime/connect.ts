/**
 * Connect an MCP SDK client to a sandboxed server: the building block of `inspect` and `call`.
 *
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  denoLaunchPlan,
  type LaunchPlan,
  prepareServer,
  type PrepareServerOptions,
} from "./launch_plan.ts";
import type { ResolvedServer } from "./resolve.ts";
import { type ServerProcess, spawnServer, type SpawnServerOptions } from "./server_process.ts";
import { ProcessTransport } from "./stdio_transport.ts";

/** Options for {@linkcode connectServer}. */
export interface ConnectServerOptions extends PrepareServerOptions, SpawnServerOptions {
  /** A launch plan to use instead of the native one (docker isolation builds its own). */
  plan?: LaunchPlan;
  /**
   * Prepares and starts the server instead of the native pull + spawn (docker isolation passes
   * one); `plan` is then ignored. `verify` is awaited before the client talks to the server.
   */
  start?: () => Promise<{ process: ServerProcess; verify?: () => Promise<unknown> }>;
  /** The client's name in `initialize` (default `mcp-run`). */
  clientName?: string;
}

/** A connected client and the way to stop its server. */
export interface ConnectedServer {
  /** The MCP SDK client, initialized. */
  client: Client;
  /** The transport (and through it, the process). */
  transport: ProcessTransport;
  /** Closes the client and stops the server for sure. */
  close(): Promise<void>;
}

/**
 * Prepares (pull, verify), starts and initializes a server, returning a connected MCP client.
 *
 * Requires `--allow-run` for Deno (or docker) and read/write access to the cache root.
 *
 * @param server A resolved server.
 * @param options Cache root, environment, bounds, an optional launch plan.
 * @returns The connected client.
 * @throws {CacheError} When the cache is missing or tampered with.
 * @throws {ServerExitedError} When the server exits before initializing.
 *
 * @example
 * ```ts ignore
 * import { cacheRoot, connectServer, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 * const { manifest } = await loadManifest("everything");
 * const root = cacheRoot();
 * const server = await connectServer(resolveServer(manifest, { cacheRoot: root }), { cacheRoot: root });
 * console.log((await server.client.listTools()).tools.length);
 * await server.close();
 * ```
 */
export async function connectServer(
  server: ResolvedServer,
  options: ConnectServerOptions,
): Promise<ConnectedServer> {
  let process: ServerProcess;
  let verify: () => Promise<unknown> = () => Promise.resolve();
  if (options.start) {
    const started = await options.start();
    process = started.process;
    if (started.verify) verify = started.verify;
  } else {
    const prepared = await prepareServer(server, options);
    verify = prepared.verify;
    process = spawnServer(server.name, options.plan ?? denoLaunchPlan(server, options), options);
  }
  const transport = new ProcessTransport(process);
  try {
    await verify();
  } catch (error) {
    await transport.close();
    throw error;
  }
  // Loaded on use, so the CLI's `run` path starts without the SDK.
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const client = new Client({ name: options.clientName ?? "mcp-run", version: "0.1.0" });
  let exited: Error | undefined;
  transport.onerror = (error) => exited = error;
  try {
    await client.connect(transport);
  } catch (error) {
    await transport.close();
    throw exited ?? error;
  }
  return {
    client,
    transport,
    close: async () => {
      await client.close().catch(() => {});
      await transport.close();
    },
  };
}
