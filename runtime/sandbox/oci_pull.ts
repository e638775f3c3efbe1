/**
 * The pull of an `oci:` server is `docker pull` of its image by digest; a launch only checks that
 * the engine holds the image under that digest (its run says `--pull never`).
 *
 * @module
 */
import { ensureEgressImage } from "./_fetch_image.ts";
import { checkApproval } from "../policy/approval.ts";
import { parseOciPackage } from "../policy/package_kind.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";
import { CacheError } from "./_pull_record.ts";
import { dockerOptions } from "./_docker_inputs.ts";
import { serverDirs } from "./cache_dirs.ts";
import type { ContainerPackageOptions } from "./container_options.ts";
import { checkDockerMounts } from "./docker_checks.ts";
import { checkDocker, type DockerCommandOptions, runDocker } from "./docker_engine.ts";
import type { PreparedLaunch } from "./sandbox.ts";

/**
 * Fetches an `oci:` server's image by digest (`docker pull name@sha256:…`): docker checks the
 * content against the digest. Nothing is fetched when the engine already holds it.
 *
 * Requires `--allow-run=docker`.
 *
 * @param server A resolved `oci:` server.
 * @param options Environment, approval, progress sink.
 * @returns When the engine holds the image.
 * @throws {ApprovalError} When the manifest asks for more than was approved.
 * @throws {DockerUnavailableError} When docker is missing or its engine is down.
 * @throws {Error} When the image cannot be pulled (docker's last line says why).
 *
 * @example
 * ```ts ignore
 * import { ociPull } from "./oci_pull.ts";
 * await ociPull(server, { cacheRoot: "/tmp/cache" });
 * ```
 */
export async function ociPull(
  server: ResolvedServer,
  options: ContainerPackageOptions,
): Promise<void> {
  checkDockerMounts(server);
  const { reference } = parseOciPackage(server.specifier);
  await checkApproval(server, options);
  const docker = dockerOptions(options, options.source ?? Deno.env.toObject());
  const progress = options.progress ?? ((line: string) => console.error(line));
  await checkDocker(docker);
  if (server.net.length > 0) {
    const egressImage = options.egressImage ?? options.image;
    await ensureEgressImage(server.name, egressImage, { ...docker, pullImage: true, progress });
  }
  const held = await imageVolumes(reference, docker);
  if (held !== undefined) {
    refuseVolumes(server, reference, held);
    progress(`${server.name} is already pulled: the engine holds ${reference}`);
    return;
  }
  progress(`Pulling image ${reference}`);
  const out = await runDocker(["pull", "--", reference], docker);
  if (out.code !== 0) {
    throw new Error(
      `Cannot pull the image ${reference}: ${out.stderr.trim().split("\n").at(-1)}`,
    );
  }
  refuseVolumes(server, reference, (await imageVolumes(reference, docker)) ?? []);
  progress(`Pulled ${server.name}: ${reference}`);
}

/**
 * Makes an `oci:` server ready to start: approval, then the check that the engine holds its
 * image under the pinned digest, declaring no `VOLUME`, and (for `net` grants) the egress
 * sidecar's image. A launch never fetches an image: `mcp-run pull` (`ociPull`) does.
 *
 * @param server A resolved `oci:` server.
 * @param options Environment, approval, pull policy.
 * @returns The passed check.
 * @throws {CacheError} `missing` when the image is absent (only the pull step fetches it), or
 *   the egress sidecar's image is, for a server with `net` grants.
 * @throws {GrantError} When the image declares a `VOLUME`.
 * @throws {DockerUnavailableError} When docker is missing or its engine is down.
 *
 * @example
 * ```ts ignore
 * import { prepareOciServer } from "./oci_pull.ts";
 * const { verify } = await prepareOciServer(server, { cacheRoot: "/tmp/cache" });
 * await verify();
 * ```
 */
export async function prepareOciServer(
  server: ResolvedServer,
  options: ContainerPackageOptions,
): Promise<PreparedLaunch> {
  checkDockerMounts(server);
  const { reference } = parseOciPackage(server.specifier);
  await Promise.all([checkApproval(server, options), options.precheck]);
  await Deno.mkdir(serverDirs(server.name, server.specifier, options.cacheRoot).cwd, {
    recursive: true,
  });
  const docker: DockerCommandOptions = dockerOptions(
    options,
    options.source ?? Deno.env.toObject(),
  );
  await checkDocker(docker);
  const volumes = await imageVolumes(reference, docker);
  if (volumes === undefined) {
    // The image is the server's code: as for Deno and Python servers, a launch never fetches
    // an image; the pull step does.
    throw new CacheError(
      "missing",
      `The image ${reference} of "${server.name}" is not present, and a launch never fetches ` +
        `images: run mcp-run pull ${server.name} (or docker pull ${reference})`,
    );
  }
  refuseVolumes(server, reference, volumes);
  if (server.net.length > 0) {
    await ensureEgressImage(server.name, options.egressImage ?? options.image, {
      ...docker,
      pullImage: false,
      progress: () => {},
    });
  }
  return { verify: () => Promise.resolve() };
}

/** The folders an image declares as `VOLUME`, or `undefined` when the engine lacks it. */
async function imageVolumes(
  reference: string,
  docker: DockerCommandOptions,
): Promise<string[] | undefined> {
  const out = await runDocker(
    ["image", "inspect", "--format", "{{json .Config.Volumes}}", "--", reference],
    docker,
  );
  if (out.code !== 0) return undefined;
  const volumes = JSON.parse(out.stdout.trim() || "null") as Record<string, unknown> | null;
  return Object.keys(volumes ?? {}).sort();
}

/**
 * Refuses an image that declares volumes: docker gives each one a writable folder on the host's
 * disk, outside the read-only root, the noexec tmpfs and its size cap.
 */
function refuseVolumes(server: ResolvedServer, reference: string, volumes: string[]): void {
  if (volumes.length === 0) return;
  throw new GrantError(
    "package",
    `Cannot run "${server.name}" from ${reference}: the image declares VOLUME ` +
      `${volumes.join(", ")}, which docker would make a writable, executable folder on the ` +
      "host's disk with no size limit, outside the container's read-only root. Use an image " +
      "without VOLUME (rebuild it from its sources), or run the server another way",
  );
}
