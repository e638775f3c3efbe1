/**
 * The image the egress sidecar runs in (the Deno image): a pull that starts a sidecar, or
 * whose server will, makes sure the engine holds it, so that a launch never fetches one.
 *
 * @module
 */
import { checkImageReference } from "./docker_checks.ts";
import { type DockerCommandOptions, imageExists, runDocker } from "./docker_engine.ts";
import { DENO_IMAGE } from "./docker_names.ts";
import { CacheError } from "./_pull_record.ts";

/**
 * Fetches the egress sidecar's image when the engine lacks it and fetching is allowed (the
 * `pull` step); otherwise a missing image is a cache error that says what to run.
 *
 * @param serverName The server, for messages.
 * @param image The Deno image (default {@linkcode DENO_IMAGE}).
 * @param options The docker client, whether to fetch, and the progress sink.
 * @returns When the engine holds the image.
 * @throws {CacheError} `missing` when the image is absent and fetching is not allowed.
 * @throws {Error} When docker cannot fetch it.
 *
 * @example
 * ```ts ignore
 * import { ensureEgressImage } from "./_egress_image.ts";
 * await ensureEgressImage("fetch", undefined, { pullImage: true, progress: console.error });
 * ```
 */
export async function ensureEgressImage(
  serverName: string,
  image: string | undefined,
  options: DockerCommandOptions & { pullImage: boolean; progress: (line: string) => void },
): Promise<void> {
  const reference = checkImageReference(image ?? DENO_IMAGE);
  if (await imageExists(reference, options)) return;
  if (!options.pullImage) {
    throw new CacheError(
      "missing",
      `The image ${reference}, which carries the network of "${serverName}" through mcp-run's ` +
        `egress proxy, is not present, and a launch never fetches images: run mcp-run pull ` +
        `${serverName} (or docker pull ${reference})`,
    );
  }
  options.progress(`Pulling image ${reference} (the egress proxy's sidecar)`);
  const out = await runDocker(["pull", "--", reference], options);
  if (out.code !== 0) {
    throw new Error(`Cannot pull the image ${reference}: ${out.stderr.trim().split("\n").at(-1)}`);
  }
}
