/**
 * Docker pull: fills a server's code volume in a hardened container, records it on the host,
 * and makes a pulled server ready to start with its checks overlapping the container's start.
 *
 * @module
 */
import { fetchImage } from "./_fetch_image.ts";
import { join } from "../_path.ts";
import { serverDirs } from "./cache_dirs.ts";
import { DOCKER_PULL_PROXY_VARS, DOCKER_PULL_TLS_VARS } from "./child_env.ts";
import { dockerPullArgs } from "./docker_args.ts";
import { checkDockerMounts, checkImageReference } from "./docker_checks.ts";
import { DENO_IMAGE, DOCKER_LABEL, dockerVolumeName } from "./docker_names.ts";
import { checkDocker, type DockerCommandOptions, imageExists, runDocker } from "./docker_engine.ts";
import type { DockerLaunchOptions } from "./docker_launch.ts";
import { launcherLabels, reapOrphans, reapOrphansLater } from "./docker_orphans.ts";
import { dockerOptions, limits, pick, randomSuffix, tlsTrust } from "./_docker_inputs.ts";
import { CacheError, downloadSummary } from "./pull.ts";
import { type ApprovalOptions, checkApproval } from "../policy/approval.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

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
  /**
   * A check run alongside the approval check of `prepare` that must pass before anything is
   * pulled or started (gVisor's runtime check); its rejection is `prepare`'s.
   */
  precheck?: Promise<void>;
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
 * @throws {GrantError} When a grant's path cannot be mounted (see `checkDockerMounts`).
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
  checkDockerMounts(server);
  await checkApproval(server, options);
  const docker = dockerOptions(options, options.source ?? Deno.env.toObject());
  const image = checkImageReference(options.image ?? DENO_IMAGE);
  return await fillVolume(server, options, { docker, image, engine: checkDocker(docker) });
}

/** The docker client, the checked image, and the engine check, started (or passed) already. */
interface FillContext {
  docker: DockerCommandOptions;
  image: string;
  engine: Promise<unknown>;
}

/**
 * The pull itself, once approved: the engine check, the image and the volume's state are asked
 * at once, then the volume is filled and recorded.
 */
async function fillVolume(
  server: ResolvedServer,
  options: DockerPullStepOptions,
  { docker, image, engine }: FillContext,
): Promise<DockerPullRecord> {
  const progress = options.progress ?? ((line: string) => console.error(line));
  const source = options.source ?? Deno.env.toObject();
  const volume = dockerVolumeName(server, { image });
  const [, hasImage, state] = await Promise.all([
    engine,
    imageExists(image, docker),
    volumeState(volume, docker),
  ]);
  if (!hasImage) {
    await fetchImage(image, {
      ...docker,
      pullImage: options.pullImage ?? false,
      progress,
      missing: `The image ${image} is not present, and a launch never fetches images: run ` +
        `mcp-run pull ${server.name} --isolation docker` +
        `${image === DENO_IMAGE ? "" : ` --image ${image}`} (or docker pull ${image})`,
    });
  }
  if (state === "unlabelled") {
    // Created empty by a `docker run` after the volume was removed: start afresh.
    const out = await runDocker(["volume", "rm", "--", volume], docker);
    if (out.code !== 0) throw new Error(`Cannot remove volume "${volume}": ${out.stderr.trim()}`);
  }
  if (state !== "pulled") await createVolume(server, volume, docker);
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

async function createVolume(
  server: ResolvedServer,
  volume: string,
  docker: DockerCommandOptions,
): Promise<void> {
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

/** A server ready to start in docker, with its engine check possibly still running. */
export interface PreparedDockerServer {
  /**
   * Confirms that the engine answers and the code volume is the pulled one, then puts off the
   * removal of containers left by launchers that died until the server has started (stopping a
   * docker server starts it if still pending, and waits for it). Call it right after starting the container, so the check overlaps its start-up, and
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
 * @throws {GrantError} When a grant's path cannot be mounted (see `checkDockerMounts`).
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
  checkDockerMounts(server);
  const source = options.source ?? Deno.env.toObject();
  const docker = dockerOptions(options, source);
  const image = options.image ?? DENO_IMAGE;
  const volume = dockerVolumeName(server, { image });
  const recordPath = pullRecordPath(options.cacheRoot, volume);
  // Reading the record touches nothing: it overlaps the approval check.
  const [record] = await Promise.all([
    readRecord(recordPath),
    checkApproval(server, options),
    options.precheck,
  ]);
  await Deno.mkdir(serverDirs(server.name, server.specifier, options.cacheRoot).cwd, {
    recursive: true,
  });
  // A record vouches only for the exact package and image it was pulled for: the volume name's
  // 32-bit hash could be shared by another specifier, or the record copied from another server.
  if (
    record?.volume === volume && record.image === image && record.specifier === server.specifier
  ) {
    return { verify: () => verifyReady(server, image, volume, docker, recordPath) };
  }
  const engine = checkDocker(docker);
  await engine;
  // Leftovers of launchers that died are removed alongside the pull (its container carries this
  // launcher's labels, so it is never taken for one), and before this call returns.
  const reaping = reapOrphans(docker);
  try {
    if (options.autoPull === false) {
      throw new CacheError(
        "missing",
        `"${server.name}" (${server.specifier}) is not pulled into docker yet: run mcp-run pull ` +
          `${server.name} --isolation docker`,
      );
    }
    // The engine answered just now: the pull does not ask again.
    const checked = checkImageReference(image);
    await fillVolume(server, options, { docker, image: checked, engine });
  } finally {
    await reaping;
  }
  return { verify: () => Promise.resolve() };
}

/** The pull record on the host, or undefined when there is none (or it cannot be read). */
async function readRecord(path: string): Promise<Partial<DockerPullRecord> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
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
  if (await volumeState(volume, docker) !== "pulled") {
    // An engine that is down says nothing about the volume: the record stays for when it is up.
    const [, hasImage] = await Promise.all([checkDocker(docker), imageExists(image, docker)]);
    await Deno.remove(recordPath).catch(() => {});
    throw new CacheError(
      "missing",
      hasImage
        ? `The code volume ${volume} of "${server.name}" is gone: run mcp-run pull ` +
          `${server.name} --isolation docker`
        : `The image ${image} is not present: run mcp-run pull ${server.name} --isolation ` +
          `docker (or docker pull ${image})`,
    );
  }
  // Leftovers of launchers that died are removed once this server has started, off the start-up
  // path; stopping a server starts and waits for it, so even a short command does the job.
  reapOrphansLater(docker);
}

/**
 * A code volume's state, from one `docker volume inspect`: `pulled` (it carries mcp-run's label,
 * so a pull created it), `unlabelled` (another `docker run` created it empty), or `missing`.
 */
async function volumeState(
  volume: string,
  docker: DockerCommandOptions,
): Promise<"pulled" | "unlabelled" | "missing"> {
  const out = await runDocker(
    ["volume", "inspect", "--format", `{{index .Labels "${DOCKER_LABEL}"}}`, "--", volume],
    docker,
  );
  if (out.code !== 0) return "missing";
  return out.stdout.trim() === "1" ? "pulled" : "unlabelled";
}

function pullRecordPath(cacheRoot: string, volume: string): string {
  return join(cacheRoot, "docker", `${volume}.json`);
}
