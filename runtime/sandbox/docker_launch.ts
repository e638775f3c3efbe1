/**
 * Docker isolation: launch plans that wrap the hardened Deno argv in `docker run`, the pull step
 * that fills a server's code volume, and supervision that leaves no container behind.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { serverDirs } from "./cache_dirs.ts";
import {
  declaredEnv,
  DOCKER_PULL_PROXY_VARS,
  DOCKER_PULL_TLS_VARS,
  DOCKER_RUN_TLS_VARS,
} from "./child_env.ts";
import {
  checkImageReference,
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  DOCKER_LABEL,
  dockerContainerName,
  type DockerLimits,
  dockerPullArgs,
  dockerRunArgs,
  dockerVolumeName,
} from "./docker_args.ts";
import {
  checkDocker,
  DOCKER_CLIENT_VARS,
  type DockerCommandOptions,
  imageExists,
  missingDocker,
  removeContainer,
  runDocker,
  volumeExists,
} from "./docker_engine.ts";
import { trackContainer } from "./child_guard.ts";
import { denoRunArgs } from "./flags.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { CacheError, downloadSummary } from "./pull.ts";
import { type ApprovalOptions, checkApproval } from "../policy/approval.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import { ServerProcess, type SpawnServerOptions, startPlan } from "./server_process.ts";

export { DOCKER_CLIENT_VARS };

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
  /** Container name suffix (default: random). */
  nameSuffix?: string;
  /**
   * Label the container with this launcher's host and pid (default true), so that a later
   * launch removes it once this launcher is gone. Off for a command printed to be run elsewhere.
   */
  launcherLabels?: boolean;
}

/** A launch plan for docker isolation, with the container's name. */
export interface DockerLaunchPlan extends LaunchPlan {
  /** The container's name, used to stop and remove it for sure. */
  container: string;
  /** The code volume mounted read-only. */
  volume: string;
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
 * @throws {RangeError} When a grant cannot be mounted safely.
 * @throws {GrantError} When run as root and a write grant could not be written by the container's
 *   user (see {@linkcode defaultContainerUser}).
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
  const args = dockerRunArgs(server, denoRunArgs(server, { lockFile: CONTAINER_LOCK_FILE }), {
    ...limits(options),
    image,
    volume,
    nameSuffix: suffix,
    network: options.network,
    user: options.user ?? defaultContainerUser(server),
    env: { ...tls.env, ...options.registries, ...server.envValues },
    passEnv,
    labels: options.launcherLabels === false ? {} : launcherLabels(),
    readOnlyPaths: tls.paths,
  });
  return {
    program: options.docker ?? "docker",
    args,
    env,
    cwd: dirs.cwd,
    container: dockerContainerName(server.name, suffix),
    volume,
  };
}

/** What {@linkcode dockerPull} records on the host once a volume holds a server's code. */
export interface DockerPullRecord {
  /** The code volume. */
  volume: string;
  /** The image the code was cached with. */
  image: string;
  /** The exact package. */
  specifier: string;
  /** When the pull finished (ISO 8601). */
  pulledAt: string;
}

/** Options for {@linkcode dockerPull} and {@linkcode prepareDockerServer}. */
export interface DockerPullStepOptions extends DockerLaunchOptions, ApprovalOptions {
  /** Where progress lines go; defaults to stderr. Nothing is written to stdout. */
  progress?: (line: string) => void;
  /** Pull the code when missing (default true); otherwise fail. */
  autoPull?: boolean;
  /**
   * Fetch the image from its registry when the engine lacks it (default false: fail with what to
   * run). Only the explicit pull step sets it; a launch never fetches an image.
   */
  pullImage?: boolean;
}

