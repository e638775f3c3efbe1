// In-process tests of the HTTP bridge handler: no sockets, real `deno run` children over stdio,
// the real MCP SDK client.
import assert from "node:assert/strict";

import {
  LoggingMessageNotificationSchema,
  type McpError,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, createHttpBridge, type HttpBridgeOptions } from "./bridge.ts";
import {
  callText,
  type Children,
  connectClient,
  denoChildren,
  type DenoChildrenOptions,
  inProcessFetch,
  isAlive,
  LOCAL_HOST,
  LOCAL_URL,
  waitAllExited,
} from "../../tests/_bridge_helpers.ts";

type Bridge = ReturnType<typeof createHttpBridge>;
type Json = Record<string, unknown>;

async function withBridge(
  options: Partial<HttpBridgeOptions> & { children?: DenoChildrenOptions },
  body: (bridge: Bridge, children: Children) => Promise<void>,
): Promise<void> {
  const children = denoChildren(options.children);
  const bridge = createHttpBridge({
    connect: children.connect,
    allowedHosts: [LOCAL_HOST],
    ...options,
  });
  try {
    await body(bridge, children);
  } finally {
    await bridge.close();
    await waitAllExited(children.pids);
  }
}

const LOCAL = { remoteAddr: { hostname: "127.0.0.1" } };
const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: { sampling: {} },
    clientInfo: { name: "raw", version: "1" },
  },
};

function request(
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Request {
  return new Request(LOCAL_URL, {
    method,
    headers: {
      host: LOCAL_HOST,
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
}

function post(
  bridge: Bridge,
  body: unknown,
  headers: Record<string, string> = {},
  info = LOCAL,
): Promise<Response> {
  return bridge.handler(request("POST", body, headers), info);
}

async function sseMessages(response: Response): Promise<Json[]> {
  if (response.headers.get("content-type")?.includes("application/json")) {
    const body = await response.json();
    return Array.isArray(body) ? body : [body];
  }
  const text = await response.text();
  // Priming events (an id and empty data, 2025-11-25) carry no message.
  return text.split("\n").filter((line) => line.startsWith("data: ") && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)));
}

async function rawSession(
  bridge: Bridge,
  headers: Record<string, string> = {},
  info = LOCAL,
): Promise<string> {
  const response = await post(bridge, INIT, headers, info);
  assert.equal(response.status, 200, await response.clone().text());
  const sessionId = response.headers.get("mcp-session-id");
  assert.ok(sessionId);
  const [answer] = await sseMessages(response);
  assert.ok(answer.result, JSON.stringify(answer));
  const initialized = await post(bridge, { jsonrpc: "2.0", method: "notifications/initialized" }, {
    ...headers,
    "mcp-session-id": sessionId,
  }, info);
  assert.equal(initialized.status, 202);
  return sessionId;
}

function toolCall(id: number | string, name: string, args: Json = {}, meta?: Json): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) },
  };
}

function resultText(message: Json | undefined): string {
  const result = message?.result as { content: { text: string }[] } | undefined;
  assert.ok(result, `expected a result, got ${JSON.stringify(message)}`);
  return result.content[0].text;
}

// ---------------------------------------------------------------------------------------------
// Pass-through

Deno.test("createHttpBridge() passes requests, server requests and notifications both ways", async () => {
  await withBridge({}, async (bridge) => {
    const { client } = await connectClient({ fetch: inProcessFetch(bridge), sampleText: "hello" });
    const logs: unknown[] = [];
    const listChanged: unknown[] = [];
    client.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (n: unknown) => void logs.push(n),
    );
    client.setNotificationHandler(
      ToolListChangedNotificationSchema,
      (n: unknown) => void listChanged.push(n),
    );
    try {
      assert.equal(await callText(client, "echo", { text: "ping" }), "ping");
      assert.equal(await callText(client, "sample", { prompt: "p" }), "sampled: hello");
      assert.equal(await callText(client, "roots"), '[{"uri":"file:///tmp/root-a","name":"a"}]');
      const progress: unknown[] = [];
      await callText(client, "progress", {}, { onprogress: (p: unknown) => void progress.push(p) });
      assert.equal(progress.length, 3);
      assert.equal(await callText(client, "log", { data: "line-1" }), "logged");
      assert.deepEqual((logs[0] as { params: Json }).params.data, "line-1");
      await callText(client, "notify");
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(listChanged.length, 1);
      await assert.rejects(
        () => client.callTool({ name: "no-such-tool" }),
        (error: McpError) => /unknown tool no-such-tool/.test(error.message),
      );
      await assert.rejects(
        () => client.request({ method: "prompts/list" }, {} as never),
        (error: McpError) => error.code === -32601,
      );
    } finally {
      await client.close();
    }
  });
});

