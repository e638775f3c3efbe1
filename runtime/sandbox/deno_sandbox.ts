/**
 * The native sandbox: the server runs under `deno run` with the hardened permission flags, from
 * a neutral folder, with an environment built from scratch.
 *
 * @module
 */
import {
  denoLaunchPlan,
  type LaunchPlan,
  prepareServer,
  type PrepareServerOptions,
} from "./launch_plan.ts";
import { pull } from "./pull.ts";
import { auditedPlan } from "../learn/audit_channel.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import { isContainerOnly, packageKind } from "../policy/package_kind.ts";
import { type ServerProcess, spawnServer } from "./server_process.ts";
import type { PreparedLaunch, Sandbox, SandboxSpawnOptions } from "./sandbox.ts";
import { capHitMessage, effectiveLimits, findPrlimit, noProcessCapNote } from "./resource_caps.ts";

/** Options for {@linkcode DenoSandbox}: the cache, the environment and the pull policy. */
export type DenoSandboxOptions = PrepareServerOptions;

/** Whether the note that natively only the heap is capped was printed (once per launcher). */
let notedNoProcessCap = false;

/**
 * Deno's own permission sandbox, behind the {@linkcode Sandbox} interface. Its cache check
 * completes in {@linkcode DenoSandbox.prepare}, before any process starts. Servers run under
 * `prlimit --data` when util-linux's `prlimit` is found (else a note says once that only the
 * heap is capped), unless the options name another or `null`.
 *
 * Requires `--allow-run` for Deno and read/write access to the cache root.
 *
 * @example
 * ```ts
 * import { DenoSandbox } from "./deno_sandbox.ts";
 * const sandbox = new DenoSandbox({ cacheRoot: "/c", deno: "deno", source: {} });
 * const plan = sandbox.plan({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * });
 * console.log(plan.program, plan.args[0]); // deno run
 * ```
 */
export class DenoSandbox implements Sandbox {
  /** `deno`. */
  readonly isolation = "deno";
  /** `process`. */
  readonly unit = "process";
  #options: DenoSandboxOptions;
  #prlimit?: string | null;

  /**
   * A native sandbox.
   *
   * @param options Cache root, Deno binary, environment, pull policy.
   */
  constructor(options: DenoSandboxOptions) {
    this.#options = options;
  }

  /**
   * The `deno run` plan (see {@linkcode denoLaunchPlan}).
   *
   * @param server A resolved server.
   * @returns The plan.
   * @throws {TypeError} When a required variable or secret is not set.
   * @throws {GrantError} `package` for a `pypi:` or `oci:` package, which runs only in a
   *   container.
   */
  plan(server: ResolvedServer): LaunchPlan {
    refuseContainerOnly(server);
    return denoLaunchPlan(server, { ...this.#options, prlimit: this.#findPrlimit() });
  }

  /** The `prlimit` program of the options, else the one installed; notes once if none. */
  #findPrlimit(): string | null {
    if (this.#options.prlimit !== undefined) return this.#options.prlimit;
    this.#prlimit ??= findPrlimit() ?? null;
    if (this.#prlimit === null && !notedNoProcessCap) {
      notedNoProcessCap = true;
      (this.#options.progress ?? ((line: string) => console.error(line)))(noProcessCapNote());
    }
    return this.#prlimit;
  }

  /**
   * Pulls the server's code into its own cache (see {@linkcode pull}).
   *
   * @param server A resolved server.
   * @returns When the code is cached and recorded.
   * @throws {GrantError} `package` for a `pypi:` or `oci:` package, which runs only in a
   *   container.
   */
  async pull(server: ResolvedServer): Promise<void> {
    refuseContainerOnly(server);
    await pull(server, this.#options);
  }

  /**
   * Approves, pulls when needed, and checks the cache before returning (see
   * {@linkcode prepareServer}).
   *
   * @param server A resolved server.
   * @returns The passed cache check.
   * @throws {GrantError} `package` for a `pypi:` or `oci:` package, which runs only in a
   *   container.
   */
  async prepare(server: ResolvedServer): Promise<PreparedLaunch> {
    refuseContainerOnly(server);
    return await prepareServer(server, this.#options);
  }

  /**
   * Starts `deno run` with exactly the plan's environment (and, given an audit channel,
   * `DENO_AUDIT_PERMISSIONS` naming it).
   *
   * @param server The prepared server.
   * @param options The plan (default: a fresh one), buffer bounds, the stderr sink.
   * @returns The running process.
   * @throws {GrantError} `package` for a `pypi:` or `oci:` package, which runs only in a
   *   container.
   */
  spawn(server: ResolvedServer, options: SandboxSpawnOptions = {}): ServerProcess {
    refuseContainerOnly(server);
    const plan = options.plan ?? this.plan(server);
    const limits = effectiveLimits({
      user: this.#options.limits,
      manifest: server.manifest?.limits,
    });
    return spawnServer(
      server.name,
      options.audit ? auditedPlan(plan, options.audit) : plan,
      {
        explainExit: (status, tail, stopped) =>
          capHitMessage(status, tail, { name: server.name, limits, isolation: "deno", stopped }),
        ...options,
      },
    );
  }
}

/** Deno's flags cannot confine a Python package or an image: those run only in a container. */
function refuseContainerOnly(server: ResolvedServer): void {
  if (!isContainerOnly(server.specifier)) return;
  throw new GrantError(
    "package",
    `"${server.name}" (${server.specifier}) is a ${packageKind(server.specifier)} package, which ` +
      "runs only in a container: use --isolation docker",
  );
}
