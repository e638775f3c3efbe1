// In-process tests of resumable event streams (protocol 2025-11-25): a GET stream cut and
// resumed with Last-Event-ID, through the real bridge and real `deno run` children.
import assert from "node:assert/strict";
import { createHttpBridge, type HttpBridgeOptions } from "./bridge.ts";
import { denoChildren, LOCAL_HOST, LOCAL_URL, waitAllExited } from "../../tests/_bridge_helpers.ts";

type Bridge = ReturnType<typeof createHttpBridge>;
type Json = Record<string, unknown>;
const LOCAL = { remoteAddr: { hostname: "127.0.0.1" } };

async function withBridge(
  options: Partial<HttpBridgeOptions>,
  body: (bridge: Bridge) => Promise<void>,
): Promise<void> {
  const children = denoChildren();
  const bridge = createHttpBridge({
    connect: children.connect,
    allowedHosts: [LOCAL_HOST],
    ...options,
  });
  try {
    await body(bridge);
  } finally {
    await bridge.close();
    await waitAllExited(children.pids);
  }
}

function send(
  bridge: Bridge,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<Response> {
  return bridge.handler(
    new Request(LOCAL_URL, {
      method,
      headers: {
        host: LOCAL_HOST,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2025-11-25",
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    LOCAL,
  );
}

/** An SSE event: its id and its message (undefined for a priming event). */
type Event = { id?: string; message?: Json };

/** Reads events (priming ones included) until `count` arrived or `ms` passed, then cuts the stream. */
async function readEvents(response: Response, count: number, ms = 3000): Promise<Event[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let buffer = "";
  const deadline = Date.now() + ms;
  try {
    while (events.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), left)),
      ]);
      clearTimeout(timer);
      if (chunk === undefined || chunk.done) break;
      buffer += chunk.value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: Event = {};
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) event.id = line.slice(4);
          if (line.startsWith("data: ") && line.length > 6) {
            event.message = JSON.parse(line.slice(6));
          }
        }
        if (event.id !== undefined || event.message !== undefined) events.push(event);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return events;
}

async function session(bridge: Bridge, headers: Record<string, string> = {}): Promise<string> {
  const init = await send(bridge, "POST", headers, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "raw", version: "1" },
    },
  });
  const id = init.headers.get("mcp-session-id");
  assert.equal(init.status, 200);
  assert.ok(id);
  await readEvents(init, 2);
  const done = await send(bridge, "POST", { ...headers, "mcp-session-id": id }, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  });
  assert.equal(done.status, 202);
  return id;
}

/**
 * Calls the fixture's `notify` tool: one tools/list_changed. In shared mode it fans out to every
 * session's GET stream (isolated mode sends it on the call's own POST stream).
 */
async function notify(bridge: Bridge, id: string, n: number, headers = {}): Promise<void> {
  const response = await send(bridge, "POST", { ...headers, "mcp-session-id": id }, {
    jsonrpc: "2.0",
    id: 100 + n,
    method: "tools/call",
    params: { name: "notify", arguments: {} },
  });
  const [answer] = (await readEvents(response, 2)).filter((e) => e.message);
  assert.ok(answer.message?.result, JSON.stringify(answer));
}

const listChanged = (events: Event[]) =>
  events.filter((e) => e.message?.method === "notifications/tools/list_changed");

Deno.test("createHttpBridge() replays what a cut GET stream missed, exactly once", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge) => {
    const id = await session(bridge);
    // Connected: one notification arrives live.
    const live = send(bridge, "GET", { "mcp-session-id": id });
    const first = readEvents(await live, 1); // a GET stream has no priming event
    await new Promise((resolve) => setTimeout(resolve, 100));
    await notify(bridge, id, 1);
    const seen = await first; // the stream is cut here
    assert.equal(listChanged(seen).length, 1);
    const cursor = seen.at(-1)!.id!;
    // Cut: three more are sent while no stream is open.
    for (let n = 2; n <= 4; n++) await notify(bridge, id, n);
    const resumed = await readEvents(
      await send(bridge, "GET", { "mcp-session-id": id, "last-event-id": cursor }),
      3,
    );
    assert.equal(listChanged(resumed).length, 3);
    assert.equal(new Set(resumed.map((e) => e.id)).size, 3, "distinct ids");
    // Resuming from the last one replays nothing again; a new one arrives live, once.
    const again = await send(bridge, "GET", {
      "mcp-session-id": id,
      "last-event-id": resumed.at(-1)!.id!,
    });
    const later = readEvents(again, 2, 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await notify(bridge, id, 5);
    assert.equal(listChanged(await later).length, 1);
  });
});

