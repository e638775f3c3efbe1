/**
 * The docker sandbox: the same hardened `deno run` inside a locked-down container, its code in a
 * read-only volume, every container removed for sure. Packages that run only in a container
 * (`pypi:`, `oci:`) get the same hardening around their own runtime (see `container_launch.ts`).
 *
 * @module
 */
import { capHitMessage, effectiveLimits } from "./resource_caps.ts";
import { onUse } from "../_on_use.ts";
import { packageKind } from "../policy/package_kind.ts";
import { type ContainerLaunchPlan, containerLaunchPlan } from "./container_launch.ts";
import type { ContainerPackageOptions } from "./container_options.ts";
import { type DockerLaunchPlan, dockerLaunchPlan } from "./docker_launch.ts";
import { spawnDockerServer } from "./docker_process.ts";
import { type EgressRefusal, refusalLog } from "./egress_proxy.ts";
import { auditedPlan } from "../learn/audit_channel.ts";
import { explainRefusal } from "../learn/denial.ts";
import { dockerPull, prepareDockerServer } from "./docker_pull.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ServerProcess } from "./server_process.ts";
import type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "./sandbox.ts";

/**
 * Options for {@linkcode DockerSandbox}: cache, image, limits, environment, pull policy; for
 * `pypi:` packages the Python image (`pythonImage`) and whether source distributions may be
 * built (`allowBuild`); the egress sidecar's image (`egressImage`). `network` is the Deno
 * servers' run and pull network; a `pypi:` pull reaches its index through the egress proxy
 * unless `network` names another; a `pypi:` or `oci:` server gets no network, or (with `net`
 * grants) the egress sidecar's, which `spawn` starts first.
 */
export type DockerSandboxOptions = Omit<ContainerPackageOptions, "pullImage">;

/**
 * Docker isolation behind the {@linkcode Sandbox} interface. Each plan names a fresh container;
 * the engine and volume checks of a server pulled before overlap the container's start (see
 * {@linkcode prepareDockerServer}). A launch never fetches an image; {@linkcode DockerSandbox.pull}
 * (the explicit pull step) does.
 *
 * Requires `--allow-run=docker` and read/write access to the cache root.
 *
 * @example
 * ```ts
 * import { DockerSandbox } from "./docker_sandbox.ts";
 * const sandbox = new DockerSandbox({ cacheRoot: "/c", source: {}, nameSuffix: "s1" });
 * const plan = sandbox.plan({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * });
 * console.log(plan.program, plan.args[0]); // docker run
 * ```
 */
export class DockerSandbox implements Sandbox {
  /** `docker`. */
  readonly isolation = "docker";
  /** `container`. */
  readonly unit = "container";
  #options: DockerSandboxOptions;

  /**
   * A docker sandbox.
   *
   * @param options Cache root, image, network, limits, environment, pull policy.
   */
  constructor(options: DockerSandboxOptions) {
    this.#options = options;
  }

