/**
 * Launch plans of the container packages (`pypi:`, `oci:`): the hardened `docker run` of each
 * kind, with the container's name, the user it runs as, and only the environment the docker
 * client needs.
 *
 * @module
 */
import { packageKind } from "../policy/package_kind.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { refuseInsideEgress } from "../policy/_grant_rules.ts";
import { clientEnv, limits, randomSuffix, tlsTrust } from "./_docker_inputs.ts";
import { egressClientEnv, egressNetwork, egressSidecarName } from "./egress_sidecar.ts";
import {
  copiedCommandError,
  type InsideEgress,
  insideEgress,
  plannedInside,
} from "./egress_inside.ts";
import { serverDirs } from "./cache_dirs.ts";
import { declaredEnv } from "./child_env.ts";
import type { ContainerPackageOptions } from "./container_options.ts";
import { checkDockerMounts } from "./docker_checks.ts";
import { defaultContainerUser } from "./docker_launch.ts";
import { dockerContainerName } from "./docker_names.ts";
import { launcherLabels } from "./docker_orphans.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { ociRunArgs } from "./oci_plan.ts";
import { pythonDirs, pythonImageOf, pythonRunArgs } from "./python_plan.ts";
import { effectiveLimits } from "./resource_caps.ts";
import {
  absentProtectedNote,
  existingProtectedPaths,
  serverProtectedPaths,
} from "./write_protection.ts";

/** A launch plan of a container package, with the container's name. */
export interface ContainerLaunchPlan extends LaunchPlan {
  /** The container's name, used to stop and remove it for sure. */
  container: string;
  /**
   * For a server with `net` grants: the egress proxy and sidecar started before the container
   * (see `startEgress`), whose network namespace the container joins.
   */
  egress?: PlannedEgress;
}

/**
 * The egress path a plan needs: the sidecar's name (or, with the forwarder inside the server's
 * container, the proxy's socket and the forwarder to write) and what the proxy allows and
 * refuses.
 */
export interface PlannedEgress {
  /**
   * The sidecar container (`egressSidecarName` of the server and the plan's suffix); absent
   * when the forwarder runs inside the server's container (`inside`).
   */
  sidecar?: string;
  /** The container's name suffix, which the sidecar's name derives from. */
  suffix: string;
  /** Grants as `ResolvedServer.net` holds them. */
  allow: string[];
  /** Addresses refused after resolution (`ResolvedServer.denyNet`). */
  deny: string[];
  /**
   * Proxy only, no sidecar: the forwarder runs inside the server's container (see
   * `insideEgress`). The proxy listens on `socketPath`, in a folder made for this launch; the
   * forwarder of `runtime` (see `forwarderOf`) is written into `forwarderDir`.
   */
  inside?: { socketPath: string; forwarderDir: string; runtime: "deno" | "python" };
}

/** TLS trust a Python or OCI server with network access gets from the launcher's environment. */
const CONTAINER_TLS_VARS: readonly string[] = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"];

/**
 * Builds the launch plan of a `pypi:` or `oci:` server (see `pythonRunArgs`, `ociRunArgs`). The
 * docker client's environment holds only its own settings and the declared variables' values,
 * which reach the container by name. Creates nothing.
 *
 * @param server A resolved `pypi:` or `oci:` server.
 * @param options Cache root, Python image, limits, environment, egress.
 * @returns The plan.
 * @throws {TypeError} When a required variable or secret is not set, or the package is of
 *   another kind.
 * @throws {GrantError} When a grant cannot be mounted, or the server declares network access
 *   and no egress proxy is given.
 * @throws {RangeError} When a grant, limit or image cannot be written safely.
 *
 * @example
 * ```ts
 * import { containerLaunchPlan } from "./container_launch.ts";
 * const plan = containerLaunchPlan({
 *   name: "time", specifier: "pypi:mcp-server-time@2026.10.19", args: [], read: [], write: [],
 *   net: [], denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [],
 *   run: [], ffi: [], params: {},
 * }, { cacheRoot: "/c", source: {}, nameSuffix: "s1" });
 * console.log(plan.program, plan.container); // docker mcp-run-time-s1
 * ```
 */
