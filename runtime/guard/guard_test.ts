import assert from "node:assert/strict";
import { Guard, GuardErrorCode } from "./guard.ts";
import type { Exchange, GuardStage, Message } from "./stage.ts";
import { notificationLimit } from "./supervision.ts";

/** A guard with recording sinks. */
function harness(stages: GuardStage[] = [], requestTimeoutMs?: number) {
  const toClient: Message[] = [];
  const toServer: Message[] = [];
  const logs: string[] = [];
  const stops: string[] = [];
  const guard = new Guard(stages, {
    toClient: (m) => void toClient.push(m),
    toServer: (m) => void toServer.push(m),
    stopServer: (reason) => void stops.push(reason),
    log: (line) => void logs.push(line),
  }, { server: "demo", session: "s1", requestTimeoutMs });
  return { guard, toClient, toServer, logs, stops };
}

const call = (id: number, name: string): Message => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {} },
});

Deno.test("Guard answers a request a stage refuses and records who answered", async () => {
  const exchanges: Exchange[] = [];
  const refuse: GuardStage = {
    name: "filter",
    fromClient: (m) =>
      m.params?.name === "bad"
        ? { reply: { jsonrpc: "2.0", id: m.id, error: { code: -32600, message: "no" } } }
        : { pass: m },
  };
  const audit: GuardStage = { name: "audit", answered: (e) => void exchanges.push(e) };
  const h = harness([refuse, audit]);
  await h.guard.fromClient(call(1, "bad"));
  await h.guard.fromClient(call(2, "good"));
  assert.deepEqual(h.toServer.map((m) => m.id), [2], "only the allowed call reaches the server");
  await h.guard.fromServer({ jsonrpc: "2.0", id: 2, result: { content: [] } });
  assert.deepEqual(h.toClient.map((m) => m.id), [1, 2]);
  assert.deepEqual(exchanges.map((e) => [e.request.id, e.answeredBy]), [[1, "filter"], [
    2,
    "server",
  ]]);
  assert.ok(exchanges.every((e) => e.requestBytes > 0 && e.responseBytes > 0));
});

Deno.test("Guard drops answers to unknown or answered ids and messages without jsonrpc", async () => {
  const h = harness();
  await h.guard.fromClient(call(1, "x"));
  await h.guard.fromServer({ jsonrpc: "2.0", id: 1, result: {} });
  await h.guard.fromServer({ jsonrpc: "2.0", id: 1, result: {} });
  await h.guard.fromServer({ jsonrpc: "2.0", id: 99, result: {} });
  await h.guard.fromServer({ id: 1, result: {} } as Message);
  assert.equal(h.toClient.length, 1);
  assert.deepEqual([...h.guard.dropped.values()], [2, 1]);
});

Deno.test("Guard keeps its own requests' answers from the client", async () => {
  const h = harness();
  const listed = h.guard.context.request("tools/list");
  const own = h.toServer[0];
  assert.equal(own.method, "tools/list");
  await h.guard.fromServer({ jsonrpc: "2.0", id: own.id, result: { tools: [] } });
  assert.deepEqual(await listed, { tools: [] });
  assert.equal(h.toClient.length, 0);
  const failing = h.guard.context.request("prompts/list");
  await h.guard.fromServer({
    jsonrpc: "2.0",
    id: h.toServer[1].id,
    error: { code: -32601, message: "nope" },
  });
  await assert.rejects(failing, /nope \(JSON-RPC error -32601\)/);
});

Deno.test("Guard times a request out, cancels it, and stops a server that does not answer a ping", async () => {
  const h = harness([], 50);
  await h.guard.fromClient(call(7, "slow"));
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(h.toClient[0].error?.code, GuardErrorCode.RequestTimeout);
  assert.equal(h.toServer[1].method, "notifications/cancelled");
  assert.equal(h.toServer[2].method, "ping");
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(h.stops.length, 1, "no answer to the ping: stopped");
  // The late answer of the timed-out request is dropped.
  await h.guard.fromServer({ jsonrpc: "2.0", id: 7, result: {} });
  assert.equal(h.toClient.length, 1);
  await h.guard.close("done");
});