  /**
   * The `docker run` plan (see {@linkcode dockerLaunchPlan}; for `pypi:` and `oci:` packages
   * {@linkcode containerLaunchPlan}), with a fresh container name.
   *
   * @param server A resolved server.
   * @param options `standalone`: no launcher labels.
   * @returns The plan.
   * @throws {TypeError} When a required variable or secret is not set.
   * @throws {GrantError} When a grant's path cannot be written as a docker mount, or a `pypi:`
   *   or `oci:` server that declares network access is planned to be run elsewhere (no proxy).
   * @throws {RangeError} When a grant cannot be mounted safely.
   */
  plan(
    server: ResolvedServer,
    options: SandboxPlanOptions = {},
  ): DockerLaunchPlan | ContainerLaunchPlan {
    const own = options.standalone ? { ...this.#options, launcherLabels: false } : this.#options;
    if (packageKind(server.specifier) === "pypi" || packageKind(server.specifier) === "oci") {
      if (own.egressRate !== undefined && server.net.length > 0) {
        throw new RangeError(
          `Cannot cap the egress of "${server.name}": --egress-rate shapes Deno servers' ` +
            `containers; pypi: and oci: servers reach the network only through mcp-run's proxy`,
        );
      }
      return containerLaunchPlan(server, own);
    }
    return dockerLaunchPlan(server, own);
  }

  /**
   * Fills the server's code volume, fetching the image first when the engine lacks it (see
   * {@linkcode dockerPull}); for a `pypi:` package installs its locked wheels into its code
   * folder (`pythonPull`), for an `oci:` package pulls the image by digest (`ociPull`).
   *
   * @param server A resolved server.
   * @returns When the volume holds the code and the pull is recorded.
   * @throws {GrantError} When a grant's path cannot be written as a docker mount.
   */
  async pull(server: ResolvedServer): Promise<void> {
    const kind = packageKind(server.specifier);
    if (kind === "pypi") await (await pythonModule()).pythonPull(server, this.#pullOptions());
    else if (kind === "oci") await (await ociModule()).ociPull(server, this.#options);
    else await dockerPull(server, this.#pullOptions());
  }

  #pullOptions(): ContainerPackageOptions {
    return { ...this.#options, pullImage: true };
  }

  /**
   * Approves, pulls when never pulled (if allowed); the engine and volume checks of a server
   * pulled before are left to `verify`, to overlap the container's start. A `pypi:` server's
   * code folder is checked against its pull record (`preparePythonServer`); an `oci:` server's
   * image must be held under its digest (`prepareOciServer`).
   *
   * @param server A resolved server.
   * @returns The pending checks.
   * @throws {GrantError} When a grant's path cannot be written as a docker mount.
   */
  async prepare(server: ResolvedServer): Promise<PreparedLaunch> {
    const kind = packageKind(server.specifier);
    if (kind === "pypi") {
      return await (await pythonModule()).preparePythonServer(server, this.#options);
    }
    if (kind === "oci") return await (await ociModule()).prepareOciServer(server, this.#options);
    return await prepareDockerServer(server, this.#options);
  }

  /**
   * Starts the docker client with exactly the plan's environment; stopping the process removes
   * its container. Given an audit channel, a Deno server's container gets the FIFO alone
   * bind-mounted (see `auditedPlan`); a `pypi:` or `oci:` server's egress refusals go to the
   * channel's log instead.
   *
   * @param server The prepared server.
   * @param options A plan from {@linkcode DockerSandbox.plan} (default: a fresh one), buffer
   *   bounds, the stderr sink.
   * @returns The running process.
   * @throws {TypeError} When the plan names no container.
   */
  spawn(server: ResolvedServer, options: SandboxSpawnOptions = {}): ServerProcess {
    const plan = options.plan ?? this.plan(server);
    if (!("container" in plan) || typeof plan.container !== "string") {
      throw new TypeError(`Cannot start "${server.name}" in docker: the plan names no container`);
    }
    const audit = options.audit;
    const kind = packageKind(server.specifier);
    const deno = kind !== "pypi" && kind !== "oci";
    // A container package has no Deno to write the audit: its FIFO goes at once, and its log
    // takes the egress proxy's refusals instead, complete (and stored) when the process stops.
    if (audit && !deno) audit.release().catch(() => {});
    const proxyLine = refusalLog();
    // A Deno server whose network goes through the proxy (egressInside): the proxy's refusals
    // (a granted name resolving to a private address) join Deno's own in the log.
    const proxied = "egress" in plan && plan.egress !== undefined;
    const onRefusal = audit && (!deno || proxied)
      ? (refusal: EgressRefusal) => {
        // The proxy's own line keeps the connection's details; the denial says how to allow it.
        proxyLine(refusal);
        audit.log.add(explainRefusal(server, refusal));
      }
      : undefined;
    const limits = effectiveLimits({
      user: this.#options.limits,
      manifest: server.manifest?.limits,
    });
    return spawnDockerServer(
      server.name,
      (audit && deno ? auditedPlan(plan, audit) : plan) as ContainerLaunchPlan,
      {
        explainExit: (status, tail, stopped) =>
          capHitMessage(status, tail, { name: server.name, limits, isolation: "docker", stopped }),
        cacheRoot: this.#options.cacheRoot,
        egressImage: this.#options.egressImage ?? this.#options.image,
        ...(onRefusal ? { onRefusal } : {}),
        ...options,
      },
    );
  }
}

/** The Python pull loads when a `pypi:` server is pulled or prepared, not for every start. */
function pythonModule(): Promise<typeof import("./python_pull.ts")> {
  return import(onUse("./python_pull.ts", import.meta.url)) as Promise<
    typeof import("./python_pull.ts")
  >;
}

/** The OCI pull loads when an `oci:` server is pulled or prepared. */
function ociModule(): Promise<typeof import("./oci_pull.ts")> {
  return import(onUse("./oci_pull.ts", import.meta.url)) as Promise<
    typeof import("./oci_pull.ts")
  >;
}