export function containerLaunchPlan(
  server: ResolvedServer,
  options: ContainerPackageOptions,
): ContainerLaunchPlan {
  checkDockerMounts(server);
  const source = options.source ?? Deno.env.toObject();
  const suffix = options.nameSuffix ?? randomSuffix();
  const declared = declaredEnv(server, { source });
  const passEnv = Object.keys(declared).filter((name) => !(name in server.envValues)).sort();
  const env: Record<string, string> = clientEnv(source);
  for (const name of passEnv) env[name] = declared[name];
  const kind = packageKind(server.specifier);
  const inside = insideOf(server, suffix, options);
  const planned = inside
    ? plannedInside(server, suffix, inside)
    : plannedEgress(server, suffix, options);
  const caps = effectiveLimits({ user: options.limits, manifest: server.manifest?.limits });
  const protectedPaths = mountedProtectedPaths(server, options.progress);
  const common = {
    ...limits(options),
    memory: options.memory ?? `${caps.memoryMb}m`,
    protectedPaths,
    nameSuffix: options.unnamed ? undefined : suffix,
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    user: options.user ?? defaultContainerUser(server),
    env: { ...server.envValues },
    passEnv,
    labels: options.launcherLabels === false ? {} : launcherLabels(),
    egress: options.egress ?? (planned && {
      network: planned.sidecar === undefined ? "none" : egressNetwork(planned.sidecar),
      ...tlsEnv(source),
    }),
  };
  let args: string[];
  if (kind === "pypi") {
    const image = pythonImageOf(server, options.pythonImage);
    const codeDir = pythonDirs(server, image, options.cacheRoot).code;
    args = pythonRunArgs(server, { ...common, image, codeDir, ...(inside ? { inside } : {}) });
  } else if (kind === "oci") {
    args = ociRunArgs(server, common);
  } else {
    throw new TypeError(`Cannot plan "${server.specifier}" as a container package`);
  }
  return {
    program: options.docker ?? "docker",
    args,
    env,
    cwd: serverDirs(server.name, server.specifier, options.cacheRoot).cwd,
    container: dockerContainerName(server.name, suffix),
    ...(planned ? { egress: planned } : {}),
  };
}

/** The servers whose absent protected paths were named: each `serve` session plans again. */
const notedAbsent = new WeakSet<ResolvedServer>();

/**
 * The protected paths to mount read-only, holding folders whole (a mount over `.git` cannot be
 * renamed away; one over `.git/hooks` moves with `.git`). Those absent at launch cannot be
 * mounted without creating them in the user's folder: a note says they stay writable.
 */
function mountedProtectedPaths(
  server: ResolvedServer,
  progress: ((line: string) => void) | undefined,
): string[] {
  const note = progress ?? ((line: string) => console.error(line));
  const denied = serverProtectedPaths(server, { note });
  const existing = existingProtectedPaths(denied);
  const absent = absentProtectedNote(denied, existing);
  if (absent && !notedAbsent.has(server)) note(absent);
  notedAbsent.add(server);
  return existing;
}

/**
 * The egress a server with `net` grants needs when no egress is given: a sidecar named after
 * the container. A plan to be run elsewhere (no launcher labels) cannot start the proxy.
 */
function plannedEgress(
  server: ResolvedServer,
  suffix: string,
  options: ContainerPackageOptions,
): PlannedEgress | undefined {
  if (server.net.length === 0 || options.egress) return undefined;
  if (options.launcherLabels === false) throw copiedCommandError(server);
  return {
    sidecar: egressSidecarName(server.name, suffix),
    suffix,
    allow: [...server.net],
    deny: [...server.denyNet],
  };
}

/**
 * With `egressInside`, the egress of a server with `net` grants: a Python forwarder in a `pypi:`
 * server's container. An `oci:` image holds no runtime mcp-run can run a forwarder with, and a
 * command to be run elsewhere has no launcher to run the proxy: both are refused.
 */
function insideOf(
  server: ResolvedServer,
  suffix: string,
  options: ContainerPackageOptions,
): InsideEgress | undefined {
  if (!options.egressInside || server.net.length === 0 || options.egress) return undefined;
  refuseInsideEgress(server);
  if (options.launcherLabels === false) throw copiedCommandError(server);
  return insideEgress({ cacheRoot: options.cacheRoot, suffix, runtime: "python" });
}

/** The proxy variables and the launcher's TLS trust (CA files mounted read-only). */
function tlsEnv(
  source: Record<string, string>,
): { env: Record<string, string>; readOnlyPaths: string[] } {
  const tls = tlsTrust(source, CONTAINER_TLS_VARS);
  return { env: { ...egressClientEnv(), ...tls.env }, readOnlyPaths: tls.paths };
}
