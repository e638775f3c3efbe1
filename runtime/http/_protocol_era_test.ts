import assert from "node:assert/strict";
import {
  checkModernRequest,
  decodeHeaderValue,
  eraOf,
  legacyMessageOf,
  MetaKey,
  ModernErrorCode,
  modernResultOf,
  SUPPORTED_VERSIONS,
} from "./_protocol_era.ts";
import type { Message } from "./_messages.ts";

const MODERN = "2026-07-28";
const meta = {
  [MetaKey.protocolVersion]: MODERN,
  [MetaKey.clientInfo]: { name: "c", version: "1" },
};
const call = (name: string, extra: Record<string, unknown> = {}) => ({
  jsonrpc: "2.0",
  id: 7,
  method: "tools/call",
  params: { name, arguments: {}, _meta: { ...meta, ...extra } },
});

Deno.test("eraOf() picks the rules from the version header, the session and initialize", async () => {
  const h = (headers: Record<string, string>) => new Headers(headers);
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: {} };
  const cases: [string, Record<string, string>, unknown, string][] = [
    ["POST", {}, init, "legacy"],
    ["POST", { "mcp-session-id": "s", "mcp-protocol-version": "2025-11-25" }, {}, "legacy"],
    ["GET", { "mcp-session-id": "s" }, undefined, "legacy"],
    ["POST", { "mcp-protocol-version": "2025-06-18" }, {}, "legacy"],
    ["POST", { "mcp-protocol-version": MODERN }, call("echo"), "modern"],
    ["POST", { "mcp-protocol-version": MODERN, "mcp-session-id": "s" }, call("x"), "modern"],
    ["GET", { "mcp-protocol-version": MODERN }, undefined, "refused"],
    ["DELETE", { "mcp-protocol-version": MODERN }, undefined, "refused"],
    ["POST", { "mcp-protocol-version": "1900-01-01" }, call("echo"), "refused"],
  ];
  for (const [method, headers, body, expected] of cases) {
    assert.equal(
      eraOf(method, h(headers), body).era,
      expected,
      `${method} ${JSON.stringify(headers)}`,
    );
  }
  const get = eraOf("GET", h({ "mcp-protocol-version": MODERN }), undefined);
  assert.equal(get.era === "refused" && get.response.status, 405);
  const unknown = eraOf("POST", h({ "mcp-protocol-version": "1900-01-01" }), call("echo"));
  assert.ok(unknown.era === "refused");
  assert.equal(unknown.response.status, 400);
  assert.deepEqual(await unknown.response.json(), {
    jsonrpc: "2.0",
    id: 7,
    error: {
      code: ModernErrorCode.UnsupportedProtocolVersion,
      message: "Unsupported protocol version",
      data: { supported: SUPPORTED_VERSIONS, requested: "1900-01-01" },
    },
  });
});

Deno.test("checkModernRequest() requires mirrored headers that match the body", async () => {
  const headers = (extra: Record<string, string>) =>
    new Headers({ "mcp-protocol-version": MODERN, "mcp-method": "tools/call", ...extra });
  const ok = checkModernRequest(headers({ "mcp-name": "echo" }), MODERN, call("echo"));
  assert.ok(!(ok instanceof Response));
  assert.equal(ok.method, "tools/call");
  const encoded = `=?base64?${
    btoa(String.fromCharCode(...new TextEncoder().encode("wetter ☀")))
  }?=`;
  assert.ok(
    !(checkModernRequest(headers({ "mcp-name": encoded }), MODERN, call("wetter ☀")) instanceof
      Response),
  );
  const refused: [Headers, unknown][] = [
    [headers({}), call("echo")], // no Mcp-Name
    [headers({ "mcp-name": "other" }), call("echo")], // routed on one name, runs another
    [headers({ "mcp-name": "=?base64?!!?=" }), call("echo")],
    [new Headers({ "mcp-name": "echo" }), call("echo")], // no Mcp-Method
    [headers({ "mcp-name": "echo" }), call("echo", { [MetaKey.protocolVersion]: "2025-11-25" })],
    [headers({ "mcp-name": "echo" }), { ...call("echo"), params: { name: "echo" } }], // no _meta
  ];
  for (const [h, body] of refused) {
    const response = checkModernRequest(h, MODERN, body);
    assert.ok(response instanceof Response);
    assert.equal(response.status, 400);
    const error = (await response.json()).error;
    assert.equal(error.code, ModernErrorCode.HeaderMismatch, error.message);
  }
  for (const body of [[call("echo")], "text", { jsonrpc: "2.0", id: 1, result: {} }]) {
    const response = checkModernRequest(headers({ "mcp-name": "echo" }), MODERN, body);
    assert.ok(response instanceof Response);
    assert.equal((await response.json()).error.code, -32600);
  }
});

Deno.test("decodeHeaderValue() decodes the base64 sentinel and refuses a broken one", () => {
  assert.equal(decodeHeaderValue("us-west1"), "us-west1");
  assert.equal(decodeHeaderValue("=?base64?SGVsbG8sIOS4lueVjA==?="), "Hello, 世界");
  assert.equal(decodeHeaderValue("=?base64?/w==?="), undefined); // not UTF-8
  assert.equal(decodeHeaderValue("=?base64?abc"), undefined);
});

Deno.test("legacyMessageOf() removes the per-request envelope and keeps progress tokens", () => {
  const message = call("echo", { progressToken: 5 }) as Message;
  const out = legacyMessageOf(message);
  assert.deepEqual(out.params?._meta, { progressToken: 5 });
  assert.deepEqual(legacyMessageOf(call("echo") as Message).params, {
    name: "echo",
    arguments: {},
  });
  assert.equal((message.params!._meta as Record<string, unknown>)[MetaKey.protocolVersion], MODERN);
});

Deno.test("modernResultOf() adds resultType, private no-cache hints and the server's identity", () => {
  const info = { name: "s", version: "1" };
  assert.deepEqual(modernResultOf("tools/call", { content: [] }, info), {
    content: [],
    resultType: "complete",
    _meta: { [MetaKey.serverInfo]: info },
  });
  assert.deepEqual(modernResultOf("tools/list", { tools: [], ttlMs: -3 }, undefined), {
    tools: [],
    resultType: "complete",
    ttlMs: 0,
    cacheScope: "private",
  });
  const kept = modernResultOf(
    "resources/read",
    { contents: [], ttlMs: 500, cacheScope: "public" },
    info,
  );
  assert.equal(kept.ttlMs, 0, "the server's ttl is not passed on");
  assert.equal(kept.cacheScope, "private", "no answer is marked shareable");
  assert.equal(modernResultOf("tools/call", { ttlMs: 500 }, undefined).ttlMs, 500);
});
