/**
 * The pull of an `oci:` server is `docker pull` of its image by digest; a launch only checks that
 * the engine holds the image under that digest (its run says `--pull never`).
 *
 * @module
 */
import { ensureEgressImage } from "./_egress_image.ts";
import { checkApproval } from "../policy/approval.ts";
import { parseOciPackage } from "../policy/package_kind.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { CacheError } from "./_pull_record.ts";
import { dockerOptions } from "./_docker_inputs.ts";
import { serverDirs } from "./cache_dirs.ts";
import type { ContainerPackageOptions } from "./container_options.ts";
import { checkDockerMounts } from "./docker_checks.ts";
import { checkDocker, type DockerCommandOptions, imageExists, runDocker } from "./docker_engine.ts";
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
    await ensureEgressImage(server.name, options.image, { ...docker, pullImage: true, progress });
  }
  if (await imageExists(reference, docker)) {
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
  progress(`Pulled ${server.name}: ${reference}`);
}

/**
 * Makes an `oci:` server ready to start: approval, then the check that the engine holds its
 * image under the pinned digest; a missing image is pulled when auto-pull is on (the pull
 * step), never by the run itself.
 *
 * @param server A resolved `oci:` server.
 * @param options Environment, approval, pull policy.
 * @returns The passed check.
 * @throws {CacheError} `missing` when the image is absent and auto-pull is off.
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
  await checkApproval(server, options);
  await Deno.mkdir(serverDirs(server.name, server.specifier, options.cacheRoot).cwd, {
    recursive: true,
  });
  const docker: DockerCommandOptions = dockerOptions(
    options,
    options.source ?? Deno.env.toObject(),
  );
  await checkDocker(docker);
  if (!(await imageExists(reference, docker))) {
    if (options.autoPull === false) {
      throw new CacheError(
        "missing",
        `The image ${reference} of "${server.name}" is not present: run mcp-run pull ` +
          `${server.name} --isolation docker (or docker pull ${reference})`,
      );
    }
    await ociPull(server, options);
  }
  return { verify: () => Promise.resolve() };
}
