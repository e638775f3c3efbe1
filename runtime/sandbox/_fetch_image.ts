/**
 * Images a pull fetches and a launch never does: the server's own, and the one the egress
 * sidecar runs in (the Deno image), which a pull that starts a sidecar, or whose server will,
 * makes sure the engine holds.
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
  await fetchImage(reference, {
    ...options,
    what: " (the egress proxy's sidecar)",
    missing: `The image ${reference}, which carries the network of "${serverName}" through ` +
      `mcp-run's egress proxy, is not present, and a launch never fetches images: run ` +
      `mcp-run pull ${serverName} (or docker pull ${reference})`,
  });
}

/** Options for {@linkcode fetchImage}. */
export interface FetchImageOptions extends DockerCommandOptions {
  /** Whether fetching is allowed (the pull step). */
  pullImage: boolean;
  /** Where the progress line goes. */
  progress: (line: string) => void;
  /** The cache error's message when fetching is not allowed: what to run. */
  missing: string;
  /** Said after the image in the progress line, e.g. what it is for. */
  what?: string;
}

/**
 * Fetches a missing image when allowed (`docker pull`); otherwise a cache error that says what
 * to run.
 *
 * @param image The image reference, checked.
 * @param options The docker client, whether to fetch, progress, the message when not allowed.
 * @returns When the engine holds it.
 * @throws {CacheError} `missing` when fetching is not allowed.
 * @throws {Error} When docker cannot fetch it (the last line docker printed says why).
 *
 * @example
 * ```ts ignore
 * import { fetchImage } from "./_fetch_image.ts";
 * await fetchImage("python:3.12-slim@sha256:…", {
 *   pullImage: true, progress: console.error, missing: "run mcp-run pull x",
 * });
 * ```
 */
export async function fetchImage(image: string, options: FetchImageOptions): Promise<void> {
  if (!options.pullImage) throw new CacheError("missing", options.missing);
  options.progress(`Pulling image ${image}${options.what ?? ""}`);
  const out = await runDocker(["pull", "--", image], options);
  if (out.code !== 0) {
    throw new Error(`Cannot pull the image ${image}: ${out.stderr.trim().split("\n").at(-1)}`);
  }
}
