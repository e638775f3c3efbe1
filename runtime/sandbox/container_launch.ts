/**
 * Launch plans of the container packages (`pypi:`, `oci:`): the hardened `docker run` of each
 * kind, with the container's name, the user it runs as, and only the environment the docker
 * client needs.
 *
 * @module
 */
import { packageKind } from "../policy/package_kind.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import { clientEnv, limits, randomSuffix, tlsTrust } from "./_docker_inputs.ts";
import { egressClientEnv, egressNetwork, egressSidecarName } from "./egress_sidecar.ts";
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

/** The egress path a plan needs: the sidecar's name and what the proxy allows and refuses. */
export interface PlannedEgress {
  /** The sidecar container (`egressSidecarName` of the server and the plan's suffix). */
  sidecar: string;
  /** The container's name suffix, which the sidecar's name derives from. */
  suffix: string;
  /** Grants as `ResolvedServer.net` holds them. */
  allow: string[];
  /** Addresses refused after resolution (`ResolvedServer.denyNet`). */
  deny: string[];
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
  const planned = plannedEgress(server, suffix, options);
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
      network: egressNetwork(planned.sidecar),
      ...tlsEnv(source),
    }),
  };
  const kind = packageKind(server.specifier);
  let args: string[];
  if (kind === "pypi") {
    const image = pythonImageOf(server, options.pythonImage);
    const codeDir = pythonDirs(server, image, options.cacheRoot).code;
    args = pythonRunArgs(server, { ...common, image, codeDir });
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
  if (options.launcherLabels === false) {
    throw new GrantError(
      "permissions.net",
      `Cannot write "${server.name}" (${server.specifier}) as a command to copy: it reaches ` +
        `${server.net.join(", ")} only through mcp-run's egress proxy, which a copied docker ` +
        "command cannot start. Start it with mcp-run run (or a launcher-form client entry)",
    );
  }
  return {
    sidecar: egressSidecarName(server.name, suffix),
    suffix,
    allow: [...server.net],
    deny: [...server.denyNet],
  };
}

/** The proxy variables and the launcher's TLS trust (CA files mounted read-only). */
function tlsEnv(
  source: Record<string, string>,
): { env: Record<string, string>; readOnlyPaths: string[] } {
  const tls = tlsTrust(source, CONTAINER_TLS_VARS);
  return { env: { ...egressClientEnv(), ...tls.env }, readOnlyPaths: tls.paths };
}
