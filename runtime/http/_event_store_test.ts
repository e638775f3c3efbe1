import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { SessionEventStore, watchDelivery } from "./_event_store.ts";

const note = (n: number, size = 0): JSONRPCMessage =>
  ({
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { level: "info", data: `${n}${"x".repeat(size)}` },
  }) as JSONRPCMessage;

async function replay(store: SessionEventStore, after: string): Promise<[string, number][]> {
  const sent: [string, number][] = [];
  await store.replayEventsAfter(after, {
    send: (id, message) => {
      const data = String((message as { params: { data: string } }).params.data);
      sent.push([id, Number.parseInt(data)]);
      return Promise.resolve();
    },
  });
  return sent;
}

Deno.test("SessionEventStore.replayEventsAfter() sends what came after an id, once, in order", async () => {
  const store = new SessionEventStore();
  const first = await store.storeEvent("_GET_stream", note(1));
  const ids = [first];
  for (let n = 2; n <= 4; n++) ids.push(await store.storeEvent("_GET_stream", note(n)));
  await store.storeEvent("other", note(99)); // another stream of the session: not replayed
  assert.deepEqual(await replay(store, first), [[ids[1], 2], [ids[2], 3], [ids[3], 4]]);
  assert.deepEqual(await replay(store, ids[3]), []);
  assert.equal(await store.getStreamIdForEventId(ids[2]), "_GET_stream");
});

Deno.test("SessionEventStore.storeEvent() gives unguessable ids and keeps no priming event", async () => {
  const store = new SessionEventStore();
  const priming = await store.storeEvent("s", {} as JSONRPCMessage);
  assert.equal(store.size, 0);
  const next = await store.storeEvent("s", note(1));
  const [key, seq] = next.split(".");
  assert.match(key, /^[A-Za-z0-9_-]{43}$/); // 256 random bits
  assert.equal(seq, "2");
  assert.deepEqual(await replay(store, priming), [[next, 1]]);
  const otherStream = await store.storeEvent("t", note(2));
  assert.notEqual(otherStream.split(".")[0], key);
});

Deno.test("SessionEventStore resolves no forged id, future id, or another session's id", async () => {
  const mine = new SessionEventStore();
  const theirs = new SessionEventStore();
  const own = await mine.storeEvent("_GET_stream", note(1));
  const foreign = await theirs.storeEvent("_GET_stream", note(2));
  const [key] = own.split(".");
  for (
    const id of [
      foreign,
      `${key}.99`,
      `${key}.-1`,
      "_GET_stream",
      "",
      "x".repeat(10_000),
      `${key}.1.2`,
    ]
  ) {
    assert.equal(await mine.getStreamIdForEventId(id), undefined, id);
    await assert.rejects(() => replay(mine, id), RangeError);
  }
  // Positive control: the session's own id resolves.
  assert.equal(await mine.getStreamIdForEventId(own), "_GET_stream");
});

Deno.test("SessionEventStore keeps a stream within its event and byte bounds", async () => {
  const store = new SessionEventStore({ maxEventsPerStream: 3, maxBytesPerStream: 10_000 });
  const first = await store.storeEvent("s", note(0));
  for (let n = 1; n <= 10; n++) await store.storeEvent("s", note(n));
  assert.equal(store.size, 3);
  // A client that missed more than is kept resumes from the oldest event kept.
  assert.deepEqual((await replay(store, first)).map(([, n]) => n), [8, 9, 10]);
  const bytes = new SessionEventStore({ maxBytesPerStream: 5000 });
  for (let n = 1; n <= 10; n++) await bytes.storeEvent("s", note(n, 1000));
  assert.ok(bytes.bytes <= 5000, String(bytes.bytes));
  assert.ok(bytes.size >= 3 && bytes.size < 10);
});

Deno.test("SessionEventStore bounds a whole session across many streams", async () => {
  const store = new SessionEventStore({ maxEvents: 50, maxBytes: 20_000 });
  for (let stream = 0; stream < 500; stream++) {
    for (let n = 0; n < 3; n++) await store.storeEvent(`post-${stream}`, note(n, 100));
  }
  assert.ok(store.size <= 50);
  assert.ok(store.bytes <= 20_000);
  const huge = new SessionEventStore();
  for (let n = 0; n < 200; n++) await huge.storeEvent("_GET_stream", note(n, 64 * 1024));
  assert.ok(huge.bytes <= 1024 * 1024, "a huge backlog stays within the per-stream bytes");
  huge.clear();
  assert.equal(huge.size, 0);
  assert.equal(huge.bytes, 0);
});

Deno.test("SessionEventStore() refuses limits that are not positive integers", () => {
  for (const limits of [{ maxEvents: 0 }, { maxBytes: -1 }, { maxEventsPerStream: 1.5 }]) {
    assert.throws(() => new SessionEventStore(limits), RangeError);
  }
});

Deno.test("SessionEventStore.forgetDelivered() drops an answered stream and keeps an unanswered one", async () => {
  const store = new SessionEventStore();
  const answered = await store.storeEvent("a", {} as JSONRPCMessage);
  await store.storeEvent("a", note(1));
  await store.storeEvent("a", { jsonrpc: "2.0", id: 1, result: {} } as JSONRPCMessage);
  const pending = await store.storeEvent("b", {} as JSONRPCMessage);
  await store.storeEvent("b", note(2));
  const get = await store.storeEvent("_GET_stream", note(3));
  store.forgetDelivered(answered);
  store.forgetDelivered(pending); // no answer on it yet: a client may still resume it
  store.forgetDelivered(get);
  assert.equal(store.size, 2);
  assert.equal(await store.getStreamIdForEventId(answered), undefined);
  assert.deepEqual((await replay(store, pending)).map(([, n]) => n), [2]);
  store.forgetDelivered("forged.1");
  assert.equal(store.size, 2);
});

Deno.test("watchDelivery() reports a stream read to its end, never one the client cut", async () => {
  const sse = (close: boolean) =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("id: k.1\ndata: \n\n"));
          if (close) controller.close();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  const seen: string[] = [];
  await watchDelivery(sse(true), (id) => seen.push(id)).text();
  assert.deepEqual(seen, ["k.1"]);
  const cut = watchDelivery(sse(false), (id) => seen.push(`cut ${id}`)).body!.getReader();
  await cut.read();
  await cut.cancel();
  assert.deepEqual(seen, ["k.1"]);
  const json = Response.json({});
  assert.equal(watchDelivery(json, () => seen.push("json")), json);
});

Deno.test("SessionEventStore.lostAfter() tells when events after an id were dropped", async () => {
  const store = new SessionEventStore({ maxEventsPerStream: 2 });
  const first = await store.storeEvent("s", note(1));
  const second = await store.storeEvent("s", note(2));
  assert.equal(store.lostAfter(first), false, "nothing dropped yet");
  await store.storeEvent("s", note(3)); // drops 1
  assert.equal(store.lostAfter(first), false, "what came after 1 is all kept");
  await store.storeEvent("s", note(4)); // drops 2
  assert.equal(store.lostAfter(first), true, "2 came after 1 and is gone");
  assert.equal(store.lostAfter(second), false);
  assert.equal(store.lostAfter("forged.1"), false);
});
