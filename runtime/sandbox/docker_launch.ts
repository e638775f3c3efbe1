/**
 * Docker launch plans: `docker run` around the hardened Deno argv, with the container's name,
 * the user it runs as, and only the environment the docker client needs.
 *
 * @module
 */
import { dirname } from "../_path.ts";
import { serverDirs } from "./cache_dirs.ts";
import { declaredEnv, DOCKER_RUN_TLS_VARS } from "./child_env.ts";
import { dockerRunArgs } from "./docker_args.ts";
import { checkDockerMounts, type DockerLimits } from "./docker_checks.ts";
import {
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  dockerContainerName,
  dockerVolumeName,
} from "./docker_names.ts";
import { clientEnv, limits, randomSuffix, tlsTrust } from "./_docker_inputs.ts";
import { launcherLabels } from "./docker_orphans.ts";
import { denoRunArgs } from "./flags.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { effectiveLimits, type ResourceLimits } from "./resource_caps.ts";
import { existingProtectedPaths, serverProtectedPaths } from "./write_protection.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import type { PlannedEgress } from "./container_launch.ts";
import { copiedCommandError, insideEgress, plannedInside } from "./egress_inside.ts";

/** Options for {@linkcode dockerLaunchPlan}, {@linkcode dockerPull} and friends. */
export interface DockerLaunchOptions extends Partial<DockerLimits> {
  /** mcp-run's cache root (pull records, the neutral working folder). */
  cacheRoot: string;
  /** The image (default {@linkcode DENO_IMAGE}). */
  image?: string;
  /** Network for servers that declare some, and for the pull container (default `bridge`). */
  network?: string;
  /** `uid:gid` in the container (default {@linkcode defaultContainerUser}). */
  user?: string;
  /** The launcher's environment: declared variables and docker client settings come from it. */
  source?: Record<string, string>;
  /** Registry overrides (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
  /** The docker client (default `docker`). */
  docker?: string;
  /**
   * The user's memory caps for every server (a manifest may raise them): the heap cap of the
   * Deno inside, and `--memory` unless that is given.
   */
  limits?: Partial<ResourceLimits>;
  /** Where notes go (a write grant too large to scan whole); defaults to stderr. */
  progress?: (line: string) => void;
  /** Container name suffix (default: random). */
  nameSuffix?: string;
  /**
   * Label the container with this launcher's host and pid (default true), so that a later
   * launch removes it once this launcher is gone. Off for a command printed to be run elsewhere.
   */
  launcherLabels?: boolean;
  /**
   * The container's egress cap in bits per second (`--egress-rate`; see `parseRate`), set on
   * its interface once it runs (`capContainerEgress`). A server without network has nothing to
   * cap.
   */
  egressRate?: number;
  /**
   * The engine's OCI runtime the server runs under (`runsc` for gVisor; see `GvisorSandbox`).
   * Default: the engine's default. The pull container never takes it: no server code runs there.
   */
  runtime?: string;
  /**
   * Servers with `net` grants reach the network through mcp-run's egress proxy from inside
   * their own container (`--network none`, the proxy's socket mounted, a forwarder run first;
   * see `insideEgress`), instead of a docker network (Deno servers) or an egress sidecar
   * (`pypi:`). For runtimes whose containers cannot share loopback with a sidecar: gVisor.
   * Such a plan cannot be run elsewhere (`launcherLabels: false` is refused), and `oci:`
   * servers with `net` grants are refused (no forwarder can run in an arbitrary image).
   */
  egressInside?: boolean;
}

/** A launch plan for docker isolation, with the container's name. */
export interface DockerLaunchPlan extends LaunchPlan {
  /** The container's name, used to stop and remove it for sure. */
  container: string;
  /** The code volume mounted read-only. */
  volume: string;
  /** The egress cap to set once the container runs, in bits per second. */
  egressRate?: number;
  /** For a server with `net` grants under `egressInside`: the proxy started before it. */
  egress?: PlannedEgress;
}

