/**
 * Launch plans: the exact program, argv, environment and folder a server is started with.
 *
 * @module
 */
import { checkApproval } from "../policy/approval.ts";
import { cacheWriteError, serverDirs } from "./cache_dirs.ts";
import { pullEnv, serverEnv } from "./child_env.ts";
import { denoRunArgs } from "./flags.ts";
import { checkModuleGraph } from "./module_graph.ts";
import { checkHostAddresses, type CheckHostAddressesOptions } from "../policy/net_preflight.ts";
import { CacheError, prepareDirs, pull, startCacheCheck } from "./pull.ts";
import type { PendingSealCheck } from "./_cache_seal.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { effectiveLimits, prlimitCommand, type ResourceLimits } from "./resource_caps.ts";
import { serverProtectedPaths } from "./write_protection.ts";

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
  /** The user's memory caps for every server (a manifest may raise them for its server). */
  limits?: Partial<ResourceLimits>;
  /**
   * The `prlimit` program that caps the process's memory (see `findPrlimit`); `null`: no
   * process cap (only the heap is capped). Default: none, so that a plan stays pure; the native
   * sandbox finds it.
   */
  prlimit?: string | null;
  /** Where notes go (a write grant too large to scan whole); defaults to stderr. */
  progress?: (line: string) => void;
}

/**
 * Builds the native launch plan for a server: `deno run` with the hardened flags, from the
 * neutral working directory, with an environment built from scratch; with a heap cap, and under
 * `prlimit --data` when given one (see `prlimitCommand`). Protected paths inside the write
 * grants are denied to writes, also those deeper in the grants (see `findNestedProtected`).
 * Creates nothing; reads the write grants' folders.
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
  const limits = effectiveLimits({ user: options.limits, manifest: server.manifest?.limits });
  const deno = options.deno ?? Deno.execPath();
  const denoArgs = denoRunArgs(server, {
    lockFile: dirs.lockFile,
    limits,
    denyWrite: serverProtectedPaths(server, { note: options.progress }),
  });
  const command = options.prlimit
    ? prlimitCommand(options.prlimit, limits, [deno, ...denoArgs])
    : { program: deno, args: denoArgs };
  return {
    ...command,
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
  /**
   * Accept a manifest that asks for more than the user approved for this server, recording it
   * as approved (the CLI's `--yes`; see {@linkcode checkApproval}). Default false: refused.
   */
  approve?: boolean;
  /** Pull automatically when the server was never pulled (default true). */
  autoPull?: boolean;
  /** Where progress lines go; defaults to stderr. */
  progress?: (line: string) => void;
  /** Resolves granted host names for the private-address check (default: the system resolver). */
  hostLookup?: CheckHostAddressesOptions["lookup"];
  /**
   * A check of a server cache's seal started before the server was resolved (a launch hint):
   * used when it is for the server being prepared, else ignored.
   */
  sealCheck?: PendingSealCheck;
}

/** A server ready to start, its cache already checked. */
export interface PreparedServer {
  /**
   * The result of the cache check, which {@linkcode prepareServer} completes before it returns:
   * the server's code must not run before the check passes (a check that overlapped the server's
   * start-up let tampered code run, with the server's grants, until the check failed).
   */
  verify(): Promise<void>;
}

/**
 * Makes a server ready to start: checks its manifest against the one the user approved (see
 * {@linkcode checkApproval}), pulls it when never pulled (if allowed), checks the cached code
 * and lockfile, for local servers re-checks the module graph (the files may have changed since
 * pull), and refuses granted host names that resolve to private addresses the user did not grant
 * (see {@linkcode checkHostAddresses}).
 *
 * @param server A resolved server.
 * @param options Cache root, Deno binary, environment, pull policy.
 * @returns The passed cache check.
 * @throws {ApprovalError} When the manifest asks for more than was approved and `approve` is
 *   not set: nothing is fetched or started.
 * @throws {CacheError} When the server was never pulled and auto-pull is off, or its cache (or
 *   its pull record) was tampered with or damaged.
 * @throws {GrantError} When a granted host name resolves to a private address.
 */
export async function prepareServer(
  server: ResolvedServer,
  options: PrepareServerOptions,
): Promise<PreparedServer> {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  // The cache check touches only the cache (and its seal), so it starts before the approval and
  // overlaps every other check; the server starts only after all of them passed.
  const check = startCacheCheck(server, options);
  await checkApproval(server, options);
  let pulledNow = false;
  try {
    await check.pulled;
  } catch (error) {
    // Only a server never pulled is pulled here; a damaged record is reported (exit 4).
    if (!(error instanceof CacheError) || error.kind !== "missing" || options.autoPull === false) {
      throw error;
    }
    // A pull checks the module graph first and records the digests of what it fetched.
    await pull(server, options);
    pulledNow = true;
  }
  await prepareDirs(dirs).catch((error) => {
    throw cacheWriteError(options.cacheRoot, error);
  });
  await checkHostAddresses(server, { lookup: options.hostLookup });
  if (server.localDir && !pulledNow) {
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
  if (!pulledNow) await check.verified;
  return { verify: () => Promise.resolve() };
}
