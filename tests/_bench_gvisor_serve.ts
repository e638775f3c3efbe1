/**
 * The throughput half of the gVisor benchmark (tests/bench_gvisor.ts): `tools/call` through
 * `mcp-run serve --isolation X` (one sandbox per session) for X in deno, docker and gvisor, the
 * three serves running at once with their sessions open, with the lean client of
 * tests/_bench_http.ts. Rounds alternate which isolation goes first, so drift moves all alike.
 * Every tool is first called once per serve with the MCP SDK client and must answer without
 * error, and the sessions' containers must run under the isolation's runtime (runc or runsc;
 * none for native), so a row never reports one tier's figures under another's name.
 *
 * @module
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Isolation } from "../runtime/sandbox/create_sandbox.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { DOCKER_LABEL, GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import { ROOT, toolEnv } from "./_helpers.ts";
import { freePort } from "./_oauth_browser.ts";
import { callRound, httpSession, percentile, type Session, stopChild } from "./_bench_http.ts";
import type { BenchServerSetup, ToolWork } from "./_bench_gvisor_servers.ts";

/** The isolations compared, native first. */
export const ISOLATIONS: Isolation[] = ["deno", "docker", "gvisor"];

/** `tools/call` throughput of one tool under one isolation at one session count. */
export interface ThroughputRow {
  /** The registry entry. */
  server: string;
  /** The tool called. */
  tool: string;
  /** How much file work one call does. */
  work: ToolWork;
  /** The isolation `mcp-run serve` ran with. */
  isolation: Isolation;
  /** Concurrent sessions (one sandbox each). */
  sessions: number;
  /** Completed calls per second (rounds pooled). */
  callsPerSecond: number;
  /** Median latency, ms. */
  p50: number;
}

