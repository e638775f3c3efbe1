import assert from "node:assert/strict";
import type { AuditRecord } from "./_audit_record.ts";
import { auditSpan, OtlpExporter, type OtlpSpan, otlpTarget } from "./otlp.ts";

const RECORD: AuditRecord = {
  time: "2026-11-30T08:00:00.000Z",
  session: "s-1",
  server: "fixture",
  id: 3,
  method: "tools/call",
  tool: "echo",
  durationMs: 2.5,
  outcome: "ok",
  requestBytes: 90,
  responseBytes: 120,
};

function attributes(span: OtlpSpan): Record<string, unknown> {
  return Object.fromEntries(span.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
}

Deno.test("otlpTarget() reads the OTLP endpoint, traces endpoint and headers", () => {
  assert.equal(otlpTarget({}), undefined);
  assert.equal(
    otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/", OTEL_SDK_DISABLED: "true" }),
    undefined,
  );
  assert.deepEqual(otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" }), {
    url: "http://c:4318/v1/traces",
    headers: {},
    serviceName: "mcp-run",
  });
  const both = otlpTarget({
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://t.example/custom",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%20b, x-team=7",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=8",
    OTEL_SERVICE_NAME: "tools",
  });
  assert.deepEqual(both, {
    url: "https://t.example/custom",
    headers: { "api-key": "a b", "x-team": "8" },
    serviceName: "tools",
  });
});

Deno.test("otlpTarget() refuses a bad endpoint and bad headers without printing their values", () => {
  assert.throws(
    () => otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "file:///etc/passwd" }),
    /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
  );
  assert.throws(
    () => otlpTarget({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "not a url" }),
    /OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http\(s\) URL/,
  );
  for (const headers of ["secret-value-only", "a b=c", "k=%zz"]) {
    assert.throws(
      () =>
        otlpTarget({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://c",
          OTEL_EXPORTER_OTLP_HEADERS: headers,
        }),
      (error: Error) =>
        error instanceof TypeError && /OTEL_EXPORTER_OTLP_HEADERS must be/.test(error.message) &&
        !error.message.includes(headers),
    );
  }
});

Deno.test("auditSpan() follows the MCP semantic conventions", () => {
  const span = auditSpan(RECORD, {
    startedAt: Date.parse(RECORD.time),
    protocolVersion: "2025-06-18",
  });
  assert.equal(span.name, "tools/call echo");
  assert.equal(span.kind, 2);
  assert.match(span.traceId, /^[0-9a-f]{32}$/);
  assert.match(span.spanId, /^[0-9a-f]{16}$/);
  assert.equal(span.startTimeUnixNano, "1796025600000000000");
  assert.equal(span.endTimeUnixNano, "1796025600002500000");
  assert.deepEqual(span.status, { code: 0 });
  assert.deepEqual(attributes(span), {
    "mcp.method.name": "tools/call",
    "gen_ai.tool.name": "echo",
    "jsonrpc.request.id": "3",
    "mcp.session.id": "s-1",
    "mcp.protocol.version": "2025-06-18",
    "gen_ai.operation.name": "execute_tool",
    "network.transport": "pipe",
    "mcp_run.server.name": "fixture",
    "mcp_run.outcome": "ok",
    "mcp_run.request.size": "90",
    "mcp_run.response.size": "120",
  });
});

