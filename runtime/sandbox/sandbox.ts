/**
 * The one interface every command, `serve` and the library start servers through: a sandbox
 * turns a resolved server into an exact plan, fills its cache, checks it, and starts it. The
 * callers never ask which backend they hold; a new isolation (another runtime, containers for
 * other languages) is one new implementation of {@linkcode Sandbox}.
 *
 * @module
 */
import type { LaunchPlan } from "./launch_plan.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ServerProcess, SpawnServerOptions } from "./server_process.ts";

/** Options for {@linkcode Sandbox.plan}. */
export interface SandboxPlanOptions {
  /**
   * A plan to be copied and run elsewhere (the `flags` command): nothing in it ties the process
   * to this launcher (docker: no launcher labels, or the next launch would remove the container).
   */
  standalone?: boolean;
}

/** Options for {@linkcode Sandbox.spawn}. */
export interface SandboxSpawnOptions extends SpawnServerOptions {
  /**
   * The plan to start, from this sandbox's {@linkcode Sandbox.plan} (default: a fresh one). A
   * plan names what one process owns (a docker container), so each is started at most once.
   */
  plan?: LaunchPlan;
}

/** A server whose manifest was approved and whose cache was found (or made) ready. */
export interface PreparedLaunch {
  /**
   * The cache check. A backend may let it overlap the process's start-up (docker checks the
   * engine while the container starts); the caller passes nothing between the server and its
   * client before it resolves, so unverified code never answers anyone.
   */
  verify(): Promise<void>;
}

/**
 * A way to run a server confined: native Deno permissions, a docker container, or any other
 * backend. The grants come from the resolved server; the sandbox only translates them.
 *
 * The order a launch follows: {@linkcode Sandbox.plan} (pure: fails early on a missing variable),
 * {@linkcode Sandbox.prepare} (approval, pull when allowed, cache check), {@linkcode Sandbox.spawn},
 * then {@linkcode PreparedLaunch.verify} before any message is passed on.
 */
export interface Sandbox {
  /** The backend's name (`deno`, `docker`), for messages. */
  readonly isolation: string;
  /** What one started server is, for messages: `process`, `container`. */
  readonly unit: string;
  /**
   * The exact program, arguments, environment and folder the server would start with: what
   * `--dry-run` prints. Pure: creates, reads and starts nothing.
   *
   * @param server A resolved server.
   * @param options Whether the plan is to be run elsewhere.
   * @returns The plan.
   * @throws {TypeError} When a required variable or secret is not set.
   */
  plan(server: ResolvedServer, options?: SandboxPlanOptions): LaunchPlan;
  /**
   * The explicit pull step (the `pull` command): checks the manifest against the approved one,
   * then fetches the server's code (and whatever the backend needs to run it) into the cache.
   * No server code runs.
   *
   * @param server A resolved server.
   * @returns When the cache is filled.
   * @throws {ApprovalError} When the manifest asks for more than was approved.
   */
  pull(server: ResolvedServer): Promise<void>;
  /**
   * Makes a server ready to start: approval, a pull when never pulled (if allowed), the cache
   * check (see {@linkcode PreparedLaunch.verify}).
   *
   * @param server A resolved server.
   * @returns The pending (or passed) cache check.
   * @throws {ApprovalError} When the manifest asks for more than was approved.
   * @throws {CacheError} When the code was never pulled and auto-pull is off, or was tampered with.
   */
  prepare(server: ResolvedServer): Promise<PreparedLaunch>;
  /**
   * Starts one server process from a plan. Call it after {@linkcode Sandbox.prepare}.
   *
   * @param server The prepared server.
   * @param options The plan (default: a fresh one), buffer bounds, the stderr sink.
   * @returns The running process; stopping it leaves nothing behind.
   */
  spawn(server: ResolvedServer, options?: SandboxSpawnOptions): ServerProcess;
}
