import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { ServerExitedError } from "./server_process.ts";
import type { SpawnServerOptions } from "./server_process.ts";
import { ProcessTransport } from "./stdio_transport.ts";
import { spawnFixture } from "./_stdio_fixture.ts";

/** A transport over the fixture, with everything it reported collected. */
async function open(options: SpawnServerOptions = {}): Promise<{
  transport: ProcessTransport;
  messages: JSONRPCMessage[];
  errors: Error[];
  closed: () => number;
  waitFor: (count: number) => Promise<void>;
}> {
  const process = spawnFixture(options);
  const transport = new ProcessTransport(process);
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  let closes = 0;
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e);
  transport.onclose = () => closes++;
  await transport.start();
  return {
    transport,
    messages,
    errors,
    closed: () => closes,
    waitFor: async (count) => {
      const deadline = Date.now() + 20_000;
      while (messages.length < count) {
        assert.ok(Date.now() < deadline, `waited for ${count} messages, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

Deno.test("ProcessTransport delivers the server's messages and close() fires onclose once", async () => {
  const t = await open();
  await t.transport.send({ jsonrpc: "2.0", id: 1, method: "echo", params: { a: 1 } });
  await t.waitFor(1);
  assert.deepEqual(t.messages, [{ jsonrpc: "2.0", id: 1, result: { a: 1 } }]);
  await t.transport.close();
  await t.transport.process.status;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(t.closed(), 1);
  assert.deepEqual(t.errors, [], "an exit we caused is not an error");
});

Deno.test("ProcessTransport reports lines that are not JSON-RPC and keeps reading", async () => {
  const t = await open();
  await t.transport.send({ jsonrpc: "2.0", method: "junk" });
  await t.transport.send({ jsonrpc: "2.0", id: 2, method: "echo", params: "still here" });
  await t.waitFor(1);
  assert.deepEqual(t.messages, [{ jsonrpc: "2.0", id: 2, result: "still here" }]);
  assert.equal(t.errors.length, 2, "the blank line is skipped silently");
  for (const error of t.errors) assert.ok(error instanceof SyntaxError);
  assert.equal(t.errors[0].message, 'Server "fixture" wrote a line that is not JSON-RPC: not json');
  assert.match(t.errors[1].message, /no version/);
  await t.transport.close();
});

Deno.test("ProcessTransport answers a request whose response was oversized with an error", async () => {
  const t = await open({ maxLineBytes: 4096 });
  await t.transport.send({ jsonrpc: "2.0", id: "big-1", method: "big" });
  await t.waitFor(1);
  const size = JSON.stringify({ jsonrpc: "2.0", id: "big-1", result: "x".repeat(20000) }).length;
  const message = `Server "fixture" sent a ${size}-byte message; it was dropped`;
  assert.deepEqual(t.messages, [{ jsonrpc: "2.0", id: "big-1", error: { code: -32603, message } }]);
  assert.ok(t.errors[0] instanceof RangeError);
  assert.equal(t.errors[0].message, message);
  await t.transport.close();
});

Deno.test("ProcessTransport does not invent an answer for an oversized line nobody asked for", async () => {
  const t = await open({ maxLineBytes: 4096 });
  // A notification carries no id, so the big answer (id null) matches no open request.
  await t.transport.send({ jsonrpc: "2.0", method: "big" } as JSONRPCMessage);
  await t.transport.send({ jsonrpc: "2.0", id: 3, method: "echo", params: 3 });
  await t.waitFor(1);
  assert.deepEqual(t.messages, [{ jsonrpc: "2.0", id: 3, result: 3 }]);
  assert.equal(t.errors.length, 1);
  await t.transport.close();
});

Deno.test("ProcessTransport reports an unexpected exit with its code and stderr, then closes", async () => {
  const t = await open();
  assert.equal(await t.transport.exitError(), undefined, "still running");
  await t.transport.send({ jsonrpc: "2.0", method: "exit" });
  const exited = await t.transport.exitError(20_000);
  assert.ok(exited instanceof ServerExitedError);
  assert.equal(exited.code, 4);
  assert.equal(exited.stderrTail, "last words");
  while (t.closed() === 0) await new Promise((r) => setTimeout(r, 10));
  assert.equal(t.errors.length, 1);
  assert.ok(t.errors[0] instanceof ServerExitedError);
  assert.equal(t.errors[0].message, 'Server "fixture" exited with code 4:\nlast words');
  await t.transport.close();
  assert.equal(t.closed(), 1, "close() after the exit does not fire onclose again");
});