/**
 * Fills a server's code volume: `deno cache --lock` in a hardened container with network to the
 * registries only; no server code runs. Fetches the image first when it is missing only if
 * `pullImage` is set (the `pull` command); otherwise a missing image is a `CacheError`. Records
 * the pull on the host so later runs start offline.
 *
 * Requires `--allow-run=docker` and write access to the cache root.
 *
 * @param server A resolved server.
 * @param options Cache root, image, network, environment, progress sink.
 * @returns The pull record.
 * @throws {DockerUnavailableError} When docker is missing or its engine is down.
 * @throws {RangeError} When the image is not pinned (no tag, or `latest`).
 * @throws {CacheError} `missing` when the image is not present and `pullImage` is not set.
 * @throws {Error} When the image or the code cannot be pulled (the tail of docker's output says why).
 *
 * @example
 * ```ts ignore
 * import { dockerPull } from "jsr:@sandboxed/mcp-run";
 * await dockerPull(server, { cacheRoot: "/tmp/cache" });
 * ```
 */
export async function dockerPull(
  server: ResolvedServer,
  options: DockerPullStepOptions,
): Promise<DockerPullRecord> {
  await checkApproval(server, options);
  const progress = options.progress ?? ((line: string) => console.error(line));
  const source = options.source ?? Deno.env.toObject();
  const docker = dockerOptions(options, source);
  const image = checkImageReference(options.image ?? DENO_IMAGE);
  const volume = dockerVolumeName(server, { image });
  await checkDocker(docker);
  await ensureImage(server, image, options.pullImage ?? false, docker, progress);
  if (!await pulledVolume(volume, docker) && await volumeExists(volume, docker)) {
    // Created empty by a `docker run` after the volume was removed: start afresh.
    const out = await runDocker(["volume", "rm", "--", volume], docker);
    if (out.code !== 0) throw new Error(`Cannot remove volume "${volume}": ${out.stderr.trim()}`);
  }
  if (!await volumeExists(volume, docker)) {
    const out = await runDocker([
      "volume",
      "create",
      "--label",
      `${DOCKER_LABEL}=1`,
      "--label",
      `${DOCKER_LABEL}.server=${server.name}`,
      volume,
    ], docker);
    if (out.code !== 0) throw new Error(`Cannot create volume "${volume}": ${out.stderr.trim()}`);
  }
  const passEnv = DOCKER_PULL_PROXY_VARS.filter((name) => source[name] !== undefined);
  const tls = tlsTrust(source, DOCKER_PULL_TLS_VARS);
  const args = dockerPullArgs(server, {
    ...limits(options),
    image,
    volume,
    network: options.network,
    nameSuffix: randomSuffix(),
    env: { ...tls.env, ...options.registries },
    passEnv,
    labels: launcherLabels(),
    readOnlyPaths: tls.paths,
  });
  progress(`Pulling ${server.specifier} into docker volume ${volume}`);
  const out = await runDocker(args, {
    ...docker,
    env: { ...docker.env, ...pick(source, passEnv) },
  });
  const lines = out.stderr.split("\n").filter((l) => l.trim());
  if (out.code !== 0) {
    throw new Error(
      `Cannot pull ${server.specifier} into docker volume ${volume}: the pull container exited ` +
        `with code ${out.code}\n${lines.slice(-8).join("\n")}`,
    );
  }
  const downloaded = downloadSummary(lines);
  if (downloaded) progress(downloaded);
  const record: DockerPullRecord = {
    volume,
    image,
    specifier: server.specifier,
    pulledAt: new Date().toISOString(),
  };
  await Deno.mkdir(join(options.cacheRoot, "docker"), { recursive: true });
  await Deno.writeTextFile(pullRecordPath(options.cacheRoot, volume), JSON.stringify(record));
  progress(`Pulled ${server.name} into ${volume}`);
  return record;
}

/** A server ready to start in docker, with its engine check possibly still running. */
export interface PreparedDockerServer {
  /**
   * Confirms that the engine answers and the code volume is the pulled one, then starts removing
   * containers left by launchers that died (off the start-up path; stopping a docker server waits
   * for it). Call it right after starting the container, so the check overlaps its start-up, and
   * pass none of the server's output on before it resolves.
   */
  verify(): Promise<void>;
}

