/**
 * `mcp-run serve` as a function: a resolved server, sandboxed exactly as `run` starts it, served
 * over MCP Streamable HTTP with one process per session (or one shared process).
 *
 * @module
 */
import { type HttpBridgeServer, serveHttpBridge, type ServeHttpBridgeOptions } from "./serve.ts";
import type { LaunchPlan, PrepareServerOptions } from "../sandbox/launch_plan.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ServerProcess, SpawnServerOptions } from "../sandbox/server_process.ts";
import { DenoSandbox } from "../sandbox/deno_sandbox.ts";
import type { AuditChannel } from "../learn/audit_channel.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { ProcessTransport } from "../sandbox/stdio_transport.ts";
import { GuardedTransport } from "../guard/guarded_transport.ts";
import type { GuardStage } from "../guard/stage.ts";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { checkWarmSize, WarmPool, type WarmProcess, whenIdle } from "./_warm_pool.ts";

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
  /**
   * Server processes kept started ahead of demand, isolated mode only (default 0): a new
   * session takes one (never shared, never reused) and a replacement starts at once; one that
   * dies while waiting is replaced after a delay that doubles with each death in a row. Each
   * has its own audit channel and guard, as every process does. Together with the sessions'
   * processes they stay within `maxSessions`: as sessions fill it, fewer are kept ahead.
   */
  warm?: number;
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
 * @throws {RangeError} When listening beyond loopback without a token, or when `warm` is not a
 *   whole number from 0 to `maxSessions`, or is given in shared mode.
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
  const size = checkWarm(options);
  const prepared = await sandbox.prepare(server);
  await prepared.verify();
  const start = (audit: AuditChannel | undefined) => {
    // The plan made up front starts the first process; a plan is started at most once (it may
    // name a container), so every later process gets a fresh one.
    const plan = unused ?? sandbox.plan(server);
    unused = undefined;
    return sandbox.spawn(server, { ...options, plan, audit });
  };
  const spawn = async (): Promise<WarmProcess<Transport>> => {
    const audit = await options.openAudit?.();
    let process: ServerProcess;
    try {
      process = start(audit);
    } catch (error) {
      // Nothing will write the channel: end its reading and remove its FIFO.
      await audit?.release();
      throw error;
    }
    let transport: Transport = new ProcessTransport(process);
    if (options.guardStages) {
      const stages = options.guardStages();
      transport = new GuardedTransport(
        transport,
        stages,
        { server: server.name },
        options.guardLog,
      );
    }
    return {
      value: transport,
      exited: process.status,
      booted: () => whenIdle(process.pid),
      stop: () => transport.close(),
    };
  };
  const pool = new WarmPool({
    size,
    limit: options.maxSessions ?? 64,
    start: spawn,
    onError: options.onError,
  });
  const served = await serveHttpBridge({ ...options, connect: () => pool.take() });
  pool.fill();
  options.signal?.addEventListener("abort", () => void pool.close(), { once: true });
  return {
    ...served,
    get connections() {
      return served.connections;
    },
    finished: served.finished.then(() => pool.close()),
    shutdown: async () => {
      await Promise.all([served.shutdown(), pool.close()]);
    },
  };
}

/**
 * The number of server processes to keep ahead (`warm`), checked against the session limit and
 * mode: the one check of it, for {@linkcode serveServer} and the CLI alike.
 *
 * @param options `warm`, `maxSessions` (default 64) and `sessionMode`.
 * @returns The number (0 when absent).
 * @throws {RangeError} When it is not a whole number from 0 to `maxSessions`, or is given in
 *   shared mode.
 *
 * @example
 * ```ts
 * import { checkWarm } from "./serve_server.ts";
 * console.log(checkWarm({ warm: 2, maxSessions: 8 })); // 2
 * ```
 */
export function checkWarm(
  options: Pick<ServeServerOptions, "warm" | "maxSessions" | "sessionMode">,
): number {
  const warm = options.warm ?? 0;
  checkWarmSize(warm, options.maxSessions ?? 64);
  if (warm > 0 && options.sessionMode === "shared") {
    throw new RangeError(
      "Cannot keep server processes ahead in shared mode: its one process serves every " +
        "session; use isolated sessions, or leave out warm",
    );
  }
  return warm;
}