/**
 * The `uid:gid` a container runs as by default. When the launcher is not root: its own ids, so
 * granted folders are written with the user's ownership. When it is root (containers never run
 * as root): the owner of the server's write grants when that is not root, else the image's
 * `deno` user (1993); a write grant that user could not write is refused before launch, with
 * what to do.
 *
 * Reads the owners and modes of the write grants (when run as root).
 *
 * @param server The server whose write grants decide (default: none).
 * @returns A non-root `uid:gid`.
 * @throws {GrantError} When run as root and a write grant belongs to root without being writable
 *   by the container's user, or the write grants belong to different users.
 *
 * @example
 * ```ts
 * import { defaultContainerUser } from "./docker_launch.ts";
 * console.log(/^[1-9][0-9]*:[0-9]+$/.test(defaultContainerUser())); // true
 * ```
 */
export function defaultContainerUser(server?: Pick<ResolvedServer, "name" | "write">): string {
  let uid: number | null = null;
  let gid: number | null = null;
  try {
    uid = Deno.uid();
    gid = Deno.gid();
  } catch { /* no permission: use the image's user */ }
  if (uid && gid !== null) return `${uid}:${gid}`;
  if (!server || server.write.length === 0) return CONTAINER_USER;
  const grants = server.write.map((path) => ({ path, info: ownerOf(path) }));
  const owners = [
    ...new Set(
      grants.filter((g) => g.info && g.info.uid !== 0).map((g) => `${g.info!.uid}:${g.info!.gid}`),
    ),
  ];
  if (owners.length > 1) {
    throw new GrantError(
      "permissions.write",
      `Cannot run "${server.name}" in docker: its write grants belong to different users ` +
        `(${owners.join(", ")}), and one container runs as one user. Give them to one user ` +
        `(chown -R), then run again`,
    );
  }
  const user = owners[0] ?? CONTAINER_USER;
  const [userUid, userGid] = user.split(":").map(Number);
  for (const { path, info } of grants) {
    if (!info || writableBy(info, userUid, userGid)) continue;
    throw new GrantError(
      "permissions.write",
      `Cannot let "${server.name}" write "${path}" in docker: it belongs to root, and containers ` +
        `never run as root (the container would run as ${user}). Give the folder to a user ` +
        `(for example: chown -R ${user} "${path}") and run again, or run mcp-run as that user`,
    );
  }
  return user;
}

/** The owner and mode of a path, or of its nearest existing parent; undefined when unknown. */
function ownerOf(path: string): { uid: number; gid: number; mode: number } | undefined {
  for (let p = path; p !== "/" && p !== ""; p = dirname(p)) {
    try {
      const info = Deno.statSync(p);
      if (info.uid === null || info.gid === null || info.mode === null) return undefined;
      return { uid: info.uid, gid: info.gid, mode: info.mode };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) return undefined;
    }
  }
  return undefined;
}

function writableBy(
  info: { uid: number; gid: number; mode: number },
  uid: number,
  gid: number,
): boolean {
  if (info.uid === uid) return (info.mode & 0o200) !== 0;
  if (info.gid === gid) return (info.mode & 0o020) !== 0;
  return (info.mode & 0o002) !== 0;
}

/**
 * Builds the docker launch plan for a server: `docker run` (see `dockerRunArgs`) around the same
 * Deno argv as native mode, with the lockfile and code in the read-only volume. The docker
 * client's environment holds only its own settings and the declared variables' values, which
 * reach the container by name. Creates nothing.
 *
 * @param server A resolved server.
 * @param options Cache root, image, limits, environment.
 * @returns The plan, with the container's name.
 * @throws {TypeError} When a required variable or secret is not set.
 * @throws {GrantError} When a grant's path cannot be mounted (see `checkDockerMounts`), or when
 *   run as root and a write grant could not be written by the container's user (see
 *   {@linkcode defaultContainerUser}).
 * @throws {RangeError} When a grant cannot be mounted safely.
 *
 * @example
 * ```ts
 * import { dockerLaunchPlan } from "./docker_launch.ts";
 * const plan = dockerLaunchPlan({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { cacheRoot: "/c", source: {}, nameSuffix: "s1" });
 * console.log(plan.program, plan.container); // docker mcp-run-t-s1
 * ```
 */
