/**
 * `deno task bench`: start-up to the first `tools/list` answer for server-filesystem, measured
 * side by side in one run: `mcp-run run` vs bare `deno run` with the same flags vs `node`
 * running the same npm package. Prints medians and ratios. When a Docker engine and the image
 * (`MCP_RUN_TEST_IMAGE`, default the local stand-in from tools/docker_setup.sh) are there, also
 * `mcp-run run --isolation docker` vs bare `docker run` with the same image and flags, and docker
 * vs native.
 *
 * Then `mcp-run serve` over Streamable HTTP against direct stdio, supergateway and mcp-proxy
 * (tests/bench_serve.ts): tools/call p50/p99 and throughput at 1, 16 and 64 sessions, and the
 * bridge's memory at idle and per session.
 *
 * Then a Python server from PyPI (tests/bench_python.ts): `mcp-run run` vs `uvx` vs bare
 * `docker run` of the same image.
 *
 * Options: `--rounds N` (default 10), `--sessions 1,16,64`, `--targets a,b` (serve targets),
 * `--only startup|python|serve|auth|gvisor`, `--json FILE` (serve figures). `--only auth`: serve
 * with `--auth oauth` vs `--auth token` (tests/bench_serve_auth.ts). `--only gvisor`: start-up
 * and tools/call throughput under `--isolation gvisor` vs docker (runc) vs native
 * (tests/bench_gvisor.ts; `--sessions` default 1,16, `--calls N` per round at one session,
 * `--json FILE` its rows); needs the engine's `runsc` runtime.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadManifest } from "../runtime/registry/load.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { denoLaunchPlan, type LaunchPlan, prepareServer } from "../runtime/sandbox/launch_plan.ts";
import { dockerLaunchPlan } from "../runtime/sandbox/docker_launch.ts";
import { prepareDockerServer } from "../runtime/sandbox/docker_pull.ts";
import { removeContainer, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { ROOT, tempDir } from "./_helpers.ts";
import { type BenchVariant, medianOf, ratioOf, timeToToolsList } from "./_bench_startup.ts";
import { benchPythonStartup } from "./bench_python.ts";
import { benchServe, benchTables, TARGETS } from "./bench_serve.ts";
import { authBenchTable, benchServeAuth } from "./bench_serve_auth.ts";
import { benchGvisor, gvisorProblem } from "./bench_gvisor.ts";
import { gvisorTables } from "./_bench_gvisor_tables.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "10" },
    sessions: { type: "string" },
    targets: { type: "string" },
    only: { type: "string" },
    json: { type: "string" },
    calls: { type: "string" },
  },
});
const only = values.only;
if (only !== undefined && !["startup", "python", "serve", "auth", "gvisor"].includes(only)) {
  throw new TypeError(`--only takes startup, python, serve, auth or gvisor, got "${only}"`);
}
if (only === undefined || only === "startup") await benchStartup();
if (only === undefined || only === "python") {
  await benchPythonStartup(Number(values.rounds), await standInConfig());
}
if (only === undefined || only === "serve") await benchServeOverHttp();
if (only === "auth") {
  const rows = await benchServeAuth({ sessions: values.sessions?.split(",").map(Number) });
  console.log("\nmcp-run serve: tools/call with --auth oauth vs --auth token (target: within 10%)");
  console.log(authBenchTable(rows));
}
if (only === "gvisor") await benchGvisorIsolation();

/** The user config that points every image kind at the test stand-ins (tools/docker_setup.sh). */
async function standInConfig(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [join(ROOT, "tools", "docker_setup.sh")],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("tools/docker_setup.sh failed; run it to see why");
  return new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
}

async function benchGvisorIsolation(): Promise<void> {
  const problem = await gvisorProblem();
  if (problem !== undefined) {
    console.error(`bench: ${problem}; the gVisor benchmark is left out`);
    return;
  }
  const result = await benchGvisor({
    config: Deno.env.get("MCP_RUN_CONFIG") ?? await standInConfig(),
    rounds: Number(values.rounds),
    calls: values.calls === undefined ? undefined : Number(values.calls),
    sessions: values.sessions?.split(",").map(Number),
  });
  console.log("\ngVisor vs docker (runc) vs native, servers without network:");
  console.log(gvisorTables(result));
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2));
}

async function benchServeOverHttp(): Promise<void> {
  const serve = await benchServe({
    sessions: values.sessions?.split(",").map(Number),
    targets: values.targets?.split(","),
  });
  console.log("\nmcp-run serve: tools/call over Streamable HTTP (lean client, loopback)");
  for (const [target, what] of Object.entries(TARGETS)) console.log(`- ${target}: ${what}`);
  console.log("");
  console.log(benchTables(serve.rows, serve.memory, serve.bursts));
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify({ serve }, null, 2));
}