Deno.test("Guard.close() fails open requests unless told to leave them", async () => {
  const h = harness();
  await h.guard.fromClient(call(1, "x"));
  await h.guard.close("the server ended");
  assert.match(h.toClient[0].error?.message ?? "", /the server ended/);
  const left = harness();
  await left.guard.fromClient(call(1, "x"));
  await left.guard.close("ended", { failOpen: false });
  assert.equal(left.toClient.length, 0);
  await assert.rejects(left.guard.context.request("ping"), /has ended/);
});

Deno.test("Guard drops server messages that are neither a request, a notification nor a response", async () => {
  const h = harness();
  await h.guard.fromClient(call(1, "x"));
  const shapes: Message[] = [
    { jsonrpc: "2.0", id: null, method: "notifications/message" },
    { jsonrpc: "2.0", method: "notifications/message", result: {} },
    { jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "both" } },
  ];
  for (const shape of shapes) await h.guard.fromServer(shape);
  assert.equal(h.toClient.length, 0, "none reached the client");
  await h.guard.fromServer({ jsonrpc: "2.0", id: 1, result: {} });
  assert.equal(h.toClient.length, 1, "the open request is still answered");
});

Deno.test("Guard refuses a reused open id and a call sent without an id", async () => {
  const h = harness();
  await h.guard.fromClient(call(5, "first"));
  await h.guard.fromClient({ jsonrpc: "2.0", id: 5, method: "ping" });
  await h.guard.fromClient({ jsonrpc: "2.0", method: "tools/call", params: { name: "rm" } });
  await h.guard.fromClient({ jsonrpc: "2.0", id: null, method: "tools/call" });
  assert.deepEqual(h.toServer.map((m) => m.params?.name), ["first"], "only the first call passed");
  assert.match(h.toClient[0].error?.message ?? "", /still open/);
});

Deno.test("Guard sends a judged call as it read it, not as its bytes", async () => {
  const sent: (Uint8Array | undefined)[] = [];
  const guard = new Guard([], {
    toClient: () => {},
    toServer: (_m, raw) => void sent.push(raw),
    stopServer: () => {},
    log: () => {},
  }, { server: "demo" });
  const bytes = new TextEncoder().encode(
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm","name":"ok"}}',
  );
  await guard.fromClient(
    { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "ok" } },
    bytes,
  );
  await guard.fromClient({ jsonrpc: "2.0", id: 2, method: "ping" }, new TextEncoder().encode("{}"));
  assert.equal(sent[0], undefined, "re-encoded from what the checks judged");
  assert.ok(sent[1] instanceof Uint8Array, "anything else passes as its bytes");
});

Deno.test("Guard's own request fails, without an unhandled rejection, when the server cannot be written", async () => {
  const guard = new Guard([], {
    toClient: () => {},
    toServer: () => Promise.reject(new Error("BrokenPipe")),
    stopServer: () => {},
    log: () => {},
  }, { server: "demo", requestTimeoutMs: 20 });
  await assert.rejects(guard.context.request("tools/list"), /BrokenPipe/);
  guard.context.toServer({ jsonrpc: "2.0", method: "notifications/cancelled" });
  await guard.fromClient(call(1, "x")).catch(() => {});
  await new Promise((r) => setTimeout(r, 80)); // the timeout's cancel and ping fail quietly too
  await guard.close("done");
});

Deno.test("notificationLimit() answers requests over the rate and lets list changes through once a second", () => {
  let t = 0;
  const stage = notificationLimit({ perSecond: 1, burst: 1, now: () => t });
  const judge = (m: Message) =>
    stage.fromServer!(m, undefined, {} as never) as Record<string, Message>;
  const note = { jsonrpc: "2.0", method: "notifications/message" } as Message;
  assert.ok("pass" in judge(note));
  assert.ok("drop" in judge(note), "the notification bucket is empty");
  assert.ok("pass" in judge({ jsonrpc: "2.0", id: 1, method: "ping" }), "requests have their own");
  assert.equal(judge({ jsonrpc: "2.0", id: 2, method: "ping" }).reply?.error?.code, -32000);
  const changed = { jsonrpc: "2.0", method: "notifications/tools/list_changed" } as Message;
  assert.ok("pass" in judge(changed), "not starved by the flood");
  assert.ok("drop" in judge(changed));
  t += 1000;
  assert.ok("pass" in judge(changed));
});