Deno.test("createHttpBridge() resumes no stream from another session's or a forged event id", async () => {
  const TOKEN = "resume-token-0123456789abcdef01234";
  const auth = { authorization: `Bearer ${TOKEN}` };
  await withBridge({ tokens: [TOKEN], sessionMode: "shared" }, async (bridge) => {
    const victim = await session(bridge, auth);
    const attacker = await session(bridge, auth);
    const stream = await send(bridge, "GET", { ...auth, "mcp-session-id": victim });
    const primed = readEvents(stream, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await notify(bridge, victim, 1, auth);
    const cursor = (await primed)[0].id!;
    await notify(bridge, victim, 2, auth); // missed by the victim: must reach only the victim
    const [key] = cursor.split(".");
    for (const forged of [cursor, `${key}.1`, `${key}.999`, "_GET_stream_1", "AAAA.1"]) {
      const response = await send(bridge, "GET", {
        ...auth,
        "mcp-session-id": attacker,
        "last-event-id": forged,
      });
      assert.equal(response.status, 400, forged);
      assert.doesNotMatch(await response.text(), /list_changed/);
    }
    // Positive control: the victim's own cursor replays in the victim's session.
    const own = await readEvents(
      await send(bridge, "GET", { ...auth, "mcp-session-id": victim, "last-event-id": cursor }),
      2,
    );
    assert.equal(listChanged(own).length, 1);
  });
});

Deno.test("createHttpBridge() refuses to resume past a backlog that overflowed", async () => {
  await withBridge(
    { sessionMode: "shared", ratePerSecond: 1000, rateBurst: 1000 },
    async (bridge) => {
      const id = await session(bridge);
      const stream = readEvents(await send(bridge, "GET", { "mcp-session-id": id }), 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await notify(bridge, id, -1);
      const cursor = (await stream)[0].id!;
      for (let n = 0; n < 130; n++) await notify(bridge, id, n);
      // At most the per-stream bound (100) is kept: resuming from before it would be a silent
      // gap, so the client is told.
      const refused = await send(bridge, "GET", { "mcp-session-id": id, "last-event-id": cursor });
      assert.equal(refused.status, 400);
      assert.match((await refused.json()).error.message, /dropped/);
      // Positive control: a new stream opens.
      const fresh = await send(bridge, "GET", { "mcp-session-id": id });
      assert.equal(fresh.status, 200);
      await fresh.body?.cancel();
    },
  );
});

Deno.test("createHttpBridge() resumes a request stream cut before its answer in isolated mode", async () => {
  await withBridge({}, async (bridge) => {
    const id = await session(bridge);
    const call = await send(bridge, "POST", { "mcp-session-id": id }, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "slow", arguments: { ms: 400 } },
    });
    const [priming] = await readEvents(call, 1); // cut before the answer
    assert.ok(priming.id);
    assert.equal(priming.message, undefined);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const resumed = await readEvents(
      await send(bridge, "GET", { "mcp-session-id": id, "last-event-id": priming.id }),
      1,
      1500,
    );
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0].message?.id, 7);
    assert.deepEqual((resumed[0].message?.result as Json).content, [{
      type: "text",
      text: "slept 400",
    }]);
  });
});

Deno.test("createHttpBridge() keeps no answer that reached its client", async () => {
  await withBridge({}, async (bridge) => {
    const id = await session(bridge);
    const call = await send(bridge, "POST", { "mcp-session-id": id }, {
      jsonrpc: "2.0",
      id: 8,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "delivered" } },
    });
    const events = await readEvents(call, 5, 1500); // read to the end
    const answered = events.find((event) => event.message?.id === 8);
    assert.ok(answered, JSON.stringify(events));
    // Nothing of that stream is kept: resuming it replays no answer.
    const resumed = await send(bridge, "GET", {
      "mcp-session-id": id,
      "last-event-id": events[0].id!,
    });
    const replayed = resumed.status === 200 ? await readEvents(resumed, 1, 500) : [];
    if (resumed.status !== 200) await resumed.body?.cancel();
    assert.deepEqual(replayed, []);
  });
});