export function dockerLaunchPlan(
  server: ResolvedServer,
  options: DockerLaunchOptions,
): DockerLaunchPlan {
  checkDockerMounts(server);
  const source = options.source ?? Deno.env.toObject();
  const image = options.image ?? DENO_IMAGE;
  const volume = dockerVolumeName(server, { image });
  const suffix = options.nameSuffix ?? randomSuffix();
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  // Checks required variables and expands PREFIX_* patterns against the source, as natively.
  const declared = declaredEnv(server, { source });
  const passEnv = Object.keys(declared).filter((name) => !(name in server.envValues)).sort();
  const env: Record<string, string> = clientEnv(source);
  for (const name of passEnv) env[name] = declared[name];
  const tls = server.net.length > 0
    ? tlsTrust(source, DOCKER_RUN_TLS_VARS)
    : { env: {}, paths: [] };
  const caps = effectiveLimits({ user: options.limits, manifest: server.manifest?.limits });
  // Holding folders (.git) are denied and mounted read-only whole: a mount over a folder cannot
  // be renamed away (EBUSY), while mounts over what is inside it move with the folder.
  const denyWrite = serverProtectedPaths(server, { note: options.progress });
  const denoArgs = denoRunArgs(server, { lockFile: CONTAINER_LOCK_FILE, limits: caps, denyWrite });
  const inside = options.egressInside && server.net.length > 0
    ? insidePlan(server, options, suffix)
    : undefined;
  const args = dockerRunArgs(server, denoArgs, {
    ...limits(options),
    memory: options.memory ?? `${caps.memoryMb}m`,
    image,
    volume,
    nameSuffix: suffix,
    network: options.network,
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    user: options.user ?? defaultContainerUser(server),
    env: { ...tls.env, ...options.registries, ...server.envValues },
    passEnv,
    labels: options.launcherLabels === false ? {} : launcherLabels(),
    readOnlyPaths: tls.paths,
    protectedPaths: existingProtectedPaths(denyWrite),
    ...(inside ? { inside: inside.egress } : {}),
  });
  // Shaping the host's own interfaces is never what a cap means.
  if (options.egressRate !== undefined && server.net.length > 0 && options.network === "host") {
    throw new RangeError(
      `Cannot cap the egress of "${server.name}" on --network host: the cap shapes the ` +
        `container's own interface; choose another network or drop --egress-rate`,
    );
  }
  return {
    program: options.docker ?? "docker",
    args,
    env,
    cwd: dirs.cwd,
    container: dockerContainerName(server.name, suffix),
    volume,
    ...(options.egressRate !== undefined && server.net.length > 0
      ? { egressRate: options.egressRate }
      : {}),
    ...(inside ? { egress: inside.planned } : {}),
  };
}

/**
 * The egress of a Deno server with `net` grants run with `egressInside`: the forwarder in its
 * own container, the proxy started first by the launcher. Refused for a command to be run
 * elsewhere (no launcher to run the proxy) and with an egress cap (no interface to shape).
 */
function insidePlan(server: ResolvedServer, options: DockerLaunchOptions, suffix: string) {
  if (options.launcherLabels === false) throw copiedCommandError(server);
  if (options.egressRate !== undefined) {
    throw new RangeError(
      `Cannot cap the egress of "${server.name}" here: its container has no network interface ` +
        "(its network goes through mcp-run's egress proxy); drop --egress-rate",
    );
  }
  const egress = insideEgress({ cacheRoot: options.cacheRoot, suffix, runtime: "deno" });
  return { egress, planned: plannedInside(server, suffix, egress) };
}
