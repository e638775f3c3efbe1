import assert from "node:assert/strict";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, type Message } from "./_messages.ts";
import {
  type Downstream,
  type Link,
  Multiplexer,
  type MultiplexerOptions,
} from "./_multiplexer.ts";

type Sent = { message: Message; related?: string | number };

/** A session end that records what reaches it. */
class FakeSession implements Downstream {
  sent: Sent[] = [];
  closed = false;
  inflightCount = 0;
  send(message: JSONRPCMessage, related?: string | number): Promise<boolean> {
    this.sent.push({ message: message as Message, related });
    return Promise.resolve(true);
  }
  close(): void {
    this.closed = true;
  }
  inflight(delta: 1 | -1): void {
    this.inflightCount += delta;
  }
}

/** A multiplexer over an in-memory server whose received messages the test reads. */
function setup(options: Partial<MultiplexerOptions> = {}) {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const atServer: Message[] = [];
  server.onmessage = (message: unknown) => atServer.push(message as Message);
  const mux = new Multiplexer(() => Promise.resolve(client), {
    shared: false,
    requestTimeoutMs: 10_000,
    ...options,
  });
  const attach = (): [FakeSession, Link] => {
    const down = new FakeSession();
    return [down, mux.attach(down)];
  };
  const fromServer = (message: Record<string, unknown>) =>
    server.send({ jsonrpc: "2.0", ...message } as JSONRPCMessage);
  return { mux, server, atServer, attach, fromServer };
}

const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
const call = (id: number | string, params: Record<string, unknown> = {}) =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params }) as JSONRPCMessage;

Deno.test("Multiplexer passes ids and progress tokens through unchanged in isolated mode", async () => {
  const { mux, atServer, attach, fromServer } = setup();
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
  assert.throws(() => mux.attach(new FakeSession()), RangeError, "an isolated server is taken");
  await mux.close();
});

Deno.test("Multiplexer in shared mode maps equal ids and progress tokens apart", async () => {
  const { mux, atServer, attach, fromServer } = setup({ shared: true });
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
  await mux.close();
});

Deno.test("Multiplexer in shared mode initializes the server once", async () => {
  const { mux, atServer, attach, fromServer } = setup({ shared: true });
  const [a, linkA] = attach();
  const [b, linkB] = attach();
  const init = (id: number) => ({ jsonrpc: "2.0", id, method: "initialize", params: {} }) as const;
  linkA.receive(init(0) as JSONRPCMessage);
  linkB.receive(init(5) as JSONRPCMessage);
  await turn();
  assert.equal(atServer.length, 1, "one initialize reaches the server");
  await fromServer({ id: atServer[0].id, result: { serverInfo: { name: "s" } } });
  assert.deepEqual(a.sent.map((s) => s.message.id), [0]);
  assert.deepEqual(b.sent.map((s) => s.message.id), [5]);
  const [c, linkC] = attach();
  linkC.receive(init(9) as JSONRPCMessage);
  assert.deepEqual(c.sent[0].message.result, { serverInfo: { name: "s" } });
  const initialized = { jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage;
  linkA.receive(initialized);
  linkB.receive(initialized);
  await turn();
  assert.equal(atServer.filter((m) => m.method === "notifications/initialized").length, 1);
  await mux.close();
});

Deno.test("Multiplexer routes a server request only to the one session it can be about", async () => {
  const { mux, atServer, attach, fromServer } = setup({ shared: true });
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
  await mux.close();
});

Deno.test("Multiplexer fans out list_changed to all and resource updates to subscribers", async () => {
  const { mux, atServer, attach, fromServer } = setup({ shared: true });
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
  assert.equal(mux.dropped, 1, "a log message with no single session is dropped");
  await mux.close();
});

Deno.test("Multiplexer answers requests in flight when the server crashes, and ends sessions", async () => {
  const { mux, server, attach } = setup();
  const [down, link] = attach();
  link.receive(call(1));
  await turn();
  await server.close();
  assert.equal(mux.closed, true);
  assert.equal(down.closed, true);
  assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.ServerUnavailable);
  assert.equal(down.sent[0].message.error?.message, "The MCP server exited");
  link.receive(call(2));
  assert.equal(down.sent.length, 1, "a session of an ended server is closed");
  assert.throws(() => mux.attach(new FakeSession()), RangeError);
  await mux.close();
});

Deno.test("Multiplexer times out a request and cancels it on the server", async () => {
  const { mux, atServer, attach } = setup({ requestTimeoutMs: 20 });
  const [down, link] = attach();
  link.receive(call(1));
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.RequestTimeout);
  assert.equal(atServer[1].method, "notifications/cancelled");
  assert.equal(atServer[1].params?.requestId, 1);
  assert.equal(link.inflight, 0);
  await mux.close();
});

Deno.test("Multiplexer cancels a session's requests on the server when it detaches", async () => {
  const { mux, atServer, attach } = setup({ shared: true });
  const [, link] = attach();
  link.receive(call(1));
  await turn();
  link.detach();
  await turn();
  assert.equal(atServer[1].method, "notifications/cancelled");
  assert.equal(atServer[1].params?.requestId, atServer[0].id);
  assert.equal(mux.links, 0);
  await mux.close();
});
