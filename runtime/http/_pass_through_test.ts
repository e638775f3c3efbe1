import assert from "node:assert/strict";
import { BridgeErrorCode } from "./_messages.ts";
import { PassThrough } from "./_pass_through.ts";
import { call, FakeSession, initialize, linkedUpstream, turn } from "./_upstream_fixture.ts";

Deno.test("PassThrough passes ids and progress tokens through unchanged", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(PassThrough);
  const [down, link] = attach();
  link.receive(call(7, { _meta: { progressToken: "p" } }));
  await turn();
  assert.equal(atServer[0].id, 7);
  assert.equal(atServer[0].params?._meta?.progressToken, "p");
  assert.equal(link.inflight, 1);
  assert.equal(down.inflightCount, 1);
  await fromServer({
    method: "notifications/progress",
    params: { progressToken: "p", progress: 1 },
  });
  await fromServer({ id: 7, result: { ok: true } });
  assert.deepEqual(down.sent.map((s) => [s.message.method ?? s.message.id, s.related]), [
    ["notifications/progress", 7],
    [7, 7],
  ]);
  assert.equal(link.inflight, 0);
  assert.equal(down.inflightCount, 0);
  await upstream.close();
});

Deno.test("PassThrough refuses a second session", async () => {
  const { upstream, attach } = linkedUpstream(PassThrough);
  attach();
  assert.throws(
    () => upstream.attach(new FakeSession()),
    { name: "RangeError", message: "Cannot attach a second session to an isolated MCP server" },
  );
  await upstream.close();
});

Deno.test("PassThrough ends the session whose initialize the server refused", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(PassThrough);
  const [down, link] = attach();
  link.receive(initialize(0));
  await turn();
  await fromServer({ id: atServer[0].id, error: { code: -32602, message: "bad version" } });
  assert.deepEqual(down.sent.map((s) => s.message.error?.message), ["bad version"]);
  assert.equal(down.closed, true);
  await upstream.close();
});

Deno.test("PassThrough ends the session whose initialize timed out", async () => {
  const { upstream, attach } = linkedUpstream(PassThrough, {
    requestTimeoutMs: 20,
    startTimeoutMs: 20,
  });
  const [down, link] = attach();
  link.receive(initialize(0));
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.RequestTimeout);
  assert.equal(down.closed, true);
  await upstream.close();
});

Deno.test("PassThrough sends every server notification to its session, on the busy request", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(PassThrough);
  const [down, link] = attach();
  link.receive({ jsonrpc: "2.0", method: "notifications/initialized" });
  link.receive(call(2));
  await turn();
  assert.equal(atServer[0].method, "notifications/initialized", "passed on as sent");
  await fromServer({ method: "notifications/tools/list_changed" });
  await fromServer({ method: "notifications/message", params: { data: "log" } });
  assert.deepEqual(down.sent.map((s) => [s.message.method, s.related]), [
    ["notifications/tools/list_changed", 2],
    ["notifications/message", 2],
  ]);
  assert.equal(upstream.dropped, 0);
  await upstream.close();
});
