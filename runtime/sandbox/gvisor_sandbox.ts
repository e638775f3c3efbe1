/**
 * The gVisor sandbox: the docker sandbox's hardened container, run under the engine's gVisor
 * runtime (`runsc`), so the server talks to a user-space kernel instead of the host's.
 *
 * @module
 */
import { DockerSandbox, type DockerSandboxOptions } from "./docker_sandbox.ts";
import type { DockerLaunchPlan } from "./docker_launch.ts";
import { GVISOR_RUNTIME } from "./docker_names.ts";
import { GVISOR_PIDS_LIMIT } from "./docker_checks.ts";
import { checkGvisorRuntime } from "./gvisor_runtime.ts";
import { refuseInsideEgress } from "../policy/_grant_rules.ts";
import { dockerOptions } from "./_docker_inputs.ts";
import { packageKind } from "../policy/package_kind.ts";
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
 * with `--runtime runsc` and, unless one is given, a process cap of {@linkcode GVISOR_PIDS_LIMIT}
 * (gVisor's own threads count against it). The pull step is docker's: no server code runs in it.
 *
 * Building a source distribution (`allowBuild`) is refused: it runs the package's code in the
 * pull container, which runs under runc.
 *
 * A gVisor container has its own network stack, so it cannot share an egress sidecar's
 * loopback: a server with `net` grants keeps `--network none` and reaches its granted hosts
 * through mcp-run's egress proxy, whose socket is mounted into its container, by a forwarder
 * that runs inside it before the server (Deno's for Deno servers, which keep `--allow-net` as
 * the inner wall; a Python one for `pypi:` servers; see `insideEgress`). An `oci:` server with
 * `net` grants is refused, and so is such a server written as a command to copy.
 *
 * Before a start, {@linkcode GvisorSandbox.prepare} checks the engine's registration (see
 * `checkGvisorRuntime`; the same engine the launch uses, from the docker client's settings in
 * `source`): a runtime whose program is runsc, `--host-uds=open` when the server has `net` grants (the proxy's socket)
 * and, for every Deno server, `--host-fifo=open` (the audit channel's FIFO: whether a launch
 * uses it is known only when it spawns, so it is always required).
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
  #options: DockerSandboxOptions;
  #runtime: string;

  /**
   * A gVisor sandbox.
   *
   * @param options Cache root, image, limits, environment, pull policy, the runtime's name.
   */
  constructor(options: GvisorSandboxOptions) {
    const { gvisorRuntime, ...docker } = options;
    this.#runtime = gvisorRuntime ?? GVISOR_RUNTIME;
    this.#options = {
      ...docker,
      pidsLimit: docker.pidsLimit ?? GVISOR_PIDS_LIMIT,
      runtime: this.#runtime,
      egressInside: true,
    };
    this.#docker = new DockerSandbox(this.#options);
  }

  /**
   * The docker plan, under the gVisor runtime.
   *
   * @param server A resolved server.
   * @param options `standalone`: no launcher labels.
   * @returns The plan.
   * @throws {TypeError} When a required variable or secret is not set.
   * @throws {GrantError} When a grant's path cannot be mounted; for an `oci:` server with `net`
   *   grants; for a server with `net` grants planned as a command to copy (`standalone`).
   */
  plan(
    server: ResolvedServer,
    options: SandboxPlanOptions = {},
  ): DockerLaunchPlan | ContainerLaunchPlan {
    return this.#docker.plan(server, options);
  }

  /**
   * The docker pull step (see `DockerSandbox.pull`), which runs no server code: building a
   * source distribution is refused.
   *
   * @param server A resolved server.
   * @returns When the cache is filled.
   * @throws {RangeError} When `allowBuild` is set.
   */
  async pull(server: ResolvedServer): Promise<void> {
    this.#refuseBuild(server);
    await this.#docker.pull(server);
  }

  /** A build runs the package's code in the pull container, which runs under runc. */
  #refuseBuild(server: ResolvedServer): void {
    if (!this.#options.allowBuild) return;
    throw new RangeError(
      `Cannot build "${server.name}" (${server.specifier}) under gvisor isolation: building a ` +
        "source distribution runs the package's own code in the pull container, which runs " +
        "under the host's kernel (runc), not gVisor. Use a version with wheels, or pull and " +
        "run it with --isolation docker",
    );
  }

  /**
   * Approval, pull when never pulled, the cache checks (see `DockerSandbox.prepare`), with the
   * engine's gVisor runtime checked alongside the approval: nothing is pulled or started
   * without it.
   *
   * @param server A resolved server.
   * @returns The pending checks.
   * @throws {GvisorUnavailableError} When the runtime is not registered, not runsc, or
   *   registered without an argument the server needs.
   * @throws {GrantError} For an `oci:` server with `net` grants.
   * @throws {RangeError} When `allowBuild` is set.
   */
  async prepare(server: ResolvedServer): Promise<PreparedLaunch> {
    this.#refuseBuild(server);
    refuseInsideEgress(server);
    const note = proxyOnlyNote(server);
    if (note && !noted.has(server)) (this.#options.progress ?? console.error)(note);
    noted.add(server);
    const kind = packageKind(server.specifier);
    const precheck = checkGvisorRuntime({
      ...dockerOptions(this.#options, this.#options.source ?? Deno.env.toObject()),
      runtime: this.#runtime,
      needs: { uds: server.net.length > 0, fifo: kind !== "pypi" && kind !== "oci" },
    });
    // Handled here too: a check of the docker prepare may fail before it awaits this one.
    precheck.catch(() => {});
    return await new DockerSandbox({ ...this.#options, precheck }).prepare(server);
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

/** The servers whose proxy-only note was given: `serve` prepares each session's server again. */
const noted = new WeakSet<ResolvedServer>();

/** Ports whose clients speak HTTP, which the egress proxy carries. */
const HTTP_PORTS = new Set(["80", "443"]);

/**
 * The note for a server granted hosts on other ports than HTTP's: under gVisor its one way out
 * is mcp-run's HTTP proxy, which a client that opens its own connections (a database driver,
 * `node:net`) does not use.
 *
 * @param server The server.
 * @returns The note, or undefined when every grant is an HTTP port or names none.
 */
export function proxyOnlyNote(server: Pick<ResolvedServer, "name" | "net">): string | undefined {
  const other = server.net.filter((grant) => {
    const port = /:(\d+)$/.exec(grant)?.[1];
    return port !== undefined && !HTTP_PORTS.has(port);
  });
  if (other.length === 0) return undefined;
  return `mcp-run: under gvisor isolation "${server.name}" reaches ${other.join(", ")} only ` +
    "through mcp-run's HTTP proxy (HTTP_PROXY, HTTPS_PROXY): a client that opens its own " +
    "connections, such as a database driver, finds no route. If it cannot connect, run it " +
    "with --isolation docker";
}
