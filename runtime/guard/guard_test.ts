import assert from "node:assert/strict";
import { Guard, GuardErrorCode } from "./guard.ts";
import type { Exchange, GuardStage, Message } from "./stage.ts";

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
