/**
 * Helpers for the audit log tests: an OTLP collector stand-in on loopback, the real MCP SDK
 * client through `mcp-run run` and `mcp-run serve`, and the calls every test makes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { AuditEvent, AuditRecord } from "../runtime/guard/audit_log.ts";
import type { OtlpSpan } from "../runtime/guard/otlp.ts";
import { ROOT, toolEnv } from "./_helpers.ts";

/** The audit fixture's manifest. */
export const MANIFEST: string = join(ROOT, "tests", "testdata", "audit", "manifest.jsonc");

/** A span as the collector received it, with its resource's attributes. */
export interface ReceivedSpan extends OtlpSpan {
  /** The resource's attributes, by key. */
  resource: Record<string, string>;
}

/** A collector stand-in: records the spans POSTed to /v1/traces. */
export interface Collector {
  /** What `OTEL_EXPORTER_OTLP_ENDPOINT` is set to. */
  endpoint: string;
  /** The spans received so far. */
  spans: ReceivedSpan[];
  /** Every body received, as text (to look for canaries). */
  bodies: string[];
  /** Stops listening. */
  close(): Promise<void>;
}

function stringAttributes(attributes: { key: string; value: Record<string, unknown> }[]) {
  return Object.fromEntries(attributes.map((a) => [a.key, String(Object.values(a.value)[0])]));
}

/** Starts a collector stand-in on loopback. */
export function startCollector(): Collector {
  const spans: ReceivedSpan[] = [];
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method !== "POST" || path !== "/v1/traces") {
      return new Response("not found", { status: 404 });
    }
    const text = await request.text();
    bodies.push(text);
    for (const rs of JSON.parse(text).resourceSpans) {
      const resource = stringAttributes(rs.resource.attributes);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) spans.push({ ...span, resource });
      }
    }
    return Response.json({});
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    spans,
    bodies,
    close: () => server.shutdown(),
  };
}

/** A span's attributes, by key, as strings. */
export function spanAttributes(span: OtlpSpan): Record<string, string> {
  return stringAttributes(span.attributes);
}

/** The environment of the CLI in these tests: a HOME, a cache, and the collector. */
export function cliEnv(cache: string, collector?: Collector): Record<string, string> {
  return {
    ...toolEnv(),
    HOME: Deno.env.get("HOME") ?? "/root",
    MCP_RUN_CACHE: cache,
    ...(collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint } : {}),
  };
}

