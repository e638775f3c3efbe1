/**
 * The deployment image in the tests: runtime/deploy/Dockerfile built offline from the Deno
 * stand-in image (tools/docker_setup.sh) and this checkout's files, with mcp-run's dependencies
 * cached beforehand into the build context's `.deno-dir` (from the package registries, once per
 * test cache).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";
import { IMAGE } from "./_docker.ts";

/** The tag the tests build the deployment image under (pinned, as deployments require). */
export const DEPLOY_TEST_IMAGE = "mcp-run-test/mcp-run:0.1.0";

/** Runs a command; throws with its output when it fails. Returns stdout. */
export async function run(program: string, args: string[], cwd?: string): Promise<string> {
  const result = await new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!result.success) {
    throw new Error(
      `${program} ${args.join(" ")} failed:\n${text(result.stdout)}${text(result.stderr)}`,
    );
  }
  return text(result.stdout);
}

/** Runs a docker command under the engine lock the test machines share. */
export function docker(args: string[], cwd?: string): Promise<string> {
  return run("flock", ["/tmp/docker.lock", "docker", ...args], cwd);
}

async function modules(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await modules(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

/**
 * Builds {@linkcode DEPLOY_TEST_IMAGE} from the checkout's files (tracked and new, as git lists
 * them), offline, once per process. Requires `--allow-run=git,flock,cp,deno` and docker.
 */
export function buildDeployImage(): Promise<void> {
  // Once per test process: every test of a file shares the image.
  built ??= build();
  return built;
}

let built: Promise<void> | undefined;

async function build(): Promise<void> {
  const context = tempDir("mcp-run-deploy-image-");
  try {
    const files = (await run("git", ["ls-files", "-co", "--exclude-standard", "-z"], ROOT))
      .split("\0").filter((f) => f !== "");
    for (const file of files) {
      const from = join(ROOT, file);
      let info;
      try {
        info = await Deno.lstat(from);
      } catch {
        continue; // deleted in the work tree
      }
      if (!info.isFile) continue;
      await Deno.mkdir(join(context, dirname(file)), { recursive: true });
      await Deno.copyFile(from, join(context, file));
    }
    // mcp-run's dependencies, cached once per test cache, then copied into the context.
    const denoDir = join(ROOT, ".cache/test/deploy-image-deno-dir");
    await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--quiet", "--frozen", ...await modules(join(context, "runtime"))],
      cwd: context,
      env: { DENO_DIR: denoDir },
    }).output().then((r) => {
      if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
    });
    await run("cp", ["-a", denoDir, join(context, ".deno-dir")]);
    await docker([
      "build",
      "--quiet",
      "--build-arg",
      `DENO_IMAGE=${IMAGE}`,
      "--label",
      "mcp-run-test=deploy",
      "-t",
      DEPLOY_TEST_IMAGE,
      "-f",
      "runtime/deploy/Dockerfile",
      ".",
    ], context);
  } finally {
    await Deno.remove(context, { recursive: true });
  }
}