/** Options for {@linkcode measureThroughput}. */
export interface ThroughputOptions {
  /** The user config naming the stand-in images (`MCP_RUN_CONFIG` of every mcp-run started). */
  config: string;
  /** Calls per round at one session (default 200); at n sessions, each makes calls ÷ n, ≥ 1. */
  calls?: number;
  /** Session counts (default 1 and 16). */
  sessions?: number[];
  /** Throughput rounds per tool and session count (default 2). */
  callRounds?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * The environment of every mcp-run the benchmark starts: the tools' environment, `HOME`, and
 * the user config naming the images.
 *
 * @param config The user config file.
 * @returns The environment.
 */
export function mcpRunEnv(config: string): Record<string, string> {
  return { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CONFIG: config };
}

/** A running `mcp-run serve`. */
interface Served {
  url: string;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `mcp-run serve` with the limits out of the way and waits for the URL it prints. */
async function startServe(args: string[], config: string): Promise<Served> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", "--quiet", join(ROOT, "mod.ts"), "serve", ...args, "--port", String(port)],
      ...["--max-sessions", "256", "--max-sessions-per-client", "256", "--max-concurrent", "1024"],
      ...["--max-connections-per-client", "1024", "--rate-limit", "0", "--idle-timeout", "3600"],
    ],
    env: mcpRunEnv(config),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-8000);
    }
  })();
  pump.catch(() => {});
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 120_000;
  while (!/on http:\/\//.test(text)) {
    if (exited || Date.now() > deadline) {
      throw new Error(`mcp-run serve ${args.join(" ")} did not start:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stderr: () => text,
    stop: () => stopChild(child, 20_000),
  };
}

/** Calls every tool once with the MCP SDK client; throws when one answers with an error. */
async function checkTools(url: string, setup: BenchServerSetup, label: string): Promise<void> {
  const client = new Client({ name: "bench-gvisor", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  try {
    for (const tool of setup.tools) {
      const result = await client.callTool({ name: tool.name, arguments: tool.arguments });
      if (result.isError || !(result.content as unknown[] | undefined)?.length) {
        throw new Error(`${label}: ${tool.name} answered ${JSON.stringify(result).slice(0, 500)}`);
      }
    }
  } finally {
    await client.close();
  }
}

/** The engine runtime of each mcp-run container running now, by id. */
async function containerRuntimes(): Promise<Map<string, string>> {
  const ps = await runDocker(["ps", "-q", "--no-trunc", "--filter", `label=${DOCKER_LABEL}`]);
  const ids = ps.stdout.split("\n").filter(Boolean);
  if (ids.length === 0) return new Map();
  // A container that ends in between is left out of the answer (the exit code then says so).
  const out = await runDocker(["inspect", "--format", "{{.Id}} {{.HostConfig.Runtime}}", ...ids]);
  return new Map(
    out.stdout.split("\n").filter(Boolean).map((line) => line.split(" ") as [string, string]),
  );
}

/**
 * Checks that the sessions just opened run where the row will say: a container each under the
 * isolation's runtime (runc for docker, runsc for gvisor), none for native. Returns what it saw.
 */
async function checkRuntimes(
  isolation: Isolation,
  before: Map<string, string>,
  sessions: number,
): Promise<string> {
  const started = [...(await containerRuntimes())].filter(([id]) => !before.has(id));
  const want = isolation === "gvisor" ? GVISOR_RUNTIME : "runc";
  const wrong = started.filter(([, runtime]) => runtime !== want);
  const expected = isolation === "deno" ? started.length === 0 : started.length >= sessions;
  if (!expected || (isolation !== "deno" && wrong.length > 0)) {
    throw new Error(
      `serve --isolation ${isolation}: ${sessions} sessions started ${started.length} ` +
        `container(s), runtimes ${JSON.stringify(started.map(([, r]) => r))}`,
    );
  }
  return isolation === "deno" ? "no container" : `${started.length} containers under ${want}`;
}

/**
 * Throughput of one server's tools: the three serves at once, their sessions open, rounds
 * alternating which isolation goes first.
 *
 * @param name The registry entry.
 * @param setup Its arguments and tools.
 * @param cache The cache root it was pulled into for every isolation.
 * @param options The stand-in config, calls, session counts, rounds.
 * @returns A row per tool, session count and isolation.
 * @throws {Error} When a serve does not start or a tool answers with an error (with serve's
 *   stderr).
 */
export async function measureThroughput(
  name: string,
  setup: BenchServerSetup,
  cache: string,
  options: ThroughputOptions,
): Promise<ThroughputRow[]> {
  const log = options.log ?? (() => {});
  const counts = options.sessions ?? [1, 16];
  const most = Math.max(...counts);
  let tool = setup.tools[0];
  const body = (id: number) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: tool.name, arguments: tool.arguments },
    });
  const served = new Map<Isolation, Served>();
  const sessions = new Map<Isolation, Session[]>();
  const rows: ThroughputRow[] = [];
  try {
    for (const isolation of ISOLATIONS) {
      const before = await containerRuntimes();
      let where = "";
      const serve = await startServe(
        [name, ...setup.args, "--cache", cache, "--offline", "--isolation", isolation],
        options.config,
      );
      served.set(isolation, serve);
      try {
        await checkTools(serve.url, setup, `serve --isolation ${isolation}`);
        const open: Session[] = [];
        for (let i = 0; i < most; i += 8) {
          const batch = await Promise.all(
            Array.from(
              { length: Math.min(8, most - i) },
              () => httpSession(serve.url, undefined, body),
            ),
          );
          for (const session of batch) for (let j = 0; j < 3; j++) await session.call();
          open.push(...batch);
        }
        sessions.set(isolation, open);
        where = await checkRuntimes(isolation, before, most);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${serve.stderr()}`, { cause: error });
      }
      log(`${name}: serve --isolation ${isolation}: ${most} sessions open, ${where}`);
    }
    for (const next of setup.tools) {
      tool = next;
      for (const count of counts) {
        const calls = Math.max(1, Math.round((options.calls ?? 200) / count));
        const pooled = new Map(ISOLATIONS.map((i) => [i, { latencies: [] as number[], s: 0 }]));
        for (const isolation of ISOLATIONS) { // warm: the tool's code paths, the file caches
          await callRound(sessions.get(isolation)!.slice(0, count), 2);
        }
        for (let round = 0; round < (options.callRounds ?? 2); round++) {
          const order = ISOLATIONS.map((_, i) => ISOLATIONS[(i + round) % ISOLATIONS.length]);
          for (const isolation of order) {
            const [latencies, seconds] = await callRound(
              sessions.get(isolation)!.slice(0, count),
              calls,
            );
            pooled.get(isolation)!.latencies.push(...latencies);
            pooled.get(isolation)!.s += seconds;
          }
        }
        for (const isolation of ISOLATIONS) {
          const { latencies, s } = pooled.get(isolation)!;
          latencies.sort((a, b) => a - b);
          rows.push({
            server: name,
            tool: tool.name,
            work: tool.work,
            isolation,
            sessions: count,
            callsPerSecond: latencies.length / s,
            p50: percentile(latencies, 0.5),
          });
          log(`${name}: ${JSON.stringify(rows.at(-1))}`);
        }
      }
    }
  } finally {
    for (const open of sessions.values()) await Promise.all(open.map((s) => s.close()));
    for (const serve of served.values()) await serve.stop();
  }
  return rows;
}
