/**
 * Benchmark of `mcp-run serve`'s authentication: `tools/call` throughput and p50/p99 latency at
 * 1, 16 and 64 sessions with `--auth oauth` (an access token from the sign-in flow, checked
 * against the token store on every request) and with `--auth token` (a static bearer token),
 * both servers running side by side in one run and measured in alternating rounds, so drift of
 * the machine's speed moves both alike. Target: OAuth within 10% of token.
 *
 * ```sh
 * deno run -A tests/bench_serve_auth.ts [--sessions 1,16,64] [--rounds 3]
 * ```
 *
 * Loopback only; bounded loops. Never a timed test.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadManifest } from "../runtime/registry/load.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { prepareServer } from "../runtime/sandbox/launch_plan.ts";
import { cli, ROOT } from "./_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { freePort } from "./_oauth_browser.ts";
import { PASSPHRASE, signedInToken } from "../runtime/auth/_oauth_fixture.ts";
import {
  callRound,
  CALLS,
  httpSession,
  percentile,
  type Session,
  stopChild,
} from "./_bench_http.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
/** serve's limits raised out of the way, as tests/bench_serve.ts does. */
const LIMITS = [
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
];

/** One authentication mode at one session count. */
export interface AuthBenchRow {
  /** `oauth` or `token`. */
  auth: "oauth" | "token";
  /** Concurrent sessions. */
  sessions: number;
  /** Median latency, ms. */
  p50: number;
  /** 99th percentile latency, ms. */
  p99: number;
  /** Completed calls per second. */
  throughput: number;
}

/** A running serve with the token a client presents to it. */
interface Served {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** `serve --auth token` with a fresh random token file. */
async function serveWithToken(dir: string, cache: string): Promise<Served> {
  const token = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
  const file = join(dir, "token");
  await Deno.writeTextFile(file, `${token}\n`, { mode: 0o600 });
  const served = await startServe([
    MANIFEST,
    "--port",
    String(freePort()),
    "--cache",
    cache,
    "--offline",
    "--auth",
    "token",
    "--token-file",
    file,
    ...LIMITS,
  ]);
  return { url: served.url, token, stop: () => stopChild(served.child, 10_000) };
}

/** `serve --auth oauth` with a passphrase set and a token from the whole sign-in flow. */
async function serveWithOAuth(dir: string, cache: string): Promise<Served> {
  const state = join(dir, "state");
  const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\n`,
  });
  if (set.code !== 0) throw new Error(`--set-passphrase failed: ${set.stderr}`);
  const port = freePort();
  const publicUrl = `http://127.0.0.1:${port}/mcp`;
  const served = await startServe([
    MANIFEST,
    "--port",
    String(port),
    "--cache",
    cache,
    "--offline",
    "--auth",
    "oauth",
    "--public-url",
    publicUrl,
    "--state-dir",
    state,
    ...LIMITS,
  ]);
  const token = await signedInToken(publicUrl);
  return { url: served.url, token, stop: () => stopChild(served.child, 10_000) };
}

/** Opens `count` sessions, in batches of 8, each warmed with 5 calls. */
async function openSessions(served: Served, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, () => httpSession(served.url, served.token)),
    );
    for (const session of batch) for (let j = 0; j < 5; j++) await session.call();
    sessions.push(...batch);
  }
  return sessions;
}

/** Options for {@linkcode benchServeAuth}. */
export interface BenchServeAuthOptions {
  /** Session counts. Default 1, 16, 64. */
  sessions?: number[];
  /** Alternating rounds per session count. Default 3. */
  rounds?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/**
 * Runs the benchmark: both servers at once, token and OAuth measured in alternating rounds.
 *
 * @param options Session counts and rounds.
 * @returns A row per mode and session count (the rounds pooled).
 */
export async function benchServeAuth(options: BenchServeAuthOptions = {}): Promise<AuthBenchRow[]> {
  const log = options.log ?? ((line: string) => console.error(line));
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-bench-auth-" });
  const cache = join(dir, "cache");
  const { manifest, dir: manifestDir } = await loadManifest(MANIFEST);
  await prepareServer(resolveServer(manifest, { cacheRoot: cache, manifestDir }), {
    cacheRoot: cache,
    progress: log,
  });
  const servers = {
    token: await serveWithToken(dir, cache),
    oauth: await serveWithOAuth(dir, cache),
  };
  const rows: AuthBenchRow[] = [];
  try {
    for (const count of options.sessions ?? [1, 16, 64]) {
      const pooled = {
        token: { latencies: [] as number[], seconds: 0 },
        oauth: { latencies: [] as number[], seconds: 0 },
      };
      // The sessions (a sandboxed process each) stay open through the rounds.
      const sessions = {
        token: await openSessions(servers.token, count),
        oauth: await openSessions(servers.oauth, count),
      };
      log(`${count} sessions open on each server`);
      for (let i = 0; i < (options.rounds ?? 3); i++) {
        // Alternate which goes first, so neither always meets the warmer machine.
        const order = i % 2 === 0 ? (["token", "oauth"] as const) : (["oauth", "token"] as const);
        for (const auth of order) {
          const [latencies, seconds] = await callRound(
            sessions[auth],
            CALLS[sessions[auth].length] ?? 40,
          );
          pooled[auth].latencies.push(...latencies);
          pooled[auth].seconds += seconds;
        }
      }
      await Promise.all([...sessions.token, ...sessions.oauth].map((session) => session.close()));
      for (const auth of ["token", "oauth"] as const) {
        const sorted = pooled[auth].latencies.sort((a, b) => a - b);
        rows.push({
          auth,
          sessions: count,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          throughput: sorted.length / pooled[auth].seconds,
        });
        log(`serve --auth ${auth}: ${JSON.stringify(rows.at(-1))}`);
      }
    }
  } finally {
    await servers.token.stop();
    await servers.oauth.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return rows;
}

/**
 * Formats the rows as one markdown table, OAuth beside token, with the throughput ratio.
 *
 * @param rows The rows of {@linkcode benchServeAuth}.
 * @returns Markdown.
 */
export function authBenchTable(rows: AuthBenchRow[]): string {
  const out = [
    "| sessions | token calls/s | oauth calls/s | oauth ÷ token | token p50 ms | oauth p50 ms | token p99 ms | oauth p99 ms |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const count of [...new Set(rows.map((row) => row.sessions))]) {
    const token = rows.find((row) => row.auth === "token" && row.sessions === count)!;
    const oauth = rows.find((row) => row.auth === "oauth" && row.sessions === count)!;
    out.push(
      `| ${count} | ${token.throughput.toFixed(0)} | ${oauth.throughput.toFixed(0)} | ` +
        `${(oauth.throughput / token.throughput).toFixed(2)}× | ${token.p50.toFixed(3)} | ` +
        `${oauth.p50.toFixed(3)} | ${token.p99.toFixed(3)} | ${oauth.p99.toFixed(3)} |`,
    );
  }
  return out.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { sessions: { type: "string" }, rounds: { type: "string" } },
  });
  const rows = await benchServeAuth({
    sessions: values.sessions?.split(",").map(Number),
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
  });
  console.log("mcp-run serve: tools/call with --auth oauth vs --auth token (target: within 10%)");
  console.log(authBenchTable(rows));
}
