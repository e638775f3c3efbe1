/**
 * Benchmark of `mcp-run serve` against direct stdio and two popular stdio→HTTP bridges
 * (supergateway and mcp-proxy, from npm, pinned), all fronting the same server process command:
 * the sandboxed `deno run` line mcp-run builds for `tests/testdata/serve_fixture.jsonc`.
 *
 * For each HTTP target, freshly started and settled, it first opens 64 sessions at once and
 * times each `initialize` (p50, p99): how fast isolated sessions start, cold (`mcp-run serve`,
 * supergateway) or from processes started ahead (`mcp-run serve --warm 64`). Then, for 1, 16 and
 * 64 sessions, it measures `tools/call` latency (p50, p99) and throughput with a lean client (raw
 * JSON lines over stdio; raw fetch with SSE parsing over HTTP), and the bridge process's memory
 * at idle and per session. Loopback only; bounded loops.
 *
 * ```sh
 * deno run -A tests/bench_serve.ts [--json out.json] [--sessions 1,16,64] [--burst 64]
 *   [--targets direct,mcp-run serve,…]
 * ```
 *
 * The peers are installed with npm into `.tools/bench` on first use (Node.js ≥ 20 required).
 * mcp-proxy is told to listen on 127.0.0.1; supergateway has no such option and listens on every
 * interface, but every request goes to 127.0.0.1.
 *
 * @module
 */
import { startPlan } from "../runtime/sandbox/server_process.ts";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadManifest } from "../runtime/registry/load.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { denoLaunchPlan, type LaunchPlan, prepareServer } from "../runtime/sandbox/launch_plan.ts";
import { shellQuote } from "../runtime/sandbox/shell_quote.ts";
import { type BurstRow, measureInitBurst, waitSettled } from "./_bench_init_burst.ts";
import {
  CALL,
  callRound,
  CALLS,
  httpSession,
  INIT,
  INITIALIZED,
  percentile,
  type Session,
  stopChild,
} from "./_bench_http.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
/** The peers, pinned. */
export const PEERS = { supergateway: "supergateway@4.0.0", "mcp-proxy": "mcp-proxy@6.7.19" };
const encoder = new TextEncoder();

/** The targets, and how each one maps sessions to server processes. */
export const TARGETS: Record<string, string> = {
  "direct": "one process per session, no bridge",
  "mcp-run serve": "one sandboxed process per session (default), SSE answers",
  "mcp-run serve --warm 64": "one sandboxed process per session, 64 started ahead",
  "mcp-run serve --json-response": "one sandboxed process per session, JSON answers",
  "mcp-run serve --session-mode shared": "one sandboxed process for all sessions",
  "supergateway": "supergateway --stateful: one process per session",
  "mcp-proxy": "mcp-proxy: one process for all sessions",
};

/** One measured configuration. */
export interface BenchRow {
  /** direct, mcp-run serve, supergateway or mcp-proxy. */
  target: string;
  /** Concurrent sessions. */
  sessions: number;
  /** Median latency, ms. */
  p50: number;
  /** 99th percentile latency, ms. */
  p99: number;
  /** Completed calls per second. */
  throughput: number;
}

/** Bridge process memory. */
export interface MemoryRow {
  /** The bridge. */
  target: string;
  /** RSS with no session, MiB. */
  idleMiB: number;
  /** RSS added per idle session, KiB. */
  perSessionKiB: number;
}

interface Target {
  name: string;
  /** The bridge's pid, for memory (HTTP targets). */
  pid?: number;
  /** The MCP endpoint (HTTP targets). */
  url?: string;
  /** The end of the bridge's stderr (HTTP targets), to explain a failure. */
  stderr?: () => string;
  open(): Promise<Session>;
  stop(): Promise<void>;
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await new Promise((resolve) => setTimeout(resolve, 10));
  return port;
}

// ---- direct stdio ----

