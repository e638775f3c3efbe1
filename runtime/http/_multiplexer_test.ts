import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode } from "./_messages.ts";
import { Multiplexer } from "./_multiplexer.ts";
import { call, type FakeSession, initialize, linkedUpstream, turn } from "./_upstream_fixture.ts";

Deno.test("Multiplexer maps equal ids and progress tokens apart", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(Multiplexer);
  const [a, linkA] = attach();
  const [b, linkB] = attach();
  linkA.receive(call(1, { _meta: { progressToken: "t" } }));
  linkB.receive(call(1, { _meta: { progressToken: "t" } }));
  await turn();
  const [ida, idb] = atServer.map((m) => m.id);
  assert.notEqual(ida, idb);
  const tokens = atServer.map((m) => m.params?._meta?.progressToken);
  assert.notEqual(tokens[0], tokens[1]);
  await fromServer({
    method: "notifications/progress",
    params: { progressToken: tokens[1], progress: 1 },
  });
  await fromServer({ id: idb, result: { who: "b" } });
  await fromServer({ id: ida, result: { who: "a" } });
  assert.deepEqual(b.sent.map((s) => s.message.params?.progressToken ?? s.message.id), ["t", 1]);
  assert.deepEqual((b.sent[1].message.result as { who: string }).who, "b");
  assert.deepEqual(a.sent.map((s) => [s.message.id, (s.message.result as { who: string }).who]), [
    [1, "a"],
  ]);
  await upstream.close();
});

/** Two sessions, both of which sent `initialize` (ids 0 and 5). */
async function twoInitializing() {
  const linked = linkedUpstream(Multiplexer);
  const [a, linkA] = linked.attach();
  const [b, linkB] = linked.attach();
  linkA.receive(initialize(0));
  linkB.receive(initialize(5));
  await turn();
  return { ...linked, a, linkA, b, linkB };
}

Deno.test("Multiplexer initializes the server once", async () => {
  const { upstream, atServer, attach, fromServer, a, linkA, b, linkB } = await twoInitializing();
  assert.equal(atServer.length, 1, "one initialize reaches the server");
  await fromServer({ id: atServer[0].id, result: { serverInfo: { name: "s" } } });
  assert.deepEqual(a.sent.map((s) => s.message.id), [0]);
  assert.deepEqual(b.sent.map((s) => s.message.id), [5]);
  const [c, linkC] = attach();
  linkC.receive(initialize(9));
  assert.deepEqual(c.sent[0].message.result, { serverInfo: { name: "s" } });
  const initialized = { jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage;
  linkA.receive(initialized);
  linkB.receive(initialized);
  await turn();
  assert.equal(atServer.filter((m) => m.method === "notifications/initialized").length, 1);
  await upstream.close();
});

Deno.test("Multiplexer gives every waiting session the server's refusal of initialize", async () => {
  const { upstream, atServer, fromServer, a, b } = await twoInitializing();
  await fromServer({ id: atServer[0].id, error: { code: -32602, message: "bad version" } });
  assert.deepEqual(a.sent.map((s) => s.message.error?.message), ["bad version"]);
  assert.deepEqual(b.sent.map((s) => [s.message.id, s.message.error?.code]), [[5, -32602]]);
  assert.equal(a.closed, false, "a shared server's sessions stay");
  await upstream.close();
});

Deno.test("Multiplexer keeps the first initialize in flight when its session leaves", async () => {
  const { upstream, atServer, fromServer, linkA, b } = await twoInitializing();
  linkA.detach();
  await turn();
  assert.equal(atServer.length, 1, "no cancellation of the shared initialize");
  await fromServer({ id: atServer[0].id, result: { serverInfo: { name: "s" } } });
  assert.deepEqual(b.sent.map((s) => s.message.id), [5]);
  await upstream.close();
});

Deno.test("Multiplexer routes a server request only to the one session it can be about", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(Multiplexer);
  const [a, linkA] = attach();
  const [b, linkB] = attach();
  // Any client message starts the server.
  linkB.receive({ jsonrpc: "2.0", method: "notifications/roots/list_changed" } as JSONRPCMessage);
  await turn();
  await fromServer({ id: "s1", method: "sampling/createMessage", params: {} });
  await turn();
  const refusal = atServer.find((m) => m.id === "s1");
  assert.equal(refusal?.error?.code, BridgeErrorCode.InternalError, "two idle sessions: no guess");
  await fromServer({ id: "p1", method: "ping" });
  await turn();
  assert.deepEqual(atServer.find((m) => m.id === "p1")?.result, {}, "ping is answered");
  linkA.receive(call(3));
  await turn();
  await fromServer({ id: "s2", method: "sampling/createMessage", params: {} });
  assert.deepEqual(a.sent.map((s) => [s.message.id, s.related]), [["s2", 3]]);
  assert.deepEqual(b.sent, []);
  linkA.receive({ jsonrpc: "2.0", id: "s2", result: { text: "hi" } } as JSONRPCMessage);
  await turn();
  assert.deepEqual(atServer.at(-1), { jsonrpc: "2.0", id: "s2", result: { text: "hi" } });
  await upstream.close();
});

Deno.test("Multiplexer fans out list_changed to all and resource updates to subscribers", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(Multiplexer);
  const [a, linkA] = attach();
  const [b] = attach();
  linkA.receive({
    jsonrpc: "2.0",
    id: 1,
    method: "resources/subscribe",
    params: { uri: "file:///x" },
  } as JSONRPCMessage);
  await turn();
  await fromServer({ id: atServer[0].id, result: {} });
  await fromServer({ method: "notifications/tools/list_changed" });
  await fromServer({ method: "notifications/resources/updated", params: { uri: "file:///x" } });
  await fromServer({ method: "notifications/message", params: { data: "nobody's" } });
  const methods = (s: FakeSession) => s.sent.map((x) => x.message.method).filter(Boolean);
  assert.deepEqual(methods(a), [
    "notifications/tools/list_changed",
    "notifications/resources/updated",
  ]);
  assert.deepEqual(methods(b), ["notifications/tools/list_changed"]);
  assert.equal(upstream.dropped, 1, "a log message with no single session is dropped");
  await upstream.close();
});

Deno.test("Multiplexer unsubscribes on the server when the last subscriber leaves", async () => {
  const { upstream, atServer, attach, fromServer } = linkedUpstream(Multiplexer);
  const subscribe = (id: number) =>
    ({
      jsonrpc: "2.0",
      id,
      method: "resources/subscribe",
      params: { uri: "file:///x" },
    }) as JSONRPCMessage;
  const [a, linkA] = attach();
  const [, linkB] = attach();
  linkA.receive(subscribe(1));
  await turn();
  await fromServer({ id: atServer[0].id, result: {} });
  linkB.receive(subscribe(1));
  await turn();
  await fromServer({ id: atServer[1].id, result: {} });
  linkA.receive({
    jsonrpc: "2.0",
    id: 2,
    method: "resources/unsubscribe",
    params: { uri: "file:///x" },
  } as JSONRPCMessage);
  await turn();
  assert.equal(atServer.length, 2, "B still wants it: the unsubscribe is answered here");
  assert.deepEqual(a.sent.at(-1)?.message, { jsonrpc: "2.0", id: 2, result: {} });
  linkB.detach();
  await turn();
  assert.equal(atServer[2].method, "resources/unsubscribe");
  assert.deepEqual(atServer[2].params, { uri: "file:///x" });
  await upstream.close();
});