/** Connects the SDK client to `mcp-run run <fixture> …args`. */
export async function connectRun(
  args: string[],
  env: Record<string, string>,
): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, "run", MANIFEST, ...args],
    env,
    stderr: "pipe",
  });
  let stderr = "";
  const decoder = new TextDecoder();
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  const client = new Client({ name: "audit-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** Connects the SDK client to a `mcp-run serve` at `url`. */
export async function connectServe(url: string): Promise<Client> {
  const client = new Client({ name: "audit-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The canaries of one test: a plain argument's value and a secret-looking one's. */
export interface Canaries {
  /** The value of `text`: in the log only with --audit-content. */
  plain: string;
  /** The value of `api_token`: never in the log. */
  secret: string;
}

/** Fresh canaries. */
export function canaries(): Canaries {
  return { plain: `PLAIN-${crypto.randomUUID()}`, secret: `SECRET-${crypto.randomUUID()}` };
}

/**
 * The calls every test makes: echo (with both canaries), huge, flood, env, a prompt, a
 * resource, and an unknown tool.
 */
export async function exercise(client: Client, canary: Canaries): Promise<void> {
  const echo = await client.callTool({
    name: "echo",
    arguments: { text: canary.plain, api_token: canary.secret },
  });
  assert.deepEqual(echo.content, [{ type: "text", text: `echo: ${canary.plain}` }]);
  const huge = await client.callTool({ name: "huge", arguments: {} });
  assert.equal((huge.content as { text: string }[])[0].text.length, 3_000_000);
  const flood = await client.callTool({ name: "flood", arguments: {} });
  assert.deepEqual(flood.content, [{ type: "text", text: "flooded" }]);
  // The launcher's OTLP variables never reach the server.
  const env = await client.callTool({ name: "env", arguments: {} });
  assert.deepEqual(env.content, [{ type: "text", text: "unset" }]);
  await client.getPrompt({ name: "greet" });
  await client.readResource({ uri: "file:///fixture/r" });
  await assert.rejects(() => client.callTool({ name: "fail", arguments: {} }), /bad arguments/);
  // Not listed by the server: the guard's pins answer that it is unknown.
  await assert.rejects(() => client.callTool({ name: "missing", arguments: {} }), /is unknown/);
  // Excluded (--exclude-tools wipe): the guard's filter answers, the server never sees it.
  const wipe = await client.callTool({ name: "wipe", arguments: {} }).catch((e: Error) => e);
  assert.ok(wipe instanceof Error, `the excluded tool answered: ${JSON.stringify(wipe)}`);
}

/** The lines of an audit file: answered requests, and other messages (events). */
export interface AuditLines {
  /** Answered requests. */
  records: AuditRecord[];
  /** Server requests, list changes, cancellations. */
  events: AuditEvent[];
}

/** Reads the audit file once it holds `count` lines (at most 20 s). */
export async function auditLines(file: string, count: number): Promise<AuditLines> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    let text = "";
    try {
      text = await Deno.readTextFile(file);
    } catch { /* not yet */ }
    const lines = text.split("\n").filter((l) => l !== "");
    if (lines.length >= count || Date.now() > deadline) {
      const parsed = lines.map((l) => JSON.parse(l));
      return {
        records: parsed.filter((l) => "outcome" in l),
        events: parsed.filter((l) => "event" in l),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the collector holds `count` spans (at most 20 s). */
export async function collected(collector: Collector, count: number): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + 20_000;
  while (collector.spans.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return collector.spans;
}

/**
 * Checks the lines of one session of {@linkcode exercise}: fields, sizes, outcomes, the bounded
 * huge answer, no line per flooded notification, and the canaries.
 */
export function checkExercised(
  { records, events }: AuditLines,
  canary: Canaries,
  options: { content: boolean },
): void {
  const byTool = (tool: string) => records.find((r) => r.tool === tool)!;
  for (const record of records) {
    assert.equal(record.server, "audit-fixture");
    assert.ok(record.session.length > 0);
    assert.ok(!Number.isNaN(Date.parse(record.time)), record.time);
    assert.ok(record.requestBytes > 0 && record.responseBytes > 0, JSON.stringify(record));
    assert.ok(record.durationMs >= 0);
    assert.ok(JSON.stringify(record).length < 64 * 1024, `${record.method} line is bounded`);
  }
  assert.equal(byTool("echo").outcome, "ok");
  assert.equal(byTool("echo").method, "tools/call");
  assert.ok(byTool("huge").responseBytes > 3_000_000);
  assert.equal(byTool("flood").outcome, "ok");
  assert.equal(byTool("fail").outcome, "error");
  assert.equal(byTool("fail").error?.code, -32602);
  assert.equal(byTool("missing").outcome, "refused-by-pins");
  assert.equal(byTool("wipe").outcome, "refused-by-filter");
  assert.equal(byTool("wipe").answeredBy, "filter");
  assert.match(byTool("wipe").error?.message ?? "", /wipe/);
  assert.equal(records.find((r) => r.method === "prompts/get")?.prompt, "greet");
  assert.equal(records.find((r) => r.method === "resources/read")?.uri, "file:///fixture/r");
  // One line per request: the 20 000 notifications of the flood are not there, the list change is.
  assert.equal(records.length + events.length, new Set([...records, ...events]).size);
  assert.ok(records.length + events.length < 20, `${records.length + events.length} lines`);
  assert.deepEqual(events.map((e) => [e.from, e.event, e.method]), [
    ["server", "notification", "notifications/tools/list_changed"],
  ]);
  const text = JSON.stringify(records);
  assert.ok(!text.includes(canary.secret), "the secret-looking argument is masked");
  if (options.content) {
    assert.equal((byTool("echo").arguments as Record<string, unknown>).text, canary.plain);
    assert.equal((byTool("echo").arguments as Record<string, unknown>).api_token, "[masked]");
    assert.equal(byTool("huge").contentCut, true);
  } else {
    assert.ok(!text.includes(canary.plain), "no content without --audit-content");
    assert.equal(byTool("echo").arguments, undefined);
  }
}

/** Checks the spans of one session of {@linkcode exercise}. */
export function checkSpans(
  spans: ReceivedSpan[],
  canary: Canaries,
  content: boolean,
  transport: "pipe" | "tcp" = "pipe",
): void {
  const echo = spans.find((s) => s.name === "tools/call echo");
  assert.ok(echo, spans.map((s) => s.name).join(", "));
  const attributes = spanAttributes(echo);
  assert.equal(attributes["mcp.method.name"], "tools/call");
  assert.equal(attributes["gen_ai.tool.name"], "echo");
  assert.equal(attributes["gen_ai.operation.name"], "execute_tool");
  assert.equal(attributes["network.transport"], transport);
  assert.ok(attributes["mcp.session.id"]);
  assert.ok(Number(attributes["mcp_run.request.size"]) > 0);
  assert.equal(echo.resource["service.name"], "mcp-run");
  assert.equal(echo.resource["mcp_run.server.name"], "audit-fixture");
  assert.ok(spans.some((s) => s.name === "prompts/get greet"));
  const fail = spans.find((s) => s.name === "tools/call fail")!;
  assert.equal(fail.status.code, 2);
  assert.equal(spanAttributes(fail)["error.type"], "-32602");
  const wipe = spans.find((s) => s.name === "tools/call wipe")!;
  assert.equal(spanAttributes(wipe)["mcp_run.outcome"], "refused-by-filter");
  const text = JSON.stringify(spans);
  assert.ok(!text.includes(canary.secret));
  assert.equal(text.includes(canary.plain), content);
}
