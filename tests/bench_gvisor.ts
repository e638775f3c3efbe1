/**
 * What gVisor costs, side by side in one run, for the servers of tests/_bench_gvisor_servers.ts
 * (filesystem and memory: no network) under each isolation: `deno` (native), `docker` (runc) and
 * `gvisor` (the engine's `runsc`).
 *
 * - Start-up to the first `tools/list` answer, N rounds, each round starting every variant back
 *   to back: through `mcp-run run --isolation X`, and the bare command it starts (the sandbox's
 *   plan). Median and p90; ratios gvisor ÷ docker and gvisor ÷ native are medians of
 *   round-by-round ratios. Beside them, the floors under runc and gVisor: an empty container
 *   (`sh -c :`) and Deno booting in one (`deno eval 0`), so what a server's start-up adds above
 *   them (loading its code) shows apart from what starting the sandbox costs.
 * - `tools/call` throughput through `mcp-run serve --isolation X` (one sandbox per session) at 1
 *   and 16 concurrent sessions, with the lean client of tests/_bench_http.ts, for tools that do
 *   no file I/O, a few file syscalls, or hundreds. All three serves run at once with their
 *   sessions open; rounds alternate which isolation goes first, so drift moves all alike.
 *
 * Every tool is first called once per serve with the MCP SDK client, and must answer without
 * error; each serve's sessions must run under the runtime their rows name. Needs a Docker engine with the stand-in images (`MCP_RUN_CONFIG`) and a gVisor runtime
 * registered as `runsc`. Loopback only; bounded loops.
 *
 * ```sh
 * deno run -A tests/bench_gvisor.ts [--rounds 10] [--calls 200] [--sessions 1,16]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { createSandbox, type Isolation } from "../runtime/sandbox/create_sandbox.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { removeContainer, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { CONTAINER_USER, GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import { resolveTarget } from "../runtime/registry/resolve_target.ts";
import { ROOT } from "./_helpers.ts";
import { IMAGE } from "./_docker.ts";
import { gvisorRuntimeMissing } from "./_gvisor.ts";
import { type BenchVariant, medianOf, ratioOf, timeToToolsList } from "./_bench_startup.ts";
import { percentile } from "./_bench_http.ts";
import { BENCH_SERVERS, type BenchServerSetup } from "./_bench_gvisor_servers.ts";
import {
  ISOLATIONS,
  mcpRunEnv,
  measureThroughput,
  type ThroughputOptions,
  type ThroughputRow,
} from "./_bench_gvisor_serve.ts";
import { gvisorTables } from "./_bench_gvisor_tables.ts";

/**
 * How a start-up variant starts: the server through `mcp-run run` or the bare command it
 * starts, or a floor without a server: an empty container (`sh -c :`), or Deno booting in one
 * (`deno eval 0`), timed to exit.
 */
export type StartedBy =
  | "mcp-run run"
  | "bare plan"
  | "container: sh -c :"
  | "container: deno eval 0";

/** The floors' commands after `docker run … <image>`. */
const FLOORS: [StartedBy, (image: string) => string[]][] = [
  ["container: sh -c :", (image) => ["--entrypoint", "sh", image, "-c", ":"]],
  ["container: deno eval 0", (image) => [image, "deno", "eval", "0"]],
];

/** Start-up of one server under one isolation. */
export interface StartupRow {
  /** The registry entry. */
  server: string;
  /** Through `mcp-run run`, or the bare command it starts. */
  startedBy: StartedBy;
  /** The isolation. */
  isolation: Isolation;
  /** Median ms, spawn → `tools/list` answered. */
  median: number;
  /** 90th percentile ms. */
  p90: number;
  /** Median of round ratios to docker (runc), started the same way. */
  perDocker: number;
  /** Median of round ratios to native, started the same way (none for the floors). */
  perNative?: number;
}