function stdioSession(plan: LaunchPlan): Session {
  const child = startPlan(plan, "null");
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const waiting = new Map<number, () => void>();
  (async () => {
    for (;;) {
      const { done, value } = await lines.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const id = (JSON.parse(line) as { id?: number }).id;
        if (id !== undefined) waiting.get(id)?.();
      }
    }
  })();
  let next = 1;
  const request = (text: (id: number) => string) => {
    const id = next++;
    const done = new Promise<void>((resolve) => waiting.set(id, resolve));
    writer.write(encoder.encode(text(id) + "\n"));
    return done.then(() => void waiting.delete(id));
  };
  const ready = request(INIT).then(() => writer.write(encoder.encode(INITIALIZED + "\n")));
  return {
    call: async () => {
      await ready;
      await request(CALL);
    },
    close: async () => {
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}

// ---- HTTP (all bridges) ----

async function waitHealthy(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited = false;
  child.status.then(() => exited = true);
  for (;;) {
    if (exited) throw new Error(`The bridge exited before listening: ${url}`);
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: "{}",
      });
      await response.body?.cancel();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`No answer from ${url}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function bridgeTarget(
  name: string,
  command: string[],
  env: Record<string, string>,
  cwd: string,
  url: string,
): Promise<Target> {
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    env,
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + chunk).slice(-4000);
    }
  })();
  try {
    await waitHealthy(url, child);
  } catch (error) {
    throw new Error(`${name}: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  return {
    name,
    pid: child.pid,
    url,
    stderr: () => stderr,
    open: () => httpSession(url),
    stop: () => stopChild(child, 10_000),
  };
}

async function installPeers(): Promise<string> {
  const prefix = join(ROOT, ".tools/bench");
  const bins = [
    join(prefix, "node_modules/supergateway/dist/index.js"),
    join(prefix, "node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs"),
  ];
  const present = bins.every((bin) => {
    try {
      return Deno.statSync(bin).isFile;
    } catch {
      return false;
    }
  });
  if (present) return prefix;
  await Deno.mkdir(prefix, { recursive: true });
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--no-package-lock",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...Object.values(PEERS),
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("npm install of the benchmark peers failed");
  return prefix;
}

// ---- measurement ----

async function openSessions(target: Target, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, () => target.open()),
    );
    for (const session of batch) await session.call(); // started and warm
    sessions.push(...batch);
  }
  return sessions;
}

async function measure(target: Target, sessionCount: number): Promise<BenchRow> {
  const sessions = await openSessions(target, sessionCount);
  const calls = CALLS[sessionCount] ?? 40;
  for (const session of sessions) for (let i = 0; i < 5; i++) await session.call();
  // Steady state: processes the sessions' starts set booting (a warm pool's replacements) done.
  if (target.pid !== undefined) await waitSettled(target.pid, 0);
  const [latencies, elapsed] = await callRound(sessions, calls);
  await Promise.all(sessions.map((session) => session.close()));
  latencies.sort((a, b) => a - b);
  return {
    target: target.name,
    sessions: sessionCount,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    throughput: latencies.length / elapsed,
  };
}

async function measureMemory(target: Target, count: number): Promise<MemoryRow> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = rssKiB(target.pid!);
  const sessions = await openSessions(target, count);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const loaded = rssKiB(target.pid!);
  await Promise.all(sessions.map((session) => session.close()));
  return {
    target: target.name,
    idleMiB: idle / 1024,
    perSessionKiB: (loaded - idle) / count,
  };
}