/**
 * Makes a server ready to run in docker. When it was pulled before (a pull record on the host),
 * nothing is awaited: the engine, image and volume checks run in `verify`, alongside the
 * container's start. Otherwise checks the engine, removes containers left by launchers that
 * died, and pulls the image and code (if allowed).
 *
 * @param server A resolved server.
 * @param options Cache root, image, environment, pull policy.
 * @returns The pending checks.
 * @throws {DockerUnavailableError} When docker is missing or its engine is down (also from
 *   `verify`).
 * @throws {CacheError} `missing` when the code was never pulled and auto-pull is off, or (from
 *   `verify`) when the image or the volume is gone.
 *
 * @example
 * ```ts ignore
 * import { dockerLaunchPlan, prepareDockerServer, spawnDockerServer } from "jsr:@sandboxed/mcp-run";
 * const { verify } = await prepareDockerServer(server, { cacheRoot: "/tmp/cache" });
 * const child = spawnDockerServer(server.name, dockerLaunchPlan(server, { cacheRoot: "/tmp/cache" }));
 * await verify();
 * ```
 */
export async function prepareDockerServer(
  server: ResolvedServer,
  options: DockerPullStepOptions,
): Promise<PreparedDockerServer> {
  await checkApproval(server, options);
  const source = options.source ?? Deno.env.toObject();
  const docker = dockerOptions(options, source);
  const image = options.image ?? DENO_IMAGE;
  const volume = dockerVolumeName(server, { image });
  await Deno.mkdir(serverDirs(server.name, server.specifier, options.cacheRoot).cwd, {
    recursive: true,
  });
  let record: DockerPullRecord | undefined;
  try {
    record = JSON.parse(await Deno.readTextFile(pullRecordPath(options.cacheRoot, volume)));
  } catch { /* never pulled */ }
  if (record?.volume === volume && record.image === image) {
    const recordPath = pullRecordPath(options.cacheRoot, volume);
    return { verify: () => verifyReady(server, image, volume, docker, recordPath) };
  }
  await checkDocker(docker);
  await reapOrphans(docker);
  if (options.autoPull === false) {
    throw new CacheError(
      "missing",
      `"${server.name}" (${server.specifier}) is not pulled into docker yet: run mcp-run pull ` +
        `${server.name} --isolation docker`,
    );
  }
  await dockerPull(server, options);
  return { verify: () => Promise.resolve() };
}

async function verifyReady(
  server: ResolvedServer,
  image: string,
  volume: string,
  docker: DockerCommandOptions,
  recordPath: string,
): Promise<void> {
  // Only the volume is checked up front: `docker run` creates a missing named volume, empty and
  // unlabelled. A missing image makes `docker run --pull never` itself fail with its name.
  if (!await pulledVolume(volume, docker)) {
    await checkDocker(docker);
    await Deno.remove(recordPath).catch(() => {});
    const hasImage = await imageExists(image, docker);
    throw new CacheError(
      "missing",
      hasImage
        ? `The code volume ${volume} of "${server.name}" is gone: run mcp-run pull ` +
          `${server.name} --isolation docker`
        : `The image ${image} is not present: run mcp-run pull ${server.name} --isolation ` +
          `docker (or docker pull ${image})`,
    );
  }
  // Leftovers of launchers that died are removed while this one starts, off the start-up path;
  // stopping a server waits for it, so even a short command finishes the job before it exits.
  reapOrphans(docker);
}

/** The removal of orphaned containers under way, if any. */
let reaping: Promise<void> | undefined;

/**
 * Waits for the removal of orphaned containers that a launch started, if one is under way.
 *
 * @returns When no removal is running.
 */
export async function orphanRemoval(): Promise<void> {
  await reaping;
}

