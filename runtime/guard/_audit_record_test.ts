import assert from "node:assert/strict";
import { auditRecord, MASKED } from "./_audit_record.ts";
import type { Exchange, Message } from "./stage.ts";

function exchange(request: Message, response: Message, answeredBy = "server"): Exchange {
  return {
    request: { jsonrpc: "2.0", id: 7, ...request },
    response: { jsonrpc: "2.0", id: 7, ...response },
    startedAt: Date.parse("2026-11-30T08:00:00.000Z"),
    durationMs: 12.3456,
    requestBytes: 100,
    responseBytes: 200,
    answeredBy,
  };
}

const SESSION = { session: "s-1", server: "fixture" };

Deno.test("auditRecord() names the tool, prompt or resource a request is about", () => {
  const cases: [Message, Record<string, unknown>][] = [
    [{ method: "tools/call", params: { name: "echo", arguments: {} } }, { tool: "echo" }],
    [{ method: "prompts/get", params: { name: "greet" } }, { prompt: "greet" }],
    [{ method: "resources/read", params: { uri: "file:///a" } }, { uri: "file:///a" }],
    [{ method: "tools/list", params: {} }, {}],
    [
      { method: "resources/read", params: { uri: "https://ada:pw@api.example/x?q=1&api_key=k#f" } },
      { uri: "https://ada:[masked]@api.example/x?q=1&api_key=[masked]#f" },
    ],
    [
      { method: "resources/subscribe", params: { uri: "db://h/t?Token=abc;mode=ro" } },
      { uri: "db://h/t?Token=[masked];mode=ro" },
    ],
    [{ method: "tools/call", params: { name: 42 } }, {}],
  ];
  for (const [request, expected] of cases) {
    const record = auditRecord(exchange(request, { result: {} }), SESSION);
    const got = Object.fromEntries(
      (["tool", "prompt", "uri"] as const).filter((k) => k in record).map((k) => [k, record[k]]),
    );
    assert.deepEqual(got, expected, request.method);
  }
});

Deno.test("auditRecord() records time, session, sizes and duration", () => {
  const record = auditRecord(
    exchange({ method: "tools/call", params: { name: "echo" } }, { result: { content: [] } }),
    SESSION,
  );
  assert.deepEqual(record, {
    time: "2026-11-30T08:00:00.000Z",
    session: "s-1",
    server: "fixture",
    id: 7,
    method: "tools/call",
    tool: "echo",
    durationMs: 12.346,
    outcome: "ok",
    requestBytes: 100,
    responseBytes: 200,
  });
});

Deno.test("auditRecord() tells errors, tool errors and refusals by a stage apart", () => {
  const error = auditRecord(
    exchange({ method: "tools/call" }, { error: { code: -32602, message: "bad" } }),
    SESSION,
  );
  assert.equal(error.outcome, "error");
  assert.deepEqual(error.error, { code: -32602 });
  const tool = auditRecord(
    exchange({ method: "tools/call" }, {
      result: { isError: true, content: [{ type: "text", text: "no such file" }] },
    }),
    SESSION,
  );
  assert.equal(tool.outcome, "tool-error");
  assert.equal(tool.error, undefined);
  const refused = auditRecord(
    exchange({ method: "tools/call" }, { error: { code: -32600, message: "blocked" } }, "pins"),
    SESSION,
  );
  assert.equal(refused.outcome, "refused-by-pins");
  assert.deepEqual(refused.error, { code: -32600, message: "blocked" });
  assert.equal(refused.answeredBy, "pins");
  const timedOut = auditRecord(
    exchange({ method: "tools/call" }, { error: { code: -32001, message: "late" } }, "mcp-run"),
    SESSION,
  );
  assert.equal(timedOut.outcome, "error");
  assert.equal(timedOut.answeredBy, "mcp-run");
});

Deno.test("auditRecord() leaves content out unless asked", () => {
  const request = { method: "tools/call", params: { name: "echo", arguments: { text: "hi" } } };
  const bare = auditRecord(exchange(request, { result: { content: [] } }), SESSION);
  assert.equal("arguments" in bare, false);
  assert.equal("result" in bare, false);
  const full = auditRecord(exchange(request, { result: { content: [] } }), {
    ...SESSION,
    content: true,
  });
  assert.deepEqual(full.arguments, { text: "hi" });
  assert.deepEqual(full.result, { content: [] });
  assert.equal(full.contentCut, undefined);
});

Deno.test("auditRecord() masks fields named like secrets, at any depth", () => {
  const args = {
    note: "visible",
    apiKey: "k",
    password: "p",
    nested: { Authorization: "Bearer x", list: [{ access_token: "t" }] },
    client_secret: "s",
  };
  const record = auditRecord(
    exchange({ method: "tools/call", params: { name: "t", arguments: args } }, { result: {} }),
    { ...SESSION, content: true },
  );
  assert.deepEqual(record.arguments, {
    note: "visible",
    apiKey: MASKED,
    password: MASKED,
    nested: { Authorization: MASKED, list: [{ access_token: MASKED }] },
    client_secret: MASKED,
  });
});

