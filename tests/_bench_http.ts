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
