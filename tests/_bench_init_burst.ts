/**
 * The start-up half of the serve benchmark: many sessions opened at the same moment against a
 * bridge that has just started, each one's `initialize` timed from its POST to its answer.
 *
 * @module
 */
import { initializeRequest } from "./_helpers.ts";

/** One burst's figures. */
export interface BurstRow {
  /** The target's name. */
  target: string;
  /** Sessions opened at once. */
  sessions: number;
  /** Median initialize time, ms. */
  p50: number;
  /** 99th percentile initialize time, ms. */
  p99: number;
  /** Time until every session had its answer, ms. */
  allMs: number;
  /** Sessions whose initialize failed. */
  failed: number;
}

const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** Reads an answer to its end (SSE: until the response to `id` has arrived). */
async function readAnswer(response: Response, id: number): Promise<void> {
  if (response.headers.get("content-type")?.includes("application/json")) {
    await response.arrayBuffer();
    return;
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    if (text.includes(`"id":${id}`) && text.endsWith("\n\n")) break;
  }
  await reader.cancel().catch(() => {});
}

/** Opens one session; returns its initialize time in ms and a way to end it. */
async function initialize(url: string): Promise<{ ms: number; end: () => Promise<void> }> {
  const t0 = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify(initializeRequest(0, { name: "burst", version: "1" })),
  });
  if (!response.ok) throw new Error(`initialize: HTTP ${response.status} ${await response.text()}`);
  const sessionId = response.headers.get("mcp-session-id");
  await readAnswer(response, 0);
  const ms = performance.now() - t0;
  return {
    ms,
    end: async () => {
      if (!sessionId) return;
      const ended = await fetch(url, {
        method: "DELETE",
        headers: { ...HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" },
      }).catch(() => undefined);
      await ended?.body?.cancel();
    },
  };
}

/**
 * Opens `count` sessions at the same moment and times each one's `initialize`.
 *
 * @param target The target's name, for the row.
 * @param url The MCP endpoint.
 * @param count Sessions to open.
 * @returns The row; every session is ended before it returns.
 */
export async function measureInitBurst(
  target: string,
  url: string,
  count: number,
): Promise<BurstRow> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, () => initialize(url)));
  const allMs = performance.now() - started;
  const opened = results.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  await Promise.all(opened.map((session) => session.end()));
  const times = opened.map((session) => session.ms).sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))] ?? NaN;
  return {
    target,
    sessions: count,
    p50: at(0.5),
    p99: at(0.99),
    allMs,
    failed: count - opened.length,
  };
}

/** CPU time (user + system, in clock ticks) a process and its children used so far. */
function cpuTicks(pid: number): number {
  let total = 0;
  const stat = (p: number) => {
    const text = Deno.readTextFileSync(`/proc/${p}/stat`);
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // utime, stime, cutime, cstime: fields 14–17 of stat, 12–15 after the name.
    total += fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
  };
  const visit = (p: number) => {
    try {
      stat(p);
      for (const task of Deno.readDirSync(`/proc/${p}/task`)) {
        const children = Deno.readTextFileSync(`/proc/${p}/task/${task.name}/children`).trim();
        if (children) { for (const child of children.split(/\s+/)) visit(Number(child)); }
      }
    } catch { /* gone */ }
  };
  visit(pid);
  return total;
}

/**
 * Waits until a bridge and its children use no more CPU (processes started ahead have
 * booted), at least `minMs` and at most `maxMs`.
 *
 * @param pid The bridge's pid.
 * @param minMs Shortest wait.
 * @param maxMs Longest wait.
 */
export async function waitSettled(pid: number, minMs = 1000, maxMs = 60_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  await new Promise((resolve) => setTimeout(resolve, minMs));
  let last = cpuTicks(pid);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = cpuTicks(pid);
    // Under 5 % of one core over half a second (100 ticks a second).
    if (now - last <= 2) return;
    last = now;
  }
}