Deno.test("auditSpan() marks errors and continues the caller's trace", () => {
  const span = auditSpan(
    {
      ...RECORD,
      method: "resources/read",
      tool: undefined,
      uri: "file:///x",
      outcome: "refused-by-filter",
      answeredBy: "filter",
      error: { code: -32601, message: "not allowed" },
    },
    {
      startedAt: 0,
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    },
  );
  assert.equal(span.name, "resources/read");
  assert.equal(span.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.equal(span.parentSpanId, "00f067aa0ba902b7");
  assert.deepEqual(span.status, { code: 2, message: "not allowed" });
  const attrs = attributes(span);
  assert.equal(attrs["error.type"], "-32601");
  assert.equal(attrs["mcp.resource.uri"], "file:///x");
  assert.equal(attrs["mcp_run.answered_by"], "filter");
  const tool = auditSpan(
    { ...RECORD, outcome: "tool-error" },
    {
      startedAt: 0,
      traceparent: "garbage",
    },
  );
  assert.equal(attributes(tool)["error.type"], "tool_error");
  assert.equal(tool.parentSpanId, undefined);
});

Deno.test("auditSpan() says only the outcome of an error whose record holds no message", () => {
  const span = auditSpan({ ...RECORD, outcome: "tool-error" }, { startedAt: 0 });
  assert.deepEqual(span.status, { code: 2, message: "tool-error" });
  const error = auditSpan({ ...RECORD, outcome: "error", error: { code: -32602 } }, {
    startedAt: 0,
  });
  assert.deepEqual(error.status, { code: 2, message: "error" });
  assert.equal(attributes(error)["error.type"], "-32602");
});

/** A collector stand-in on loopback: records the bodies POSTed to /v1/traces. */
function collector(handler?: (request: Request) => Promise<Response> | Response) {
  const bodies: { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    if (handler) return await handler(request);
    bodies.push(await request.json());
    return new Response("{}");
  });
  const url = `http://127.0.0.1:${server.addr.port}/v1/traces`;
  const spans = () => bodies.flatMap((b) => b.resourceSpans[0].scopeSpans[0].spans);
  return { server, url, bodies, spans };
}

Deno.test("OtlpExporter sends spans in batches with the resource and headers", async () => {
  const seen: string[] = [];
  const c = collector();
  const headerCheck = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (r) => {
    seen.push(r.headers.get("api-key") ?? "");
    return new Response("{}");
  });
  try {
    const exporter = new OtlpExporter(
      { url: c.url, headers: {}, serviceName: "mcp-run" },
      { resource: { "mcp_run.server.name": "fixture" }, maxBatch: 2, delayMs: 10 },
    );
    for (let i = 0; i < 5; i++) exporter.add(auditSpan(RECORD, { startedAt: 0 }));
    await exporter.shutdown();
    assert.equal(c.spans().length, 5);
    assert.ok(c.bodies.length >= 3, `${c.bodies.length} POSTs`);
    const resource = (c.bodies[0].resourceSpans[0] as unknown as {
      resource: { attributes: { key: string; value: { stringValue: string } }[] };
    }).resource.attributes;
    assert.deepEqual(resource.map((a) => [a.key, a.value.stringValue]), [
      ["service.name", "mcp-run"],
      ["mcp_run.server.name", "fixture"],
    ]);
    const withKey = new OtlpExporter({
      url: `http://127.0.0.1:${headerCheck.addr.port}/v1/traces`,
      headers: { "api-key": "k1" },
      serviceName: "mcp-run",
    });
    withKey.add(auditSpan(RECORD, { startedAt: 0 }));
    await withKey.shutdown();
    assert.deepEqual(seen, ["k1"]);
  } finally {
    await c.server.shutdown();
    await headerCheck.shutdown();
  }
});

Deno.test("OtlpExporter never blocks on a collector that hangs or is down, and bounds its queue", async () => {
  const logs: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const hung = collector(async () => {
    await released;
    return new Response("{}");
  });
  try {
    const exporter = new OtlpExporter(
      { url: hung.url, headers: {}, serviceName: "mcp-run" },
      { maxQueue: 10, maxBatch: 5, delayMs: 1, timeoutMs: 300, log: (l) => logs.push(l) },
    );
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) exporter.add(auditSpan(RECORD, { startedAt: 0 }));
    assert.ok(performance.now() - started < 2000);
    await exporter.shutdown();
    assert.ok(performance.now() - started < 5000);
    assert.ok(exporter.dropped >= 9_990, `${exporter.dropped} dropped`);
    assert.ok(logs.some((l) => /span queue .* is full/.test(l)), logs.join("\n"));
    assert.ok(logs.some((l) => /cannot send spans to/.test(l)), logs.join("\n"));
  } finally {
    release();
    await hung.server.shutdown();
  }
  const down = new OtlpExporter(
    { url: "http://127.0.0.1:9/v1/traces", headers: {}, serviceName: "mcp-run" },
    { log: (l) => logs.push(l) },
  );
  down.add(auditSpan(RECORD, { startedAt: 0 }));
  await down.shutdown();
  assert.equal(down.dropped, 1);
});