Deno.test("auditRecord() keeps a hostile answer's line bounded and says what it cut", () => {
  const huge = "x".repeat(5_000_000);
  const deep: Record<string, unknown> = {};
  let at = deep;
  for (let i = 0; i < 1000; i++) at = (at.next = {}) as Record<string, unknown>;
  const wide = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
  const response = {
    result: {
      content: Array.from({ length: 10_000 }, () => ({ type: "text", text: huge })),
      deep,
      wide,
    },
  };
  const request = {
    method: "tools/call".repeat(1000),
    params: { name: "n".repeat(100_000), arguments: { text: huge } },
  };
  const record = auditRecord(exchange(request, response), { ...SESSION, content: true });
  const line = JSON.stringify(record);
  assert.ok(line.length < 64 * 1024, `${line.length} characters`);
  assert.equal(record.contentCut, true);
  assert.match(line, /\[cut: 5000000 characters\]/);
  const bare = JSON.stringify(auditRecord(exchange(request, response), SESSION));
  assert.ok(bare.length < 2048, `${bare.length} characters`);
});

Deno.test("auditRecord() bounds the written size of control characters, in values and names", () => {
  const control = "\u0001".repeat(100_000);
  const fields = Object.fromEntries(
    Array.from({ length: 60 }, (_, i) => [`${i}${control}`, control]),
  );
  const request = {
    method: control,
    params: { name: control, arguments: { ...fields, list: Array(60).fill(control) } },
  };
  const response = { error: { code: 1, message: control, data: fields } };
  const line = JSON.stringify(
    auditRecord(exchange(request, response), { ...SESSION, content: true }),
  );
  assert.ok(line.length < 64 * 1024, `${line.length} characters`);
});

Deno.test("auditRecord() keeps a server's error text and a tool's error text out unless asked", () => {
  const secret = `SECRET-${crypto.randomUUID()}`;
  const request = { method: "tools/call", params: { name: "t" } };
  const failed = { error: { code: -32602, message: `no such user ${secret}` } };
  const toolError = { result: { isError: true, content: [{ type: "text", text: secret }] } };
  for (const response of [failed, toolError]) {
    const bare = auditRecord(exchange(request, response), SESSION);
    assert.ok(!JSON.stringify(bare).includes(secret), JSON.stringify(bare));
    assert.notEqual(bare.outcome, "ok");
  }
  // Positive controls: with content, the server's message and the tool's text are there.
  const full = { ...SESSION, content: true };
  assert.equal(
    auditRecord(exchange(request, failed), full).error?.message,
    `no such user ${secret}`,
  );
  assert.ok(
    JSON.stringify(auditRecord(exchange(request, toolError), full).result).includes(secret),
  );
  assert.equal(auditRecord(exchange(request, toolError), full).error, undefined);
});

Deno.test("auditRecord() masks URL credentials and token-shaped values at any depth", () => {
  const password = `pw${crypto.randomUUID()}`;
  const ghp = `ghp_${"a1B2".repeat(9)}`;
  const url = `postgres://ada:${password}@db.example/app?token=abc&mode=ro`;
  const args = { uri: url, deep: [{ note: `see ${url} and ${ghp}` }], plain: "ordinary value" };
  const response = {
    result: { contents: [{ uri: url, text: "r" }], content: [{ type: "text", text: ghp }] },
  };
  const record = auditRecord(
    exchange({ method: "tools/call", params: { name: "t", arguments: args } }, response),
    { ...SESSION, content: true },
  );
  const line = JSON.stringify(record);
  for (const secret of [password, ghp, "token=abc"]) assert.ok(!line.includes(secret), secret);
  const masked = `postgres://ada:${MASKED}@db.example/app?token=${MASKED}&mode=ro`;
  assert.deepEqual(record.arguments, {
    uri: masked,
    deep: [{ note: `see ${masked} and ${MASKED}` }],
    plain: "ordinary value",
  });
  assert.deepEqual((record.result as { contents: unknown[] }).contents, [{
    uri: masked,
    text: "r",
  }]);
});

Deno.test("auditRecord() masks a password a cut would have split from its URL", () => {
  const text = `${"x".repeat(1000)} https://ada:hunter2-long-password@h/ ${"y".repeat(100)}`;
  const record = auditRecord(
    exchange({ method: "tools/call", params: { name: "t", arguments: { text } } }, {
      result: {},
    }),
    { ...SESSION, content: true },
  );
  const line = JSON.stringify(record);
  assert.ok(!line.includes("hunter2"), line);
  assert.equal(record.contentCut, true);
});
