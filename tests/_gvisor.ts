/**
 * gVisor in the tests: whether the engine has the runtime tools/docker_setup.sh registers, and
 * the CLI options of a gvisor launch. In CI (CI=true) gvisor tests never skip: the runtime
 * missing there fails the run.
 *
 * @module
 */
import { GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";

/** The CLI options of a gvisor launch in the tests: the stand-in image. */
export const CLI_GVISOR: string[] = ["--isolation", "gvisor", "--image", IMAGE];

/** The arguments the tests need the runtime to be registered with (see tools/docker_setup.sh). */
const RUNTIME_ARGS = ["--network=none", "--host-uds=open", "--host-fifo=open"];

async function probeGvisor(): Promise<string | undefined> {
  const out = await runDocker(["info", "--format", "{{json .Runtimes}}"]);
  if (out.code !== 0) return `docker info failed: ${out.stderr.trim()}`;
  const runtimes = JSON.parse(out.stdout || "{}") ?? {};
  const runtime = runtimes[GVISOR_RUNTIME] as { runtimeArgs?: string[] } | undefined;
  if (!runtime) return `the engine has no "${GVISOR_RUNTIME}" runtime (run tools/docker_setup.sh)`;
  const missing = RUNTIME_ARGS.filter((arg) => !(runtime.runtimeArgs ?? []).includes(arg));
  if (missing.length) {
    return `the "${GVISOR_RUNTIME}" runtime lacks ${missing.join(" ")} (run tools/docker_setup.sh)`;
  }
  return undefined;
}

/**
 * Tells why gvisor tests cannot run here (docker tests cannot, or the engine has no gVisor
 * runtime registered as tools/docker_setup.sh does), if they cannot. Requires
 * `--allow-run=docker`.
 *
 * @param skipNote Printed to stderr before the reason when the tests skip.
 * @param options `python`: the tests need the Python stand-in too.
 * @returns The reason to skip, or `undefined`.
 * @throws {Error} In CI (CI=true), when gvisor tests would skip.
 * @example
 * ```ts ignore
 * const problem = await gvisorProblem("gvisor_probe_test.ts: skipping");
 * ```
 */
export async function gvisorProblem(
  skipNote?: string,
  options: { python?: boolean } = {},
): Promise<string | undefined> {
  const problem = await dockerProblem(undefined, options) ?? await probeGvisor();
  if (problem && Deno.env.get("CI") === "true") {
    throw new Error(`gVisor tests cannot be skipped in CI: ${problem}`);
  }
  if (problem && skipNote !== undefined) console.error(`${skipNote}, ${problem}`);
  return problem;
}