async function benchStartup(): Promise<void> {
  const rounds = Number(values.rounds);
  const PACKAGE = "@modelcontextprotocol/server-filesystem@2026.8.31";

  const cache = tempDir("mcp-run-bench-cache-");
  const dir = tempDir("mcp-run-bench-data-");
  Deno.writeTextFileSync(join(dir, "a.txt"), "a");
  const { manifest } = await loadManifest("filesystem");
  const server = resolveServer(manifest, { params: { dirs: dir }, cacheRoot: cache });
  await prepareServer(server, { cacheRoot: cache, progress: () => {} });

  const nodeDir = tempDir("mcp-run-bench-node-");
  const npm = await new Deno.Command("npm", {
    args: ["install", "--prefix", nodeDir, "--no-audit", "--no-fund", "--loglevel=error", PACKAGE],
    stdout: "null",
  }).output();
  if (!npm.success) throw new Error("npm install of the filesystem server failed");

  const bare = denoLaunchPlan(server, { cacheRoot: cache });
  const launcher: LaunchPlan = {
    program: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--quiet",
      `${ROOT}/runtime/cli.ts`,
      "run",
      "filesystem",
      "-p",
      `dirs=${dir}`,
      "--cache",
      cache,
      "--offline",
    ],
    env: { ...Deno.env.toObject() },
    cwd: ROOT,
  };
  const node: LaunchPlan = {
    program: "node",
    args: [
      join(nodeDir, "node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"),
      dir,
    ],
    env: { HOME: Deno.env.get("HOME") ?? "/", PATH: Deno.env.get("PATH") ?? "" },
    cwd: bare.cwd,
  };

  const IMAGE = Deno.env.get("MCP_RUN_TEST_IMAGE") ?? "mcp-run-test/deno:2.9.6";
  const dockerReady = await runDocker(["image", "inspect", IMAGE]).then((r) => r.code === 0)
    .catch(() => false);
  const dockerOptions = { cacheRoot: cache, image: IMAGE, network: "host", progress: () => {} };
  if (dockerReady) {
    Deno.chmodSync(dir, 0o777);
    await prepareDockerServer(server, dockerOptions);
  } else console.error(`bench: no Docker engine or no ${IMAGE}; docker rows left out`);
  /** A fresh bare `docker run` plan each time (container names are unique). */
  let lastContainer = "";
  const bareDocker = (): LaunchPlan => {
    const plan = dockerLaunchPlan(server, dockerOptions);
    lastContainer = plan.container;
    return plan;
  };

  const median = medianOf;
  const variants: BenchVariant[] = [
    ["mcp-run run", () => launcher],
    ["bare deno run (same flags)", () => bare],
    ["node (same package)", () => node],
  ];
  if (dockerReady) {
    variants.push(
      ["mcp-run run --isolation docker", () => ({
        ...launcher,
        args: [...launcher.args, "--isolation", "docker", "--image", IMAGE, "--network", "host"],
      })],
      ["bare docker run (same flags)", bareDocker],
    );
  }
  const sample = async (make: () => LaunchPlan): Promise<number> => {
    lastContainer = "";
    const ms = await timeToToolsList(make());
    if (lastContainer) await removeContainer(lastContainer);
    return ms;
  };
  const samples = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (const [, make] of variants) await sample(make); // warm-up
  for (let i = 0; i < rounds; i++) {
    for (const [name, make] of variants) samples.get(name)!.push(await sample(make));
  }
  // Each round runs every variant back to back, so a ratio taken round by round is not moved
  // by the machine's speed drifting over the run; the median of those is reported.
  const ratio = (name: string, base: string) => ratioOf(samples, name, base);
  const BARE = "bare deno run (same flags)";
  console.log(`spawn → tools/list answered, server-filesystem, ${rounds} rounds:`);
  console.log(`  ${"".padEnd(30)} ${"median".padStart(9)}   median of round ratios`);
  for (const [name] of variants) {
    const m = median(samples.get(name)!);
    console.log(
      `  ${name.padEnd(30)} ${m.toFixed(1).padStart(6)} ms   ${
        ratio(name, BARE).toFixed(2)
      }× bare deno`,
    );
  }
  console.log(
    `  mcp-run run vs bare deno run: ${ratio("mcp-run run", BARE).toFixed(2)}× (target ≤ 1.3×)`,
  );
  if (dockerReady) {
    const docker = "mcp-run run --isolation docker";
    console.log(
      `  docker mode vs bare docker run: ${
        ratio(docker, "bare docker run (same flags)").toFixed(2)
      }× (target ≤ 1.05×)`,
    );
    console.log(`  docker vs native (mcp-run run): ${ratio(docker, "mcp-run run").toFixed(2)}×`);
  }
  for (const d of [cache, dir, nodeDir]) Deno.removeSync(d, { recursive: true });
}