/** Everything one run measured. */
export interface GvisorBenchResult {
  /** Start-up rows. */
  startup: StartupRow[];
  /** Throughput rows. */
  throughput: ThroughputRow[];
  /** Start-up rounds. */
  rounds: number;
}

/** Options for {@linkcode benchGvisor}. */
export interface GvisorBenchOptions extends ThroughputOptions {
  /** Start-up rounds (default 10). */
  rounds?: number;
  /** Registry entries measured (default every one in BENCH_SERVERS). */
  servers?: string[];
}

/**
 * Tells why the gVisor benchmark cannot run here, if it cannot: no engine answers, or its
 * `runsc` runtime is missing or incomplete (the same check as the tests').
 *
 * @returns The reason, or `undefined` when the engine has the runtime.
 */
export async function gvisorProblem(): Promise<string | undefined> {
  return await gvisorRuntimeMissing();
}

/** Runs the CLI to its end; throws with its stderr when it fails. */
async function mcpRun(args: string[], config: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", join(ROOT, "runtime/cli.ts"), ...args],
    env: mcpRunEnv(config),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`mcp-run ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Start-up of one server: every variant, `rounds` rounds after a warm-up. */
async function measureStartup(
  name: string,
  setup: BenchServerSetup,
  cache: string,
  options: GvisorBenchOptions & { rounds: number },
): Promise<StartupRow[]> {
  const env = mcpRunEnv(options.config);
  let container = "";
  const variants: BenchVariant[] = [];
  const images = JSON.parse(await Deno.readTextFile(options.config)).images ?? {};
  for (const isolation of ISOLATIONS) {
    const cliArgs = [name, ...setup.args, "--cache", cache, "--offline", "--isolation", isolation];
    await mcpRun(["pull", ...cliArgs, "--yes"], options.config);
    const { server } = await resolveTarget(name, {
      cacheRoot: cache,
      params: paramsOf(setup.args),
      isolation,
      isolationGiven: true,
    });
    const sandbox = await createSandbox(isolation, {
      cacheRoot: cache,
      image: images.deno,
      pythonImage: images.python,
      source: Deno.env.toObject(),
      progress: () => {},
    });
    await (await sandbox.prepare(server)).verify();
    variants.push(
      [`mcp-run run|${isolation}`, () => ({
        program: Deno.execPath(),
        args: ["run", "-A", "--quiet", join(ROOT, "runtime/cli.ts"), "run", ...cliArgs],
        env,
        cwd: ROOT,
      })],
      [`bare plan|${isolation}`, () => {
        const plan = sandbox.plan(server) as LaunchPlan & { container?: string };
        container = plan.container ?? "";
        return plan;
      }],
    );
  }
  const sample = async (make: () => LaunchPlan): Promise<number> => {
    container = "";
    try {
      return await timeToToolsList(make());
    } finally {
      if (container) await removeContainer(container);
    }
  };
  const samples = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (const [, make] of variants) await sample(make); // warm-up: page cache, images
  for (let i = 0; i < options.rounds; i++) {
    for (const [key, make] of variants) samples.get(key)!.push(await sample(make));
    options.log?.(`${name}: start-up round ${i + 1}/${options.rounds}`);
  }
  return variants.map(([key]) => {
    const [startedBy, isolation] = key.split("|") as [StartedBy, Isolation];
    const sorted = [...samples.get(key)!].sort((a, b) => a - b);
    return {
      server: name,
      startedBy,
      isolation,
      median: medianOf(sorted),
      p90: percentile(sorted, 0.9),
      perDocker: ratioOf(samples, key, `${startedBy}|docker`),
      perNative: ratioOf(samples, key, `${startedBy}|deno`),
    };
  });
}

/**
 * The floors, in rounds alternating runc and gVisor: an empty container, and Deno booting in
 * one, each timed from `docker run` to its exit. What is left of a server's start-up above them
 * is the server loading its code and starting.
 */
async function measureFloors(image: string, rounds: number): Promise<StartupRow[]> {
  const samples = new Map<string, number[]>();
  const run = async (isolation: Isolation, command: string[]): Promise<number> => {
    const runtime = isolation === "gvisor" ? ["--runtime", GVISOR_RUNTIME] : [];
    const start = performance.now();
    const out = await runDocker([
      ...["run", "--rm", "--network", "none", "--user", CONTAINER_USER, ...runtime],
      ...command,
    ]);
    if (out.code !== 0) throw new Error(`docker run ${command.join(" ")}: ${out.stderr.trim()}`);
    return performance.now() - start;
  };
  for (let i = -1; i < rounds; i++) { // round -1: warm-up
    for (const [startedBy, command] of FLOORS) {
      for (const isolation of ["docker", "gvisor"] as const) {
        const ms = await run(isolation, command(image));
        const key = `${startedBy}|${isolation}`;
        if (i >= 0) samples.set(key, [...samples.get(key) ?? [], ms]);
      }
    }
  }
  return [...samples.keys()].map((key) => {
    const [startedBy, isolation] = key.split("|") as [StartedBy, Isolation];
    const sorted = [...samples.get(key)!].sort((a, b) => a - b);
    return {
      server: "(none)",
      startedBy,
      isolation,
      median: medianOf(sorted),
      p90: percentile(sorted, 0.9),
      perDocker: ratioOf(samples, key, `${startedBy}|docker`),
    };
  });
}

/** The `-p name=value` pairs of a server's arguments. */
function paramsOf(args: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] !== "-p") continue;
    const [key, ...value] = args[i + 1].split("=");
    params[key] = value.join("=");
  }
  return params;
}

/**
 * Runs the benchmark: per server, the start-ups, then the throughput.
 *
 * @param options The stand-in config, rounds, calls, session counts, servers.
 * @returns Every row measured.
 * @throws {Error} When a server does not start or a tool answers with an error under one of
 *   the isolations (with that mcp-run's stderr).
 */
export async function benchGvisor(options: GvisorBenchOptions): Promise<GvisorBenchResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const rounds = options.rounds ?? 10;
  const wanted = new Set(options.servers ?? BENCH_SERVERS.map((s) => s.name));
  const result: GvisorBenchResult = { startup: [], throughput: [], rounds };
  const images = JSON.parse(await Deno.readTextFile(options.config)).images ?? {};
  result.startup.push(...await measureFloors(images.deno ?? IMAGE, rounds));
  log("floors measured");
  for (const entry of BENCH_SERVERS.filter((s) => wanted.has(s.name))) {
    const work = await Deno.makeTempDir({ prefix: `mcp-run-bench-gvisor-${entry.name}-` });
    const data = join(work, "data");
    await Deno.mkdir(data, { mode: 0o777 });
    await Deno.chmod(data, 0o777);
    const setup = await entry.setup(data);
    try {
      const cache = join(work, "cache");
      result.startup.push(
        ...await measureStartup(entry.name, setup, cache, { ...options, rounds, log }),
      );
      result.throughput.push(
        ...await measureThroughput(entry.name, setup, cache, { ...options, log }),
      );
    } finally {
      await setup.cleanup?.();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  }
  return result;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "10" },
      calls: { type: "string", default: "200" },
      sessions: { type: "string", default: "1,16" },
      servers: { type: "string" },
      json: { type: "string" },
    },
  });
  const problem = await gvisorProblem();
  if (problem !== undefined) {
    console.error(`bench: ${problem}; the gVisor benchmark is left out`);
  } else {
    const config = Deno.env.get("MCP_RUN_CONFIG");
    if (config === undefined) {
      throw new Error("Set MCP_RUN_CONFIG to the stand-in config tools/docker_setup.sh prints");
    }
    const result = await benchGvisor({
      config,
      rounds: Number(values.rounds),
      calls: Number(values.calls),
      sessions: values.sessions.split(",").map(Number),
      servers: values.servers?.split(","),
    });
    console.log(gvisorTables(result));
    if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2));
  }
}
