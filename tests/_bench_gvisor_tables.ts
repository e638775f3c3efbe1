/**
 * The gVisor benchmark's tables (tests/bench_gvisor.ts): start-up, throughput, and where gVisor
 * costs most, as markdown like the other benchmarks print.
 *
 * @module
 */
import type { GvisorBenchResult } from "./bench_gvisor.ts";
import type { ThroughputRow } from "./_bench_gvisor_serve.ts";

const times = (x: number | undefined): string => x === undefined ? "—" : `${x.toFixed(2)}×`;

/**
 * The start-up table: per server, how it was started and isolation, median and p90 ms, and the
 * medians of round ratios to docker (runc) and to native started the same way.
 *
 * @param result A run's rows.
 * @returns Markdown.
 * @example
 * ```ts
 * import { startupTable } from "./_bench_gvisor_tables.ts";
 * console.log(startupTable({ startup: [], throughput: [], rounds: 1 }).split("\n").length); // 2
 * ```
 */
export function startupTable(result: GvisorBenchResult): string {
  const out = [
    "| server | started by | isolation | median ms | p90 ms | ÷ docker (runc) | ÷ native |",
    "|---|---|---|---:|---:|---:|---:|",
  ];
  for (const row of result.startup) {
    out.push(
      `| ${row.server} | ${row.startedBy} | ${row.isolation} | ${row.median.toFixed(0)} | ` +
        `${row.p90.toFixed(0)} | ${times(row.perDocker)} | ${times(row.perNative)} |`,
    );
  }
  return out.join("\n");
}

/**
 * The throughput table: per tool and session count, calls/s under each isolation, gvisor's
 * ratios to docker and to native, and the p50 latencies.
 *
 * @param rows The throughput rows of a run.
 * @returns Markdown.
 * @example
 * ```ts
 * import { throughputTable } from "./_bench_gvisor_tables.ts";
 * console.log(throughputTable([]).split("\n").length); // 2
 * ```
 */
export function throughputTable(rows: ThroughputRow[]): string {
  const out = [
    "| server | tool | file work | sessions | native calls/s | docker calls/s | gvisor calls/s " +
    "| gvisor ÷ docker | gvisor ÷ native | p50 ms native / docker / gvisor |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const key of new Set(rows.map((r) => `${r.server}|${r.tool}|${r.sessions}`))) {
    const [server, tool, sessions] = key.split("|");
    const at = (isolation: string) =>
      rows.find((r) =>
        r.server === server && r.tool === tool && r.sessions === Number(sessions) &&
        r.isolation === isolation
      );
    const [deno, docker, gvisor] = [at("deno"), at("docker"), at("gvisor")];
    const rate = (r?: ThroughputRow) => r === undefined ? "—" : r.callsPerSecond.toFixed(0);
    const p50 = (r?: ThroughputRow) => r === undefined ? "—" : r.p50.toFixed(2);
    const ratio = (a?: ThroughputRow, b?: ThroughputRow) =>
      a && b ? times(a.callsPerSecond / b.callsPerSecond) : "—";
    out.push(
      `| ${server} | ${tool} | ${(deno ?? docker ?? gvisor)!.work} | ${sessions} | ` +
        `${rate(deno)} | ${rate(docker)} | ${rate(gvisor)} | ${ratio(gvisor, docker)} | ` +
        `${ratio(gvisor, deno)} | ${p50(deno)} / ${p50(docker)} / ${p50(gvisor)} |`,
    );
  }
  return out.join("\n");
}

/**
 * Where gVisor costs most: every measurement as how many times slower gvisor is than docker
 * (runc), the costliest first — start-ups (time ratio) and calls (docker's calls/s ÷ gvisor's).
 *
 * @param result A run's rows.
 * @returns One line per measurement.
 * @example
 * ```ts
 * import { gvisorCosts } from "./_bench_gvisor_tables.ts";
 * console.log(gvisorCosts({ startup: [], throughput: [], rounds: 1 }).length); // 1
 * ```
 */
export function gvisorCosts(result: GvisorBenchResult): string[] {
  const costs: [number, string][] = [];
  for (const row of result.startup) {
    if (row.isolation !== "gvisor") continue;
    const what = row.server === "(none)" ? row.startedBy : `${row.server} (${row.startedBy})`;
    costs.push([row.perDocker, `start-up, ${what}`]);
  }
  for (const row of result.throughput) {
    if (row.isolation !== "gvisor") continue;
    const docker = result.throughput.find((r) =>
      r.isolation === "docker" && r.server === row.server && r.tool === row.tool &&
      r.sessions === row.sessions
    );
    if (docker === undefined) continue;
    costs.push([
      docker.callsPerSecond / row.callsPerSecond,
      `calls, ${row.server} ${row.tool} (${row.work}), ${row.sessions} session(s)`,
    ]);
  }
  costs.sort((a, b) => b[0] - a[0]);
  return [
    "gvisor vs docker (runc), costliest first (× slower: start-up time, or calls/s lost):",
    ...costs.map(([x, what]) => `  ${x.toFixed(2).padStart(6)}×  ${what}`),
  ];
}

/**
 * Every table of a run, with their headings.
 *
 * @param result A run's rows.
 * @returns Markdown and plain lines.
 * @example
 * ```ts
 * import { gvisorTables } from "./_bench_gvisor_tables.ts";
 * console.log(gvisorTables({ startup: [], throughput: [], rounds: 3 }).includes("3 rounds")); // true
 * ```
 */
export function gvisorTables(result: GvisorBenchResult): string {
  return [
    `spawn → tools/list answered, ${result.rounds} rounds (ratios: medians of round ratios):`,
    "",
    startupTable(result),
    "",
    "tools/call through mcp-run serve --isolation X (one sandbox per session, lean client):",
    "",
    throughputTable(result.throughput),
    "",
    ...gvisorCosts(result),
  ].join("\n");
}
