/**
 * Launch plans: the exact program, argv, environment and folder a server is started with.
 *
 * @module
 */
import { serverDirs } from "./cache_dirs.ts";
import { pullEnv, serverEnv } from "./child_env.ts";
import { denoRunArgs } from "./flags.ts";
import { checkModuleGraph } from "./module_graph.ts";
import {
  CacheError,
  prepareDirs,
  pull,
  type PullRecord,
  readPullRecord,
  verifyPull,
} from "./pull.ts";
import type { ResolvedServer } from "./resolve.ts";

/** Everything needed to start a server process; what `--dry-run` prints. */
export interface LaunchPlan {
  /** The program to start (`deno`, or `docker`). */
  program: string;
  /** Its arguments. */
  args: string[];
  /** Its complete environment (nothing is inherited). */
  env: Record<string, string>;
  /** Its working directory. */
  cwd: string;
}

/** Options for {@linkcode denoLaunchPlan}. */
export interface DenoLaunchPlanOptions {
  /** mcp-run's cache root. */
  cacheRoot: string;
  /** The Deno binary; defaults to the running one. */
  deno?: string;
  /** The launcher's environment, the source of declared variables. */
  source?: Record<string, string>;
  /** Registry overrides (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
}

/**
 * Builds the native launch plan for a server: `deno run` with the hardened flags, from the
 * neutral working directory, with an environment built from scratch. Creates nothing.
 *
 * @param server A resolved server.
 * @param options Cache root, Deno binary, environment.
 * @returns The plan.
 * @throws {TypeError} When a required variable or secret is not set.
 *
 * @example
 * ```ts
 * import { denoLaunchPlan } from "./launch_plan.ts";
 * const plan = denoLaunchPlan({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { cacheRoot: "/c", deno: "deno", source: {} });
 * console.log(plan.program, plan.args[0], plan.env.HOME); // deno run /c/neutral/home
 * ```
 */
export function denoLaunchPlan(server: ResolvedServer, options: DenoLaunchPlanOptions): LaunchPlan {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  return {
    program: options.deno ?? Deno.execPath(),
    args: denoRunArgs(server, { lockFile: dirs.lockFile }),
    env: serverEnv(server, {
      home: dirs.home,
      denoDir: dirs.denoDir,
      source: options.source ?? Deno.env.toObject(),
      registries: options.registries,
    }),
    cwd: dirs.cwd,
  };
}

/** Options for {@linkcode prepareServer}. */
export interface PrepareServerOptions extends DenoLaunchPlanOptions {
  /** Pull automatically when the server was never pulled (default true). */
  autoPull?: boolean;
  /** Where progress lines go; defaults to stderr. */
  progress?: (line: string) => void;
}

/** A server ready to start, with its cache check possibly still running. */
export interface PreparedServer {
  /**
   * Checks the cached code and lockfile against the pull record. Call it right after starting
   * the server, so the check overlaps the server's start-up, and pass none of the server's
   * output on before it resolves.
   */
  verify(): Promise<PullRecord>;
}

/**
 * Makes a server ready to start: pulls it when never pulled (if allowed), starts checking the
 * cached code and lockfile, and for local servers re-checks the module graph (the files may have
 * changed since pull). The cache check runs while the caller starts the server, so it costs no
 * start-up time; callers must wait for `verified` before trusting the server's output.
 *
 * @param server A resolved server.
 * @param options Cache root, Deno binary, environment, pull policy.
 * @returns The pending cache check.
 * @throws {CacheError} When the server was never pulled and auto-pull is off.
 */
export async function prepareServer(
  server: ResolvedServer,
  options: PrepareServerOptions,
): Promise<PreparedServer> {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  let verify: () => Promise<PullRecord>;
  try {
    await readPullRecord(server, options);
    verify = () => verifyPull(server, options);
  } catch (error) {
    if (!(error instanceof CacheError) || options.autoPull === false) throw error;
    const record = await pull(server, options);
    verify = () => Promise.resolve(record);
  }
  await prepareDirs(dirs);
  if (server.localDir) {
    await checkModuleGraph(server, {
      deno: options.deno ?? Deno.execPath(),
      env: pullEnv({
        home: dirs.home,
        denoDir: dirs.denoDir,
        source: options.source ?? Deno.env.toObject(),
        registries: options.registries,
      }),
      cwd: dirs.cwd,
    });
  }
  return { verify };
}