/** Starts removing orphaned containers (once at a time); stopping a server awaits it. */
function reapOrphans(docker: DockerCommandOptions): Promise<void> {
  reaping ??= removeOrphanContainers(docker).then(
    () => {},
    () => {},
  ).finally(() => reaping = undefined);
  return reaping;
}

/**
 * A server running in a container. Stopping it (or killing it with SIGKILL) also removes the
 * container by name, so neither a crash of the docker client nor a server that ignores signals
 * leaves one behind.
 */
export class DockerServerProcess extends ServerProcess {
  /** The container's name. */
  readonly container: string;
  #docker: DockerCommandOptions;
  #removed?: Promise<void>;
  #untrack: () => void;

  /** Use {@linkcode spawnDockerServer}. */
  constructor(
    name: string,
    child: Deno.ChildProcess,
    container: string,
    docker: DockerCommandOptions,
    options: SpawnServerOptions,
  ) {
    super(name, child, options);
    this.container = container;
    this.#docker = docker;
    // Removed if the launcher dies first (when it guards its children).
    this.#untrack = trackContainer(container, docker.docker);
  }

  /**
   * Sends a signal to the docker client (which passes SIGINT and SIGTERM on to the server);
   * SIGKILL also removes the container.
   *
   * @param signal The signal.
   */
  override kill(signal: Deno.Signal = "SIGTERM"): void {
    super.kill(signal);
    if (signal === "SIGKILL") this.remove().catch(() => {});
  }

  /**
   * Stops the server (close stdin → SIGTERM → SIGKILL), then removes the container for sure, and
   * waits for a removal of orphaned containers that a launch started.
   *
   * @param graceMs How long each step waits (default 2000).
   * @returns How the docker client exited.
   */
  override async stop(graceMs = 2000): Promise<Deno.CommandStatus> {
    const status = await super.stop(graceMs);
    await this.remove().catch(() => {});
    await reaping;
    return status;
  }

  /**
   * Removes the container (`docker rm -f`); safe to call more than once.
   *
   * @returns When it is gone.
   */
  remove(): Promise<void> {
    this.#removed ??= removeContainer(this.container, this.#docker).then(this.#untrack);
    return this.#removed;
  }
}

/**
 * Starts a docker launch plan: the docker client with exactly the planned environment, stdio
 * piped, stdout split into bounded lines. Requires `--allow-run=docker`.
 *
 * @param name The server's name, for messages.
 * @param plan A plan from {@linkcode dockerLaunchPlan}.
 * @param options Buffer bounds and the stderr sink.
 * @returns The running process.
 * @throws {DockerUnavailableError} When the docker command is not installed.
 *
 * @example
 * ```ts ignore
 * import { dockerLaunchPlan, spawnDockerServer } from "jsr:@sandboxed/mcp-run";
 * const child = spawnDockerServer("memory", dockerLaunchPlan(server, { cacheRoot }));
 * await child.stop();
 * ```
 */
export function spawnDockerServer(
  name: string,
  plan: DockerLaunchPlan,
  options: SpawnServerOptions = {},
): DockerServerProcess {
  let child: Deno.ChildProcess;
  try {
    child = startPlan(plan);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw missingDocker(plan.program, error);
    throw error;
  }
  return new DockerServerProcess(
    name,
    child,
    plan.container,
    { docker: plan.program, env: plan.env },
    options,
  );
}

/**
 * Removes mcp-run containers whose launcher (on this host) is no longer running: what a launcher
 * killed with SIGKILL leaves behind. Linux only (elsewhere it removes nothing).
 *
 * @param options The docker client and its environment.
 * @returns The names of the removed containers.
 */
