/**
 * The gVisor sandbox: the docker sandbox's hardened container, run under the engine's gVisor
 * runtime (`runsc`), so the server talks to a user-space kernel instead of the host's.
 *
 * @module
 */
import { DockerSandbox, type DockerSandboxOptions } from "./docker_sandbox.ts";
import type { DockerLaunchPlan } from "./docker_launch.ts";
import { GVISOR_RUNTIME } from "./docker_names.ts";
import type { ContainerLaunchPlan } from "./container_launch.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ServerProcess } from "./server_process.ts";
import type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "./sandbox.ts";

/** Options for {@linkcode GvisorSandbox}: the docker options, and the runtime's name. */
export interface GvisorSandboxOptions extends DockerSandboxOptions {
  /** The engine runtime that is gVisor (default {@linkcode GVISOR_RUNTIME}). */
  gvisorRuntime?: string;
}

/**
 * gVisor isolation behind the {@linkcode Sandbox} interface: every plan of the docker sandbox,
 * with `--runtime runsc`. The pull step is docker's: no server code runs in it.
 *
 * Requires `--allow-run=docker` and read/write access to the cache root.
 *
 * @example
 * ```ts
 * import { GvisorSandbox } from "./gvisor_sandbox.ts";
 * const sandbox = new GvisorSandbox({ cacheRoot: "/c", source: {}, nameSuffix: "s1" });
 * const plan = sandbox.plan({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * });
 * console.log(plan.args[plan.args.indexOf("--runtime") + 1]); // runsc
 * ```
 */
export class GvisorSandbox implements Sandbox {
  /** `gvisor`. */
  readonly isolation = "gvisor";
  /** `container`. */
  readonly unit = "container";
  #docker: DockerSandbox;

  /**
   * A gVisor sandbox.
   *
   * @param options Cache root, image, limits, environment, pull policy, the runtime's name.
   */
  constructor(options: GvisorSandboxOptions) {
    const { gvisorRuntime, ...docker } = options;
    this.#docker = new DockerSandbox({ ...docker, runtime: gvisorRuntime ?? GVISOR_RUNTIME });
  }

  /**
   * The docker plan, under the gVisor runtime.
   *
   * @param server A resolved server.
   * @param options `standalone`: no launcher labels.
   * @returns The plan.
   * @throws {TypeError} When a required variable or secret is not set.
   * @throws {GrantError} When a grant's path cannot be mounted.
   */
  plan(
    server: ResolvedServer,
    options: SandboxPlanOptions = {},
  ): DockerLaunchPlan | ContainerLaunchPlan {
    return this.#docker.plan(server, options);
  }

  /**
   * The docker pull step (see `DockerSandbox.pull`).
   *
   * @param server A resolved server.
   * @returns When the cache is filled.
   */
  pull(server: ResolvedServer): Promise<void> {
    return this.#docker.pull(server);
  }

  /**
   * Approval, pull when never pulled, the cache checks (see `DockerSandbox.prepare`).
   *
   * @param server A resolved server.
   * @returns The pending checks.
   */
  prepare(server: ResolvedServer): Promise<PreparedLaunch> {
    return this.#docker.prepare(server);
  }

  /**
   * Starts the container under gVisor (see `DockerSandbox.spawn`).
   *
   * @param server The prepared server.
   * @param options A plan, buffer bounds, the stderr sink.
   * @returns The running process.
   */
  spawn(server: ResolvedServer, options: SandboxSpawnOptions = {}): ServerProcess {
    return this.#docker.spawn(server, options);
  }
}
