/**
 * The serve benchmarks' lean MCP client: raw JSON-RPC lines (stdio) or raw `fetch` with SSE
 * parsing (Streamable HTTP), so the client costs as little as possible beside what is measured.
 *
 * @module
 */
import { initializeRequest } from "./_helpers.ts";

/** Calls per session at each session count (bounded). */
export const CALLS: Record<number, number> = { 1: 1000, 16: 100, 64: 40 };

/** One open MCP session of a benchmark. */
export interface Session {
  /** One `tools/call` (the fixture's `echo`, or the session's own call), resolved once answered. */
  call(): Promise<void>;
  /** Ends the session. */
  close(): Promise<void>;
}

/** The benchmarked call: the fixture's `echo`. */
export const CALL = (id: number): string =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "bench" } },
  });
/** The benchmark client's `initialize` request. */
export const INIT = (id: number): string =>
  JSON.stringify(initializeRequest(id, { name: "bench", version: "1" }));
/** The `initialized` notification. */
export const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });

/**
 * The value at quantile `p` of sorted samples.
 *
 * @param sorted Samples, ascending.
 * @param p The quantile, 0–1.
 * @returns The sample.
 */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * Calls from every session at once, `calls` times each.
 *
 * @param sessions The open sessions.
 * @param calls Calls per session.
 * @returns The latencies (ms) and the elapsed seconds.
 */
export async function callRound(sessions: Session[], calls: number): Promise<[number[], number]> {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(sessions.map(async (session) => {
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await session.call();
      latencies.push(performance.now() - t0);
    }
  }));
  return [latencies, (performance.now() - started) / 1000];
}

/**
 * Stops a benchmarked server: SIGTERM, then SIGKILL if it has not ended within `graceMs`.
 *
 * @param child The server's process.
 * @param graceMs How long SIGTERM gets.
 * @returns When it has exited.
 */
export async function stopChild(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}

async function readMessage(response: Response, id: number): Promise<void> {
  if (response.headers.get("content-type")?.includes("application/json")) {
    await response.arrayBuffer();
    return;
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const marker = `"id":${id}`;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    if (text.includes(marker) && text.endsWith("\n\n")) break;
  }
  await reader.cancel().catch(() => {});
}

/**
 * Opens a session over Streamable HTTP: initialize, initialized, then calls on the session.
 *
 * @param url The MCP endpoint.
 * @param token A bearer token every request carries, if the endpoint needs one.
 * @param call The body of each call, by JSON-RPC id (default {@linkcode CALL}: the fixture's
 *   `echo`).
 * @returns The session.
 * @throws {Error} When initialize is refused.
 */
export async function httpSession(
  url: string,
  token?: string,
  call: (id: number) => string = CALL,
): Promise<Session> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  };
  const init = await fetch(url, { method: "POST", headers, body: INIT(0) });
  if (!init.ok) throw new Error(`initialize: HTTP ${init.status} ${await init.text()}`);
  const sessionId = init.headers.get("mcp-session-id");
  await readMessage(init, 0);
  if (sessionId) headers["mcp-session-id"] = sessionId;
  headers["mcp-protocol-version"] = "2025-06-18";
  const initialized = await fetch(url, { method: "POST", headers, body: INITIALIZED });
  await initialized.body?.cancel();
  let next = 1;
  return {
    call: async () => {
      const id = next++;
      const response = await fetch(url, { method: "POST", headers, body: call(id) });
      if (!response.ok) {
        throw new Error(`tools/call: HTTP ${response.status} ${await response.text()}`);
      }
      await readMessage(response, id);
    },
    close: async () => {
      if (!sessionId) return;
      const response = await fetch(url, { method: "DELETE", headers }).catch(() => undefined);
      await response?.body?.cancel();
    },
  };
}
