/**
 * gVisor in the tests: whether the engine has the runtime tools/docker_setup.sh registers (read
 * by the launcher's own check, {@linkcode gvisorRuntimeProblem}), and the CLI options of a gvisor
 * launch. In CI (CI=true) gvisor tests never skip: the runtime missing there fails the run.
 *
 * @module
 */
import { GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { gvisorRuntimeProblem } from "../runtime/sandbox/gvisor_runtime.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";

/** The CLI options of a gvisor launch in the tests: the stand-in image. */
export const CLI_GVISOR: string[] = ["--isolation", "gvisor", "--image", IMAGE];

/**
 * Tells why the engine cannot run gVisor sandboxes as the tests launch them, by the launcher's
 * own check: no runtime named {@linkcode GVISOR_RUNTIME}, or one registered without the
 * arguments the egress socket and the audit FIFO need. Never throws, not even in CI: for the
 * benchmark, which leaves the tier out. Requires `--allow-run=docker`.
 *
 * @returns The reason, or `undefined` when the runtime is there and complete.
 * @example
 * ```ts ignore
 * const missing = await gvisorRuntimeMissing();
 * ```
 */
export async function gvisorRuntimeMissing(): Promise<string | undefined> {
  try {
    const out = await runDocker(["info", "--format", "{{json .Runtimes}}"]);
    if (out.code !== 0) return `no Docker engine answers: ${out.stderr.trim()}`;
    const problem = gvisorRuntimeProblem(out.stdout.trim() || "{}", GVISOR_RUNTIME, {
      uds: true,
      fifo: true,
    });
    return problem && `${problem.message} (tools/docker_setup.sh registers it)`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** What a gvisor test file needs besides docker and the engine's runtime. */
export interface GvisorNeeds {
  /** The Python stand-in image too. */
  python?: boolean;
  /** Root (a network namespace of its own, as tests/fake_internet.ts makes). */
  root?: boolean;
}

/**
 * Tells why gvisor tests cannot run here (docker tests cannot, the engine has no gVisor runtime
 * registered as tools/docker_setup.sh does, or the file needs root and is not), if they cannot.
 * Requires `--allow-run=docker`.
 *
 * @param skipNote Printed to stderr before the reason when the tests skip.
 * @param options `python`: the tests need the Python stand-in too; `root`: they need root.
 * @returns The reason to skip, or `undefined`.
 * @throws {Error} In CI (CI=true), when gvisor tests would skip.
 * @example
 * ```ts ignore
 * const problem = await gvisorProblem("gvisor_probe_test.ts: skipping");
 * ```
 */
export async function gvisorProblem(
  skipNote?: string,
  options: GvisorNeeds = {},
): Promise<string | undefined> {
  const problem =
    (options.root && Deno.uid() !== 0
      ? "not root (the test needs a network namespace of its own)"
      : undefined) ??
      await dockerProblem(undefined, options) ?? await gvisorRuntimeMissing();
  if (problem && Deno.env.get("CI") === "true") {
    throw new Error(`gVisor tests cannot be skipped in CI: ${problem}`);
  }
  if (problem && skipNote !== undefined) console.error(`${skipNote}, ${problem}`);
  return problem;
}
