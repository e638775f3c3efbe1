/**
 * `mcp-run serve` as a function: a resolved server, sandboxed exactly as `run` starts it, served
 * over MCP Streamable HTTP with one process per session (or one shared process).
 *
 * @module
 */
import { type HttpBridgeServer, serveHttpBridge, type ServeHttpBridgeOptions } from "./serve.ts";
import type { LaunchPlan, PrepareServerOptions } from "../sandbox/launch_plan.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { SpawnServerOptions } from "../sandbox/server_process.ts";
import { DenoSandbox } from "../sandbox/deno_sandbox.ts";
import type { AuditChannel } from "../learn/audit_channel.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { ProcessTransport } from "../sandbox/stdio_transport.ts";
import { GuardedTransport } from "../guard/guarded_transport.ts";
import type { GuardStage } from "../guard/stage.ts";

/** Options for {@linkcode serveServer}. */
export interface ServeServerOptions
  extends Omit<ServeHttpBridgeOptions, "connect">, PrepareServerOptions, SpawnServerOptions {
  /**
   * The sandbox every process starts in (default: a {@linkcode DenoSandbox} made from these
   * options). Each process gets a fresh plan from it, so one that owns a name (a docker
   * container) gets its own.
   */
  sandbox?: Sandbox;
  /**
   * Opens the audit channel of each process (see `openAuditChannel`), so that each session's
   * refused accesses are recorded; the channel given as `audit` is not used (one per process).
   */
  openAudit?: () => Promise<AuditChannel | undefined>;
  /**
   * The MCP-layer guard's checks for each process, made fresh per process (they keep state);
   * default: no guard.
   */
  guardStages?: () => GuardStage[];
  /** Where the guard's notices go (default: stderr). */
  guardLog?: (line: string) => void;
}

/**
 * Prepares a server in its sandbox (pull and verify, as `run` does), then serves it over
 * Streamable HTTP: each session starts its own sandboxed process, which receives nothing from the
 * HTTP request but JSON-RPC messages.
 *
 * Requires `--allow-net` for the listening address, `--allow-run` for Deno (or docker) and
 * read/write access to the cache root.
 *
 * @param server A resolved server.
 * @param options The sandbox (default: native, from the cache root and environment given),
 *   address, tokens, allow lists and limits.
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
  const sandbox = options.sandbox ?? new DenoSandbox(options);
  // Planned first, as `run` does: a missing variable fails before anything is fetched.
  let unused: LaunchPlan | undefined = sandbox.plan(server);
  const prepared = await sandbox.prepare(server);
  await prepared.verify();
  const start = (audit: AuditChannel | undefined) => {
    // The plan made up front starts the first process; a plan is started at most once (it may
    // name a container), so every later process gets a fresh one.
    const plan = unused ?? sandbox.plan(server);
    unused = undefined;
    return sandbox.spawn(server, { ...options, plan, audit });
  };
  return await serveHttpBridge({
    ...options,
    connect: async () => {
      const transport = new ProcessTransport(start(await options.openAudit?.()));
      if (!options.guardStages) return transport;
      const stages = options.guardStages();
      return new GuardedTransport(transport, stages, { server: server.name }, options.guardLog);
    },
  });
}