export async function removeOrphanContainers(
  options: DockerCommandOptions = {},
): Promise<string[]> {
  const host = hostName();
  if (Deno.build.os !== "linux" || !host) return [];
  const out = await runDocker([
    "ps",
    "-a",
    "--filter",
    `label=${DOCKER_LABEL}=1`,
    "--filter",
    `label=${DOCKER_LABEL}.launcher-host=${host}`,
    "--format",
    `{{.Names}} {{.Label "${DOCKER_LABEL}.launcher-pid"}}`,
  ], options);
  if (out.code !== 0) return [];
  const removed: string[] = [];
  for (const line of out.stdout.split("\n")) {
    const [name, pid] = line.trim().split(" ");
    if (!name || !/^[0-9]+$/.test(pid ?? "") || Number(pid) === Deno.pid) continue;
    try {
      Deno.statSync(`/proc/${pid}`);
      continue;
    } catch { /* its launcher is gone */ }
    await removeContainer(name, options).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/** Whether the volume exists and was created by a pull (it carries mcp-run's label). */
async function pulledVolume(volume: string, docker: DockerCommandOptions): Promise<boolean> {
  const out = await runDocker(
    ["volume", "inspect", "--format", `{{index .Labels "${DOCKER_LABEL}"}}`, "--", volume],
    docker,
  );
  return out.code === 0 && out.stdout.trim() === "1";
}

async function ensureImage(
  server: ResolvedServer,
  image: string,
  pullImage: boolean,
  docker: DockerCommandOptions,
  progress: (line: string) => void,
): Promise<void> {
  if (await imageExists(image, docker)) return;
  if (!pullImage) {
    throw new CacheError(
      "missing",
      `The image ${image} is not present, and a launch never fetches images: run mcp-run pull ` +
        `${server.name} --isolation docker${image === DENO_IMAGE ? "" : ` --image ${image}`} ` +
        `(or docker pull ${image})`,
    );
  }
  progress(`Pulling image ${image}`);
  const out = await runDocker(["pull", "--", image], docker);
  if (out.code !== 0) {
    throw new Error(`Cannot pull the image ${image}: ${out.stderr.trim().split("\n").at(-1)}`);
  }
}

/**
 * The TLS trust settings to give a container: a variable naming a CA file is rewritten to the
 * file's canonical path, which is mounted read-only; a file that does not exist is left out.
 */
function tlsTrust(
  source: Record<string, string>,
  names: readonly string[],
): { env: Record<string, string>; paths: string[] } {
  const env: Record<string, string> = {};
  const paths: string[] = [];
  for (const name of names) {
    const value = source[name];
    if (!value) continue;
    if (name === "DENO_TLS_CA_STORE") {
      env[name] = value;
      continue;
    }
    try {
      const file = Deno.realPathSync(value);
      if (!Deno.statSync(file).isFile) continue;
      env[name] = file;
      if (!paths.includes(file)) paths.push(file);
    } catch { /* not a readable file: the container could not use it either */ }
  }
  return { env, paths };
}

function dockerOptions(
  options: DockerLaunchOptions,
  source: Record<string, string>,
): DockerCommandOptions {
  return { docker: options.docker ?? "docker", env: clientEnv(source) };
}

function clientEnv(source: Record<string, string>): Record<string, string> {
  return pick(source, DOCKER_CLIENT_VARS);
}

function pick(source: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) if (source[name] !== undefined) out[name] = source[name];
  return out;
}

function limits(options: Partial<DockerLimits>): Partial<DockerLimits> {
  const { memory, cpus, pidsLimit, tmpfsSize, nofile } = options;
  return { memory, cpus, pidsLimit, tmpfsSize, nofile };
}

function launcherLabels(): Record<string, string> {
  const host = hostName();
  return host
    ? {
      [`${DOCKER_LABEL}.launcher-host`]: host,
      [`${DOCKER_LABEL}.launcher-pid`]: String(Deno.pid),
    }
    : {};
}

function hostName(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    return undefined;
  }
}

function pullRecordPath(cacheRoot: string, volume: string): string {
  return join(cacheRoot, "docker", `${volume}.json`);
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
