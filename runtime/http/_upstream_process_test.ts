import assert from "node:assert/strict";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { Message } from "./_messages.ts";
import { UpstreamProcess, type UpstreamProcessOptions } from "./_upstream_process.ts";

/** A server end that records what it receives, and a process whose start the test releases. */
function setup(options: Partial<UpstreamProcessOptions> = {}) {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const received: Message[] = [];
  server.onmessage = (message: unknown) => received.push(message as Message);
  const events: string[] = [];
  let release!: () => void;
  const started = new Promise<void>((resolve) => release = resolve);
  let connects = 0;
  const process = new UpstreamProcess(async (): Promise<Transport> => {
    connects++;
    await started;
    return client;
  }, {
    onMessage: (message) => events.push(`message ${message.method}`),
    onExit: (reason) => events.push(`exit: ${reason}`),
    onWriteFailed: (message, reason) => events.push(`failed ${message.id}: ${reason}`),
    ...options,
  });
  return { process, server, received, events, release, connects: () => connects };
}

const request = (id: number): Message => ({ jsonrpc: "2.0", id, method: "tools/list" });
const turn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("UpstreamProcess.send() starts the server once and queues messages until it is up", async () => {
  const { process, received, release, connects } = setup();
  assert.equal(process.state, "idle");
  assert.equal(process.running, false);
  process.send(request(1));
  process.send(request(2));
  assert.equal(process.state, "connecting");
  assert.equal(process.running, true);
  assert.equal(received.length, 0);
  release();
  await turn();
  assert.equal(process.state, "open");
  assert.deepEqual(received.map((m) => m.id), [1, 2]);
  process.send(request(3));
  await turn();
  assert.deepEqual(received.map((m) => m.id), [1, 2, 3]);
  assert.equal(connects(), 1);
  await process.close();
  assert.equal(process.running, false);
});

Deno.test("UpstreamProcess passes the server's messages on until it is closed", async () => {
  const { process, server, events, release } = setup();
  release();
  process.send(request(1));
  await turn();
  await server.send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  assert.deepEqual(events, ["message notifications/tools/list_changed"]);
  await process.close();
  assert.equal(process.state, "closed");
  assert.deepEqual(events, ["message notifications/tools/list_changed"], "close is not an exit");
});

Deno.test("UpstreamProcess reports a crash once, and refuses later messages", async () => {
  const { process, server, events, release } = setup();
  release();
  process.send(request(1));
  await turn();
  await server.close(); // the server end goes away: the process "exited"
  assert.deepEqual(events, ["exit: The MCP server exited"]);
  assert.equal(process.state, "closed");
  process.send(request(2));
  assert.deepEqual(events.slice(1), ["failed 2: The MCP server is not running"]);
  await process.close();
});

Deno.test("UpstreamProcess reports a server that cannot start", async () => {
  const events: string[] = [];
  const process = new UpstreamProcess(() => Promise.reject(new Error("no such file")), {
    onMessage: () => {},
    onExit: (reason) => events.push(reason),
    onWriteFailed: () => {},
  });
  process.send(request(1));
  await turn();
  assert.deepEqual(events, ["Cannot start the MCP server: no such file"]);
  assert.equal(process.state, "closed");
});

Deno.test("UpstreamProcess refuses messages beyond the start-up queue", async () => {
  const { process, events, release } = setup({ maxQueuedMessages: 1 });
  process.send(request(1));
  process.send(request(2));
  assert.deepEqual(events, ["failed 2: Too many messages queued while the MCP server starts"]);
  release();
  await process.close();
});

Deno.test("UpstreamProcess.close() while starting closes the transport once it arrives", async () => {
  const { process, server, received, events, release } = setup();
  let serverClosed = false;
  server.onclose = () => serverClosed = true;
  process.send(request(1));
  const closing = process.close();
  release();
  await closing;
  await turn();
  assert.equal(serverClosed, true);
  assert.deepEqual(received, [], "queued messages are dropped");
  assert.deepEqual(events, [], "no exit is reported for a requested stop");
  assert.equal(process.running, false);
});
