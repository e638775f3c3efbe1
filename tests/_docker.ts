/**
 * Docker in the tests: the local stand-in image (built by tools/docker_setup.sh) and whether
 * docker tests can run here. In CI (CI=true) docker tests never skip: docker missing there fails
 * the run.
 *
 * @module
 */
import { DENO_IMAGE } from "../runtime/sandbox/docker_names.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";

/** The stand-in image the docker tests launch: `MCP_RUN_TEST_IMAGE`, else tools/docker_setup.sh's tag. */
export const IMAGE: string = Deno.env.get("MCP_RUN_TEST_IMAGE") ??
  `mcp-run-test/${DENO_IMAGE.split("/")[1]}`;

/** The Python stand-in the container-package tests use: `MCP_RUN_TEST_PYTHON_IMAGE`, else the setup's tag. */
export const PYTHON_IMAGE: string = Deno.env.get("MCP_RUN_TEST_PYTHON_IMAGE") ??
  "mcp-run-test/python:3.11";

/** The CLI options of a docker launch in the tests: the stand-in image, host network for pull. */
export const CLI_DOCKER: string[] = [
  "--isolation",
  "docker",
  "--image",
  IMAGE,
  "--network",
  "host",
];

async function probeDocker(images: string[]): Promise<string | undefined> {
  try {
    const version = await runDocker(["version", "--format", "{{.Server.Version}}"]);
    if (version.code !== 0) return `no Docker engine answers: ${version.stderr.trim()}`;
    for (const image of images) {
      const found = await runDocker(["image", "inspect", image]);
      if (found.code !== 0) return `the image ${image} is missing (run tools/docker_setup.sh)`;
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Tells why docker tests cannot run here (no engine answers, or {@linkcode IMAGE} is missing,
 * or {@linkcode PYTHON_IMAGE} when asked), if they cannot. Requires `--allow-run=docker`.
 *
 * @param skipNote Printed to stderr before the reason when the tests skip, e.g.
 *   `"docker_test.ts: skipping"`; nothing is printed without it.
 * @param options `python`: the tests need the Python stand-in too.
 * @returns The reason to skip, or `undefined` when the engine and the image are there.
 * @throws {Error} In CI (CI=true), when docker tests would skip.
 * @example
 * ```ts ignore
 * const problem = await dockerProblem("docker_test.ts: skipping");
 * Deno.test({ name: "…", ignore: problem !== undefined, fn: async () => {} });
 * ```
 */
export async function dockerProblem(
  skipNote?: string,
  options: { python?: boolean } = {},
): Promise<string | undefined> {
  const problem = await probeDocker(options.python ? [IMAGE, PYTHON_IMAGE] : [IMAGE]);
  if (problem && Deno.env.get("CI") === "true") {
    throw new Error(`Docker tests cannot be skipped in CI: ${problem}`);
  }
  if (problem && skipNote !== undefined) console.error(`${skipNote}, ${problem}`);
  return problem;
}
