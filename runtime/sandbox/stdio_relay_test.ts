import assert from "node:assert/strict";
import { relayStdio } from "./stdio_relay.ts";
import type { ServerProcess } from "./server_process.ts";
import { spawnFixture } from "./_stdio_fixture.ts";

function server(): ServerProcess {
  return spawnFixture({ hello: true });
}

/** A client side the test writes to line by line, and the lines the relay wrote back. */
function client(): {
  input: ReadableStream<Uint8Array>;
  output: WritableStream<Uint8Array>;
  say: (message: unknown) => Promise<void>;
  raw: (text: string) => Promise<void>;
  end: () => Promise<void>;
  heard: () => unknown[];
  next: (count: number) => Promise<unknown[]>;
} {
  const pipe = new TransformStream<Uint8Array, Uint8Array>();
  const writer = pipe.writable.getWriter();
  let text = "";
  const output = new WritableStream<Uint8Array>({
    write: (chunk) => {
      text += new TextDecoder().decode(chunk);
    },
  });
  const heard = () => text.split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return {
    input: pipe.readable,
    output,
    say: (message) => writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n")),
    raw: (line) => writer.write(new TextEncoder().encode(line)),
    end: () => writer.close(),
    heard,
    next: async (count) => {
      const deadline = Date.now() + 20_000;
      while (heard().length < count) {
        assert.ok(Date.now() < deadline, `waited for ${count} lines, got ${heard().length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return heard();
    },
  };
}

Deno.test("relayStdio() passes lines both ways unchanged and stops the server when input ends", async () => {
  const c = client();
  const relay = relayStdio(server(), { input: c.input, output: c.output, log: () => {} });
  await c.say({ jsonrpc: "2.0", id: "a", method: "echo", params: { n: 1 } });
  await c.next(2);
  await c.end();
  const status = await relay;
  assert.equal(status.success, true, "the server exited on the end of its stdin");
  assert.deepEqual(c.heard(), [
    { jsonrpc: "2.0", method: "hello" },
    { jsonrpc: "2.0", id: "a", result: { n: 1 } },
  ]);
});

Deno.test("relayStdio() answers a request whose response was over the cap with an error", async () => {
  const logs: string[] = [];
  // The cap on server lines is the process's own (spawnServer's maxLineBytes).
  const small = spawnFixture({ hello: true, maxLineBytes: 4096 });
  const d = client();
  const relay2 = relayStdio(small, { input: d.input, output: d.output, log: (l) => logs.push(l) });
  await d.say({ jsonrpc: "2.0", id: 7, method: "big" });
  await d.say({ jsonrpc: "2.0", id: 8, method: "echo", params: "after" });
  const heard = await d.next(3);
  await d.end();
  await relay2;
  const size = JSON.stringify({ jsonrpc: "2.0", id: 7, result: "x".repeat(20000) }).length;
  assert.deepEqual(heard[1], {
    jsonrpc: "2.0",
    id: 7,
    error: {
      code: -32603,
      message: `Server "fixture" sent a ${size}-byte response; it was dropped`,
    },
  });
  assert.deepEqual(heard[2], { jsonrpc: "2.0", id: 8, result: "after" });
  assert.ok(
    logs.some((l) => l.includes(`dropped a ${size}-byte message from "fixture"`)),
    logs.join(),
  );
});

Deno.test("relayStdio() fails every open request when the server exits", async () => {
  const c = client();
  const relay = relayStdio(server(), { input: c.input, output: c.output, log: () => {} });
  await c.say({ jsonrpc: "2.0", id: 1, method: "slow" });
  await c.say({ jsonrpc: "2.0", id: "two", method: "slow" });
  await c.say({ jsonrpc: "2.0", id: 3, method: "exit" });
  const status = await relay;
  assert.equal(status.code, 4);
  const errors = c.heard().filter((m) => (m as { error?: unknown }).error);
  assert.deepEqual(
    errors,
    [1, "two", 3].map((id) => ({
      jsonrpc: "2.0",
      id,
      error: { code: -32603, message: 'Server "fixture" exited with code 4 before answering' },
    })),
  );
  await c.end().catch(() => {});
});

Deno.test("relayStdio() drops a client line over maxLineBytes and passes the next", async () => {
  const c = client();
  const logs: string[] = [];
  const relay = relayStdio(server(), {
    input: c.input,
    output: c.output,
    log: (l) => logs.push(l),
    maxLineBytes: 200,
  });
  const long = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", params: "y".repeat(500) });
  await c.raw(long + "\n");
  await c.say({ jsonrpc: "2.0", id: 2, method: "echo", params: "ok" });
  await c.next(2);
  await c.end();
  await relay;
  assert.deepEqual(c.heard(), [
    { jsonrpc: "2.0", method: "hello" },
    { jsonrpc: "2.0", id: 2, result: "ok" },
  ]);
  assert.deepEqual(logs, [
    `mcp-run: dropped a ${long.length}-byte message from the client (over the limit)`,
  ]);
});

Deno.test("relayStdio() writes each server line as its own bytes plus a newline", async () => {
  const c = client();
  const seen: string[] = [];
  const output = new WritableStream<Uint8Array>({
    write: (chunk) => void seen.push(new TextDecoder().decode(chunk)),
  });
  const relay = relayStdio(server(), { input: c.input, output, log: () => {} });
  await c.say({ jsonrpc: "2.0", id: 3, method: "echo", params: [1] });
  while (!seen.join("").includes('"id":3')) await new Promise((r) => setTimeout(r, 10));
  await c.end();
  await relay;
  // Each line goes out as its bytes followed by a newline, not re-serialised.
  assert.equal(
    seen.join(""),
    '{"jsonrpc":"2.0","method":"hello"}\n{"jsonrpc":"2.0","id":3,"result":[1]}\n',
  );
});

Deno.test("relayStdio() holds the server's output until the gate opens", async () => {
  const c = client();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const relay = relayStdio(server(), { input: c.input, output: c.output, log: () => {}, gate });
  await c.say({ jsonrpc: "2.0", id: 1, method: "echo", params: 1 });
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(c.heard(), [], "nothing passed before the gate opened");
  open();
  await c.next(2);
  await c.end();
  await relay;
});

Deno.test("relayStdio() stops the server and throws when the gate rejects", async () => {
  const c = client();
  const proc = server();
  const gate = Promise.reject(new TypeError("Approval was refused"));
  const relay = relayStdio(proc, { input: c.input, output: c.output, log: () => {}, gate });
  await c.say({ jsonrpc: "2.0", id: 9, method: "echo", params: "never" }).catch(() => {});
  await assert.rejects(relay, { name: "TypeError", message: "Approval was refused" });
  // stop() closed its stdin, on which the fixture exits: it ended though the client did not.
  await proc.status;
  const heard = c.heard();
  assert.ok(!heard.some((m) => (m as { method?: string }).method === "hello"), "output leaked");
  for (const m of heard) {
    assert.deepEqual((m as { error?: unknown }).error, {
      code: -32603,
      message: "Approval was refused",
    });
  }
});