/** Options for {@linkcode benchServe}. */
export interface BenchServeOptions {
  /** Session counts. Default 1, 16, 64. */
  sessions?: number[];
  /** Targets to run. Default all. */
  targets?: string[];
  /** Sessions opened for the per-session memory figure. Default 16. */
  memorySessions?: number;
  /** Sessions opened at once to time their initialize (0: none). Default 64. */
  burst?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Runs the benchmark.
 *
 * @param options Session counts and targets.
 * @returns Latency/throughput rows, memory rows and initialize bursts.
 */
export async function benchServe(
  options: BenchServeOptions = {},
): Promise<{ rows: BenchRow[]; memory: MemoryRow[]; bursts: BurstRow[] }> {
  const log = options.log ?? ((line: string) => console.error(line));
  const sessionCounts = options.sessions ?? [1, 16, 64];
  const wanted = new Set(options.targets ?? Object.keys(TARGETS));
  const cache = await Deno.makeTempDir({ prefix: "mcp-run-bench-" });
  const { manifest, dir } = await loadManifest(MANIFEST);
  const server = resolveServer(manifest, { cacheRoot: cache, manifestDir: dir });
  await prepareServer(server, { cacheRoot: cache, progress: log });
  const plan = denoLaunchPlan(server, { cacheRoot: cache });
  const nodeEnv = { ...plan.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  const prefix = wanted.has("supergateway") || wanted.has("mcp-proxy") ? await installPeers() : "";
  const serveTarget = async (name: string, flags: string[]): Promise<Target> => {
    const port = await freePort();
    return await bridgeTarget(
      name,
      [
        Deno.execPath(),
        "run",
        "-A",
        join(ROOT, "mod.ts"),
        "serve",
        MANIFEST,
        "--cache",
        cache,
        "--offline",
        "--port",
        String(port),
        "--max-sessions",
        "256",
        "--max-sessions-per-client",
        "256",
        "--max-concurrent",
        "1024",
        "--max-connections-per-client",
        "1024",
        "--rate-limit",
        "0",
        ...flags,
      ],
      denoEnv(),
      ROOT,
      `http://127.0.0.1:${port}/mcp`,
    );
  };
  const makers: Record<string, () => Promise<Target>> = {
    "direct": () =>
      Promise.resolve({
        name: "direct",
        open: () => Promise.resolve(stdioSession(plan)),
        stop: () => Promise.resolve(),
      }),
    "mcp-run serve": () => serveTarget("mcp-run serve", []),
    "mcp-run serve --warm 64": () => serveTarget("mcp-run serve --warm 64", ["--warm", "64"]),
    "mcp-run serve --json-response": () =>
      serveTarget("mcp-run serve --json-response", ["--json-response"]),
    "mcp-run serve --session-mode shared": () =>
      serveTarget("mcp-run serve --session-mode shared", ["--session-mode", "shared"]),
    "supergateway": async () => {
      const port = await freePort();
      return await bridgeTarget(
        "supergateway",
        [
          "node",
          join(prefix, "node_modules/supergateway/dist/index.js"),
          "--stdio",
          shellQuote([plan.program, ...plan.args]),
          "--outputTransport",
          "streamableHttp",
          "--stateful",
          "--port",
          String(port),
          "--logLevel",
          "none",
        ],
        nodeEnv,
        plan.cwd,
        `http://127.0.0.1:${port}/mcp`,
      );
    },
    "mcp-proxy": async () => {
      const port = await freePort();
      return await bridgeTarget(
        "mcp-proxy",
        [
          "node",
          join(prefix, "node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs"),
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--server",
          "stream",
          "--",
          plan.program,
          ...plan.args,
        ],
        nodeEnv,
        plan.cwd,
        `http://127.0.0.1:${port}/mcp`,
      );
    },
  };
  const rows: BenchRow[] = [];
  const memory: MemoryRow[] = [];
  const bursts: BurstRow[] = [];
  const burst = options.burst ?? 64;
  try {
    for (const [name, make] of Object.entries(makers)) {
      if (!wanted.has(name)) continue;
      const target = await make();
      try {
        if (target.pid !== undefined && target.url !== undefined && burst > 0) {
          // Processes started ahead have booted, and the machine is quiet, before the burst.
          await waitSettled(target.pid);
          bursts.push(await measureInitBurst(name, target.url, burst));
          log(`${name}: initialize burst ${JSON.stringify(bursts.at(-1))}`);
          await waitSettled(target.pid);
        }
        if (target.pid !== undefined) {
          memory.push(await measureMemory(target, options.memorySessions ?? 16));
          log(`${name}: memory ${JSON.stringify(memory.at(-1))}`);
        }
        for (const count of sessionCounts) {
          rows.push(await measure(target, count));
          log(`${name}: ${JSON.stringify(rows.at(-1))}`);
        }
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}\n${target.stderr?.() ?? ""}`, {
          cause: error,
        });
      } finally {
        await target.stop();
      }
    }
  } finally {
    await Deno.remove(cache, { recursive: true }).catch(() => {});
  }
  return { rows, memory, bursts };
}

/** The environment the Deno running mcp-run needs: its own module cache and PATH. */
function denoEnv(): Record<string, string> {
  const home = Deno.env.get("HOME") ?? "/root";
  return {
    HOME: home,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${home}/.cache/deno`,
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
}

/**
 * Formats the results as markdown tables: the initialize bursts (with p99 over supergateway's),
 * the calls with the added p50 over direct stdio, the throughput ratios to the matching peer, and
 * memory.
 *
 * @param rows Latency and throughput.
 * @param memory Bridge memory.
 * @param bursts Initialize bursts.
 * @returns Markdown.
 */
export function benchTables(
  rows: BenchRow[],
  memory: MemoryRow[],
  bursts: BurstRow[] = [],
): string {
  const out: string[] = [];
  const ratio = (a?: number, b?: number) => a && b ? `${(a / b).toFixed(2)}×` : "—";
  if (bursts.length > 0) {
    const peer = bursts.find((b) => b.target === "supergateway");
    out.push(
      "| target | sessions at once | initialize p50 ms | p99 ms | all answered ms | failed | p99 ÷ supergateway |",
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const b of bursts) {
      out.push(
        `| ${b.target} | ${b.sessions} | ${b.p50.toFixed(0)} | ${b.p99.toFixed(0)} | ` +
          `${b.allMs.toFixed(0)} | ${b.failed} | ${ratio(b.p99, peer?.p99)} |`,
      );
    }
    out.push("");
  }
  out.push(
    "| target | sessions | p50 ms | p99 ms | calls/s | added p50 ms |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const row of rows) {
    const direct = rows.find((r) => r.target === "direct" && r.sessions === row.sessions);
    const added = direct && row.target !== "direct" ? (row.p50 - direct.p50).toFixed(3) : "";
    out.push(
      `| ${row.target} | ${row.sessions} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ` +
        `${row.throughput.toFixed(0)} | ${added} |`,
    );
  }
  const counts = [...new Set(rows.map((r) => r.sessions))];
  const at = (target: string, count: number) =>
    rows.find((r) => r.target === target && r.sessions === count)?.throughput;
  out.push(
    "",
    "| sessions | isolated ÷ supergateway | warm ÷ supergateway | json ÷ supergateway | shared ÷ mcp-proxy | best mcp-run ÷ best peer |",
    "|---:|---:|---:|---:|---:|---:|",
  );
  for (const count of counts) {
    const ours = [
      "mcp-run serve",
      "mcp-run serve --warm 64",
      "mcp-run serve --json-response",
      "mcp-run serve --session-mode shared",
    ].map((t) => at(t, count) ?? 0);
    const peers = ["supergateway", "mcp-proxy"].map((t) => at(t, count) ?? 0);
    out.push(
      `| ${count} | ${ratio(ours[0], peers[0])} | ${ratio(ours[1], peers[0])} | ` +
        `${ratio(ours[2], peers[0])} | ${ratio(ours[3], peers[1])} | ` +
        `${ratio(Math.max(...ours), Math.max(...peers))} |`,
    );
  }
  out.push("", "| bridge | idle RSS MiB | per session KiB |", "|---|---:|---:|");
  for (const row of memory) {
    out.push(`| ${row.target} | ${row.idleMiB.toFixed(1)} | ${row.perSessionKiB.toFixed(0)} |`);
  }
  return out.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "string" },
      sessions: { type: "string" },
      targets: { type: "string" },
      burst: { type: "string" },
    },
  });
  const result = await benchServe({
    sessions: values.sessions?.split(",").map(Number),
    targets: values.targets?.split(","),
    burst: values.burst === undefined ? undefined : Number(values.burst),
  });
  console.log(benchTables(result.rows, result.memory, result.bursts));
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(result, null, 2));
}