Deno.test("createHttpBridge() gives each session its own process in isolated mode", async () => {
  await withBridge({}, async (bridge, children) => {
    const fetch = inProcessFetch(bridge);
    const a = await connectClient({ fetch });
    const b = await connectClient({ fetch });
    try {
      assert.equal(await callText(a.client, "count"), "1");
      assert.equal(await callText(a.client, "count"), "2");
      assert.equal(await callText(b.client, "count"), "1", "b does not see a's state");
      assert.notEqual(await callText(a.client, "pid"), await callText(b.client, "pid"));
      assert.equal(children.pids.length, 2);
      assert.equal(bridge.stats().servers, 2);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

Deno.test("createHttpBridge() shares one process in shared mode (positive control)", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge, children) => {
    const fetch = inProcessFetch(bridge);
    const a = await connectClient({ fetch });
    const b = await connectClient({ fetch });
    try {
      assert.equal(await callText(a.client, "count"), "1");
      assert.equal(await callText(b.client, "count"), "2");
      assert.equal(await callText(a.client, "pid"), await callText(b.client, "pid"));
      assert.equal(children.pids.length, 1);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

Deno.test("createHttpBridge() in shared mode maps equal request ids and progress tokens apart", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge) => {
    const a = await rawSession(bridge);
    const b = await rawSession(bridge);
    // Both sessions use id 1 and progress token "t" at the same time.
    const [fromA, fromB] = await Promise.all([
      post(bridge, toolCall(1, "slow", { ms: 400 }), { "mcp-session-id": a }).then(sseMessages),
      post(bridge, toolCall(1, "slow", { ms: 100 }), { "mcp-session-id": b }).then(sseMessages),
    ]);
    assert.equal(resultText(fromA.at(-1)), "slept 400");
    assert.equal(fromA.at(-1)!.id, 1);
    assert.equal(resultText(fromB.at(-1)), "slept 100");
    assert.equal(fromB.at(-1)!.id, 1);

    const [progressA, progressB] = await Promise.all([
      post(bridge, toolCall(2, "progress", { stepMs: 30 }, { progressToken: "t" }), {
        "mcp-session-id": a,
      }).then(sseMessages),
      post(bridge, toolCall(2, "progress", { stepMs: 30 }, { progressToken: "t" }), {
        "mcp-session-id": b,
      }).then(sseMessages),
    ]);
    for (const messages of [progressA, progressB]) {
      const notes = messages.filter((m) => m.method === "notifications/progress");
      assert.equal(notes.length, 3, JSON.stringify(messages));
      for (const note of notes) assert.equal((note.params as Json).progressToken, "t");
      assert.equal(messages.at(-1)!.id, 2);
    }
  });
});

Deno.test("createHttpBridge() in shared mode routes a server request only when it is unambiguous", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge) => {
    const fetch = inProcessFetch(bridge);
    const a = await connectClient({ fetch, sampleText: "from-a" });
    const b = await connectClient({ fetch, sampleText: "from-b" });
    try {
      // Positive control: only a is waiting, so the sampling request belongs to a.
      assert.equal(await callText(a.client, "sample", { prompt: "x" }), "sampled: from-a");
      assert.equal(await callText(b.client, "sample", { prompt: "x" }), "sampled: from-b");
      // b has a request in flight too: the server's request could be about either; refuse.
      const busy = callText(b.client, "slow", { ms: 600 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const sampled = await callText(a.client, "sample", { prompt: "x" });
      assert.match(sampled, /^sampling failed: .*no single client session/);
      assert.equal(await busy, "slept 600");
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

Deno.test("createHttpBridge() in shared mode sends list_changed to all, resource updates to subscribers", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge) => {
    const fetch = inProcessFetch(bridge);
    const a = await connectClient({ fetch });
    const b = await connectClient({ fetch });
    const seen = { a: [] as string[], b: [] as string[] };
    for (const [name, { client }] of [["a", a], ["b", b]] as const) {
      client.setNotificationHandler(
        ToolListChangedNotificationSchema,
        () => void seen[name].push("tools"),
      );
      client.setNotificationHandler(
        ResourceUpdatedNotificationSchema,
        (n: { params: { uri: string } }) => void seen[name].push(`updated ${n.params.uri}`),
      );
    }
    try {
      await a.client.subscribeResource({ uri: "test://a" });
      await callText(b.client, "notify");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(seen.a.sort(), ["tools", "updated test://a"]);
      assert.deepEqual(seen.b, ["tools"]);
    } finally {
      await a.client.close();
      await b.client.close();
    }
  });
});

Deno.test("createHttpBridge() forwards cancellation with the server-side id", async () => {
  for (const sessionMode of ["isolated", "shared"] as const) {
    await withBridge({ sessionMode }, async (bridge) => {
      const { client } = await connectClient({ fetch: inProcessFetch(bridge) });
      try {
        const controller = new AbortController();
        const started = Date.now();
        const call = callText(client, "slow", { ms: 5000 }, { signal: controller.signal });
        setTimeout(() => controller.abort("changed my mind"), 200);
        await assert.rejects(call);
        assert.ok(Date.now() - started < 3000);
        const cancelled = JSON.parse(await callText(client, "cancelled")) as unknown[];
        assert.equal(cancelled.length, 1, sessionMode);
        if (sessionMode === "isolated") assert.equal(typeof cancelled[0], typeof 1);
        assert.equal(await callText(client, "echo", { text: "still here" }), "still here");
      } finally {
        await client.close();
      }
    });
  }
});

Deno.test("createHttpBridge() answers a cancelled request so its stream ends", async () => {
  await withBridge({}, async (bridge) => {
    const session = await rawSession(bridge);
    const pending = post(bridge, toolCall(5, "slow", { ms: 5000 }), { "mcp-session-id": session });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const cancel = await post(bridge, {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 5 },
    }, { "mcp-session-id": session });
    assert.equal(cancel.status, 202);
    const messages = await sseMessages(await pending);
    assert.equal((messages.at(-1)!.error as Json).code, BridgeErrorCode.RequestCancelled);
  });
});

Deno.test("createHttpBridge() with jsonResponse answers in JSON and sends server messages on the GET stream", async () => {
  await withBridge({ jsonResponse: true }, async (bridge) => {
    const { client } = await connectClient({ fetch: inProcessFetch(bridge), sampleText: "json" });
    const logs: unknown[] = [];
    client.setNotificationHandler(
      LoggingMessageNotificationSchema,
      (n: unknown) => void logs.push(n),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100)); // the client opens its GET stream
      assert.equal(await callText(client, "echo", { text: "plain" }), "plain");
      assert.equal(await callText(client, "sample", { prompt: "p" }), "sampled: json");
      await callText(client, "log", { data: "via GET" });
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((logs[0] as { params: Json }).params.data, "via GET");
    } finally {
      await client.close();
    }
    // Without a GET stream a server request fails at once instead of hanging.
    const session = await rawSession(bridge);
    const response = await post(bridge, toolCall(1, "sample", { prompt: "p" }), {
      "mcp-session-id": session,
    });
    assert.match(response.headers.get("content-type")!, /application\/json/);
    const answer = await response.json() as Json;
    assert.match(
      resultText(answer),
      /^sampling failed: .*cannot be reached/,
      JSON.stringify(answer),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Faults

Deno.test("createHttpBridge() turns a crashing server into a JSON-RPC error and ends the session", async () => {
  await withBridge({}, async (bridge, children) => {
    const session = await rawSession(bridge);
    const started = Date.now();
    const messages = await sseMessages(
      await post(bridge, toolCall(1, "crash"), { "mcp-session-id": session }),
    );
    assert.ok(Date.now() - started < 5000);
    const error = messages.at(-1)!.error as Json;
    assert.equal(error.code, BridgeErrorCode.ServerUnavailable);
    assert.match(String(error.message), /exited/);
    await waitAllExited(children.pids);
    const after = await post(bridge, toolCall(2, "echo", { text: "x" }), {
      "mcp-session-id": session,
    });
    assert.equal(after.status, 404);
    assert.equal(bridge.stats().sessions, 0);
  });
});

Deno.test("createHttpBridge() times out a hanging request and cancels it on the server", async () => {
  await withBridge({ requestTimeoutMs: 300 }, async (bridge) => {
    const { client } = await connectClient({ fetch: inProcessFetch(bridge) });
    try {
      const started = Date.now();
      await assert.rejects(
        () => callText(client, "hang"),
        (error: McpError) => error.code === BridgeErrorCode.RequestTimeout,
      );
      assert.ok(Date.now() - started < 2000);
      assert.equal(await callText(client, "echo", { text: "alive" }), "alive");
      assert.equal((JSON.parse(await callText(client, "cancelled")) as unknown[]).length, 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("createHttpBridge() reports a server that cannot start", async () => {
  await withBridge({ children: { fail: true } }, async (bridge) => {
    const response = await post(bridge, INIT);
    const [answer] = await sseMessages(response);
    assert.equal((answer.error as Json).code, BridgeErrorCode.ServerUnavailable);
    assert.match(String((answer.error as Json).message), /Cannot start the MCP server/);
    assert.equal(bridge.stats().sessions, 0);
  });
});

Deno.test("createHttpBridge() queues messages while a slow server starts", async () => {
  await withBridge({ children: { startDelayMs: 300 } }, async (bridge) => {
    const { client } = await connectClient({ fetch: inProcessFetch(bridge) });
    try {
      assert.equal(await callText(client, "echo", { text: "late" }), "late");
    } finally {
      await client.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Lifecycle

Deno.test("HttpBridge.close() answers requests in flight and ends every process", async () => {
  const children = denoChildren();
  const bridge = createHttpBridge({ connect: children.connect, allowedHosts: [LOCAL_HOST] });
  const sessions = await Promise.all([rawSession(bridge), rawSession(bridge), rawSession(bridge)]);
  assert.equal(children.pids.length, 3);
  assert.ok(children.pids.every(isAlive));
  const inflight = post(bridge, toolCall(9, "slow", { ms: 10_000 }), {
    "mcp-session-id": sessions[0],
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await bridge.close();
  const messages = await sseMessages(await inflight);
  assert.equal((messages.at(-1)!.error as Json).code, BridgeErrorCode.ServerUnavailable);
  assert.ok(children.pids.every((pid) => !isAlive(pid)), "close() waits for every child");
  assert.equal(bridge.stats().servers, 0);
  assert.equal((await post(bridge, INIT)).status, 503);
});

Deno.test("createHttpBridge() closes idle sessions and ends their processes", async () => {
  await withBridge({ idleTimeoutMs: 200 }, async (bridge, children) => {
    const session = await rawSession(bridge);
    assert.equal(bridge.stats().sessions, 1);
    await waitAllExited(children.pids, 3000);
    assert.equal(bridge.stats().sessions, 0);
    const after = await post(bridge, toolCall(1, "echo", { text: "x" }), {
      "mcp-session-id": session,
    });
    assert.equal(after.status, 404);
  });
});

Deno.test("createHttpBridge() keeps a session with a request in flight past the idle timeout", async () => {
  await withBridge({ idleTimeoutMs: 100 }, async (bridge) => {
    const session = await rawSession(bridge);
    const messages = await sseMessages(
      await post(bridge, toolCall(1, "slow", { ms: 500 }), { "mcp-session-id": session }),
    );
    assert.equal(resultText(messages.at(-1)), "slept 500");
  });
});

Deno.test("createHttpBridge() ends the session and its process on DELETE", async () => {
  await withBridge({}, async (bridge, children) => {
    const session = await rawSession(bridge);
    const response = await bridge.handler(
      request("DELETE", undefined, { "mcp-session-id": session }),
      LOCAL,
    );
    assert.equal(response.status, 200);
    await waitAllExited(children.pids, 4000);
    assert.equal(bridge.stats().sessions, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Guards

Deno.test("createHttpBridge() rejects bad Host and Origin with 403 and spawns nothing", async () => {
  await withBridge({ allowedOrigins: ["https://app.example.com"] }, async (bridge, children) => {
    const cases: [Record<string, string>, number][] = [
      [{ host: "evil.example.com" }, 403],
      [{ host: "evil.example.com:8808" }, 403],
      [{ host: "127.0.0.1:9999" }, 403],
      [{ origin: "https://evil.example.com" }, 403],
      [{ origin: "null" }, 403],
      [{ origin: "http://127.0.0.1:8808.evil.example" }, 403],
    ];
    for (const [headers, status] of cases) {
      const response = await post(bridge, INIT, headers);
      assert.equal(response.status, status, JSON.stringify(headers));
      assert.equal(response.headers.get("access-control-allow-origin"), null);
      await response.body?.cancel();
    }
    assert.equal(children.starts, 0);
    // Positive controls: an allowed origin and the bridge's own origin.
    for (const origin of ["https://app.example.com", `http://${LOCAL_HOST}`]) {
      const response = await post(bridge, INIT, { origin });
      assert.equal(response.status, 200, origin);
      assert.equal(response.headers.get("access-control-allow-origin"), origin);
      await response.body?.cancel();
    }
  });
});

Deno.test("createHttpBridge() answers CORS preflights for allowed origins only", async () => {
  await withBridge({ allowedOrigins: ["https://app.example.com"] }, async (bridge) => {
    const allowed = await bridge.handler(
      request("OPTIONS", undefined, { origin: "https://app.example.com" }),
      LOCAL,
    );
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(allowed.headers.get("access-control-allow-headers")!, /Mcp-Session-Id/);
    const refused = await bridge.handler(
      request("OPTIONS", undefined, { origin: "https://evil.example.com" }),
      LOCAL,
    );
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
    await refused.body?.cancel();
  });
});

const TOKEN_A = "token-a-0123456789abcdef";
const TOKEN_B = "token-b-0123456789abcdef";

Deno.test("createHttpBridge() requires a valid bearer token when tokens are set", async () => {
  await withBridge({ tokens: [TOKEN_A, TOKEN_B] }, async (bridge, children) => {
    for (const authorization of [undefined, "Bearer wrong-token-0123456789", `Basic ${TOKEN_A}`]) {
      const response = await post(bridge, INIT, authorization ? { authorization } : {});
      assert.equal(response.status, 401, String(authorization));
      assert.match(response.headers.get("www-authenticate")!, /^Bearer/);
      await response.body?.cancel();
    }
    assert.equal(children.starts, 0);
    await rawSession(bridge, { authorization: `Bearer ${TOKEN_A}` }); // positive control
    assert.equal(children.starts, 1);
  });
});

Deno.test("createHttpBridge() binds a session to the token that created it", async () => {
  await withBridge({ tokens: [TOKEN_A, TOKEN_B] }, async (bridge) => {
    const session = await rawSession(bridge, { authorization: `Bearer ${TOKEN_A}` });
    const hijack = await post(bridge, toolCall(1, "echo", { text: "x" }), {
      authorization: `Bearer ${TOKEN_B}`,
      "mcp-session-id": session,
    });
    assert.equal(hijack.status, 404);
    await hijack.body?.cancel();
    const guessed = await post(bridge, toolCall(1, "echo", { text: "x" }), {
      authorization: `Bearer ${TOKEN_A}`,
      "mcp-session-id": session.slice(0, -2) + "AA",
    });
    assert.equal(guessed.status, 404);
    await guessed.body?.cancel();
    const owner = await post(bridge, toolCall(1, "echo", { text: "mine" }), {
      authorization: `Bearer ${TOKEN_A}`,
      "mcp-session-id": session,
    });
    assert.equal(resultText((await sseMessages(owner)).at(-1)), "mine");
    assert.match(session, /^[A-Za-z0-9_-]{43}$/, "256 random bits");
  });
});

Deno.test("createHttpBridge() never passes the Authorization header or any header to the server", async () => {
  const canaryEnv = "env-canary-5b1e";
  await withBridge({
    tokens: [TOKEN_A],
    children: { flags: ["--allow-env"], env: { CANARY_ENV: canaryEnv } },
  }, async (bridge) => {
    const { client } = await connectClient({
      fetch: inProcessFetch(bridge),
      token: TOKEN_A,
      headers: { "X-Canary": "header-canary-77f2", "Cookie": "cookie-canary-91aa" },
    });
    try {
      const seen = await callText(client, "observe", { arg: "arg-canary-c3d4" });
      // Positive controls: the fixture reports its arguments and its environment.
      assert.match(seen, /arg-canary-c3d4/);
      assert.match(seen, new RegExp(canaryEnv));
      // Nothing of the HTTP layer reached the process.
      assert.doesNotMatch(seen, new RegExp(TOKEN_A));
      assert.doesNotMatch(seen, /header-canary-77f2/);
      assert.doesNotMatch(seen, /cookie-canary-91aa/);
      assert.doesNotMatch(seen, /X_CANARY|X-CANARY|x-canary/i);
    } finally {
      await client.close();
    }
  });
});

Deno.test("createHttpBridge() rejects oversized, malformed and sessionless bodies", async () => {
  await withBridge({ maxBodyBytes: 1024 }, async (bridge, children) => {
    const big = JSON.stringify({ ...INIT, params: { ...INIT.params, pad: "x".repeat(2000) } });
    assert.equal((await post(bridge, big)).status, 413);
    // Without Content-Length (a stream): still cut at the limit.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await bridge.handler(
      new Request(LOCAL_URL, {
        method: "POST",
        headers: request("POST").headers,
        body: stream,
      }),
      LOCAL,
    );
    assert.equal(streamed.status, 413);
    const cases: [unknown, number][] = [
      ["{not json", 400],
      ["", 400],
      [toolCall(1, "echo"), 400], // no session, not an initialize
      [[INIT, INIT], 400],
      [{ jsonrpc: "2.0", method: "initialize" }, 400], // a notification, not a request
    ];
    for (const [body, status] of cases) {
      const response = await post(bridge, body);
      assert.equal(response.status, status, JSON.stringify(body));
      await response.body?.cancel();
    }
    assert.equal(children.starts, 0);
    const session = await rawSession(bridge);
    const batch = Array.from({ length: 101 }, (_, i) => toolCall(i + 1, "echo", { text: "x" }));
    const tooMany = await post(bridge, JSON.stringify(batch).slice(0, 1000), {
      "mcp-session-id": session,
    });
    assert.equal(tooMany.status, 400);
    await tooMany.body?.cancel();
    const invalid = await post(bridge, { jsonrpc: "1.0", id: 1, method: 5 }, {
      "mcp-session-id": session,
    });
    assert.equal(invalid.status, 400);
    await invalid.body?.cancel();
  });
});

Deno.test("createHttpBridge() limits each client's request rate and concurrency with 429", async () => {
  await withBridge({ ratePerSecond: 1, rateBurst: 3 }, async (bridge) => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await bridge.handler(request("GET", undefined), LOCAL);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
    const other = await bridge.handler(request("GET"), { remoteAddr: { hostname: "127.0.0.2" } });
    assert.equal(other.status, 400, "another client has its own budget");
    await other.body?.cancel();
  });
  await withBridge({ maxConcurrentPerClient: 2 }, async (bridge) => {
    const session = await rawSession(bridge);
    const slow = [1, 2].map((id) =>
      post(bridge, toolCall(id, "slow", { ms: 400 }), { "mcp-session-id": session })
    );
    const responses = await Promise.all(slow);
    const third = await post(bridge, toolCall(3, "echo", { text: "x" }), {
      "mcp-session-id": session,
    });
    assert.equal(third.status, 429);
    await third.body?.cancel();
    for (const response of responses) await sseMessages(response);
    const fourth = await post(bridge, toolCall(4, "echo", { text: "x" }), {
      "mcp-session-id": session,
    });
    assert.equal(resultText((await sseMessages(fourth)).at(-1)), "x", "slots are released");
  });
});

Deno.test("createHttpBridge() limits sessions per client and in total", async () => {
  await withBridge({ maxSessionsPerClient: 2, maxSessions: 3 }, async (bridge, children) => {
    const first = await rawSession(bridge);
    await rawSession(bridge);
    // A third session for the same client replaces its least recently used idle one.
    await rawSession(bridge);
    assert.equal(bridge.stats().sessions, 2);
    const evicted = await post(bridge, toolCall(1, "echo", { text: "x" }), {
      "mcp-session-id": first,
    });
    assert.equal(evicted.status, 404);
    await evicted.body?.cancel();
    // Another client fills the total.
    const other = { remoteAddr: { hostname: "127.0.0.9" } };
    await rawSession(bridge, {}, other);
    const full = await post(bridge, INIT, {}, { remoteAddr: { hostname: "127.0.0.10" } });
    assert.equal(full.status, 503);
    await full.body?.cancel();
    assert.equal(bridge.stats().sessions, 3);
    await waitAllExited(children.pids.slice(0, 1));
  });
  await withBridge({ maxSessionsPerClient: 1 }, async (bridge) => {
    const busy = await rawSession(bridge);
    const call = post(bridge, toolCall(1, "slow", { ms: 500 }), { "mcp-session-id": busy });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await post(bridge, INIT);
    assert.equal(refused.status, 429, "a session with a request in flight is not evicted");
    await refused.body?.cancel();
    assert.equal(resultText((await sseMessages(await call)).at(-1)), "slept 500");
  });
});

Deno.test("createHttpBridge() answers /healthz without credentials", async () => {
  await withBridge({ tokens: [TOKEN_A] }, async (bridge, children) => {
    const response = await bridge.handler(new Request("http://127.0.0.1:8808/healthz"), LOCAL);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ok" });
    const other = await bridge.handler(
      new Request(`${LOCAL_URL.replace(/\/mcp$/, "")}/other`, { headers: { host: LOCAL_HOST } }),
      LOCAL,
    );
    assert.equal(other.status, 404);
    await other.body?.cancel();
    assert.equal(children.starts, 0);
  });
});

Deno.test("createHttpBridge() asks its authorizer and binds sessions to the principal", async () => {
  const authorizer = {
    route: (request: Request) =>
      Promise.resolve(
        new URL(request.url).pathname === "/.well-known/oauth-protected-resource/mcp"
          ? Response.json({ resource: LOCAL_URL })
          : null,
      ),
    check: (request: Request) => {
      // Two tokens of one sign-in (a refresh) share a principal; another sign-in does not.
      const token = request.headers.get("authorization") ?? "";
      const principal =
        { "Bearer alice-1": "alice", "Bearer alice-2": "alice", "Bearer bob": "bob" }[
          token
        ];
      return Promise.resolve(principal ?? new Response(null, { status: 401 }));
    },
  };
  await withBridge({ authorizer }, async (bridge, children) => {
    const metadata = await bridge.handler(
      new Request(LOCAL_URL.replace(/\/mcp$/, "/.well-known/oauth-protected-resource/mcp"), {
        headers: { host: LOCAL_HOST },
      }),
      LOCAL,
    );
    assert.deepEqual(await metadata.json(), { resource: LOCAL_URL });
    const refused = await post(bridge, INIT, { authorization: "Bearer mallory" });
    assert.equal(refused.status, 401);
    assert.equal(children.starts, 0, "neither a route nor a refusal starts a server");
    const session = await rawSession(bridge, { authorization: "Bearer alice-1" });
    const hijack = await post(bridge, toolCall(1, "echo", { text: "x" }), {
      authorization: "Bearer bob",
      "mcp-session-id": session,
    });
    assert.equal(hijack.status, 404, "another principal cannot use the session");
    await hijack.body?.cancel();
    const refreshed = await post(bridge, toolCall(2, "echo", { text: "still mine" }), {
      authorization: "Bearer alice-2",
      "mcp-session-id": session,
    });
    assert.equal(resultText((await sseMessages(refreshed)).at(-1)), "still mine");
  });
  assert.throws(
    () =>
      createHttpBridge({
        connect: () => Promise.reject(new Error("unused")),
        allowedHosts: [LOCAL_HOST],
        authorizer,
        tokens: [TOKEN_A],
      }),
    /both "authorizer" and "tokens"/,
  );
});
