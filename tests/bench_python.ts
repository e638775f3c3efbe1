/**
 * Start-up of a Python server (mcp-server-time from PyPI) to the first `tools/list` answer,
 * side by side in one run: `mcp-run run` vs `uvx` run directly (what client configs do today)
 * vs bare `docker run` of the same image, code and hardening flags. Run by `deno task bench`
 * (`--only python`); needs a Docker engine, the Python image (`MCP_RUN_TEST_PYTHON_IMAGE`,
 * default the stand-in of tools/docker_setup.sh) and PyPI.
 *
 * @module
 */
import { join } from "node:path";
import { createSandbox } from "../runtime/sandbox/create_sandbox.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { removeContainer, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { resolveTarget } from "../runtime/registry/resolve_target.ts";
import { ROOT, tempDir } from "./_helpers.ts";
import { IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { type BenchVariant, medianOf, ratioOf, timeToToolsList } from "./_bench_startup.ts";

/** The server measured: the registry entry and the PyPI release it pins. */
const ENTRY = "mcp-server-time";
const PYPI_SPEC = "mcp-server-time==2026.10.19";
/** uv, pinned, installed for this run only. */
const UV = "uv==0.13.9";
/** The Deno image, for the pull's egress sidecar. */
const DENO_IMAGE = IMAGE;

/**
 * Measures and prints the three start-ups for `rounds` rounds (plus one warm-up each).
 *
 * @param rounds Rounds, each running every variant once.
 * @param config The user config file that names the Python image (for `mcp-run run`).
 */
export async function benchPythonStartup(rounds: number, config: string): Promise<void> {
  const ready = await runDocker(["image", "inspect", PYTHON_IMAGE]).then((r) => r.code === 0)
    .catch(() => false);
  if (!ready) {
    console.error(`bench: no Docker engine or no ${PYTHON_IMAGE}; the Python start-up is left out`);
    return;
  }
  const cache = tempDir("mcp-run-bench-py-cache-");
  const tools = tempDir("mcp-run-bench-uv-");
  try {
    const env = Deno.env.toObject();
    const { server } = await resolveTarget(ENTRY, { cacheRoot: cache });
    const sandbox = await createSandbox("docker", {
      cacheRoot: cache,
      image: DENO_IMAGE,
      pythonImage: PYTHON_IMAGE,
      source: env,
      progress: () => {},
    });
    await sandbox.pull(server);
    await (await sandbox.prepare(server)).verify();
    const uvx = await installUv(tools, env);

    let container = "";
    const variants: BenchVariant[] = [
      ["mcp-run run", () => ({
        program: Deno.execPath(),
        args: ["run", "-A", "--quiet", `${ROOT}/runtime/cli.ts`, "run", ENTRY, "--cache", cache],
        env: { ...env, MCP_RUN_CONFIG: config },
        cwd: ROOT,
      })],
      ["uvx (what configs run today)", () => uvx],
      ["bare docker run (same image, code, flags)", () => {
        const plan = sandbox.plan(server) as LaunchPlan & { container?: string };
        container = plan.container ?? "";
        return plan;
      }],
    ];
    const samples = new Map<string, number[]>(variants.map(([n]) => [n, []]));
    const sample = async (make: () => LaunchPlan) => {
      container = "";
      const ms = await timeToToolsList(make());
      if (container) await removeContainer(container);
      return ms;
    };
    for (const [, make] of variants) await sample(make); // warm-up (uv's cache, page cache)
    for (let i = 0; i < rounds; i++) {
      for (const [name, make] of variants) samples.get(name)!.push(await sample(make));
    }
    const BARE = "bare docker run (same image, code, flags)";
    console.log(`\nspawn → tools/list answered, ${PYPI_SPEC} (Python), ${rounds} rounds:`);
    for (const [name] of variants) {
      console.log(
        `  ${name.padEnd(42)} ${medianOf(samples.get(name)!).toFixed(1).padStart(7)} ms   ${
          ratioOf(samples, name, BARE).toFixed(2)
        }× bare docker`,
      );
    }
    console.log(
      `  mcp-run run vs bare docker run: ${
        ratioOf(samples, "mcp-run run", BARE).toFixed(2)
      }× (target ≤ 1.2×)`,
    );
    console.log(
      `  mcp-run run vs uvx: ${
        ratioOf(samples, "mcp-run run", "uvx (what configs run today)").toFixed(2)
      }×`,
    );
  } finally {
    for (const d of [cache, tools]) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
}

/** Installs uv into `dir` with the host's pip and warms its cache; returns the `uvx` plan. */
async function installUv(dir: string, env: Record<string, string>): Promise<LaunchPlan> {
  const pip = await new Deno.Command("python3", {
    args: ["-m", "pip", "install", "--quiet", "--target", join(dir, "uv"), UV],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!pip.success) {
    throw new Error(`pip install ${UV} failed: ${new TextDecoder().decode(pip.stderr)}`);
  }
  const uvEnv = {
    ...env,
    UV_CACHE_DIR: join(dir, "uv-cache"),
    UV_TOOL_DIR: join(dir, "uv-tools"),
    UV_PYTHON_DOWNLOADS: "never",
  };
  const uvx = join(dir, "uv", "bin", "uvx");
  const plan = (offline: boolean): LaunchPlan => ({
    program: uvx,
    args: [...(offline ? ["--offline"] : []), "--from", PYPI_SPEC, "mcp-server-time"],
    env: uvEnv,
    cwd: dir,
  });
  // The first run resolves and fills uv's cache from PyPI; measured runs are offline, as a
  // client's later starts are.
  await timeToToolsList(plan(false));
  return plan(true);
}
