// In-process tests of the two protocol generations on one endpoint: 2026-07-28 clients served
// statelessly (the v2 SDK client), 2025-11-25 clients with sessions (the v1 SDK client), real
// `deno run` children.
import assert from "node:assert/strict";
import { createHttpBridge, type HttpBridgeOptions } from "./bridge.ts";
import { MetaKey, ModernErrorCode, SUPPORTED_VERSIONS } from "./_protocol_era.ts";
import {
  callText,
  type Children,
  connectClient,
  denoChildren,
  inProcessFetch,
  isAlive,
  LOCAL_HOST,
  LOCAL_URL,
  waitAllExited,
} from "../../tests/_bridge_helpers.ts";
import { connectModernClient, modernCallText } from "../../tests/_modern_client.ts";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  ListToolsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

type Bridge = ReturnType<typeof createHttpBridge>;
type Json = Record<string, unknown>;
const LOCAL = { remoteAddr: { hostname: "127.0.0.1" } };
const MODERN = "2026-07-28";
const TOKEN_A = "stateless-token-a-0123456789abcdef0";
const TOKEN_B = "stateless-token-b-0123456789abcdef0";
const AUTH_A = { authorization: `Bearer ${TOKEN_A}` };
const AUTH_B = { authorization: `Bearer ${TOKEN_B}` };

async function withBridge(
  options: Partial<HttpBridgeOptions>,
  body: (bridge: Bridge, children: Children) => Promise<void>,
): Promise<void> {
  const children = denoChildren();
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

/** A modern POST with the mirrored headers a conforming client sends. */
function modernPost(
  bridge: Bridge,
  method: string,
  params: Json = {},
  headers: Record<string, string> = {},
): Promise<Response> {
  const name = params.name ?? params.uri;
  return bridge.handler(
    new Request(LOCAL_URL, {
      method: "POST",
      headers: {
        host: LOCAL_HOST,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
        ...(typeof name === "string" ? { "mcp-name": name } : {}),
        ...headers,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method,
        params: { ...params, _meta: { [MetaKey.protocolVersion]: MODERN } },
      }),
    }),
    LOCAL,
  );
}

Deno.test("createHttpBridge() serves a 2026-07-28 client statelessly and a 2025-11-25 client with a session", async () => {
  await withBridge({}, async (bridge) => {
    const modern = await connectModernClient({ fetch: inProcessFetch(bridge) });
    const legacy = await connectClient({ fetch: inProcessFetch(bridge) });
    const probing = await connectModernClient({
      fetch: inProcessFetch(bridge),
      negotiation: "auto",
    });
    try {
      assert.equal(modern.getNegotiatedProtocolVersion(), MODERN);
      assert.equal(probing.getNegotiatedProtocolVersion(), MODERN);
      assert.equal(await modernCallText(modern, "echo", { text: "stateless" }), "stateless");
      assert.equal(await modernCallText(probing, "echo", { text: "probed" }), "probed");
      assert.equal(await callText(legacy.client, "echo", { text: "session" }), "session");
      const tools = await modern.listTools();
      assert.ok(tools.tools.some((tool) => tool.name === "echo"));
      assert.equal(modern.getServerVersion()?.name, "bridge-fixture");
      // Only the legacy client holds a session; the modern ones hold none.
      assert.equal(bridge.stats().sessions, 1);
    } finally {
      await modern.close();
      await probing.close();
      await legacy.client.close();
    }
  });
});

Deno.test("createHttpBridge() keeps one server per principal for stateless requests", async () => {
  await withBridge({ tokens: [TOKEN_A, TOKEN_B] }, async (bridge, children) => {
    const a1 = await connectModernClient({ fetch: inProcessFetch(bridge), token: TOKEN_A });
    const a2 = await connectModernClient({ fetch: inProcessFetch(bridge), token: TOKEN_A });
    const b = await connectModernClient({ fetch: inProcessFetch(bridge), token: TOKEN_B });
    try {
      const pidA = await modernCallText(a1, "pid");
      assert.equal(await modernCallText(a2, "pid"), pidA, "one principal, one process");
      const pidB = await modernCallText(b, "pid");
      assert.notEqual(pidB, pidA, "principals never share a process");
      // State a server keeps stays with its principal: A's counter is not B's.
      await modernCallText(a1, "count");
      await modernCallText(a1, "count");
      assert.equal(await modernCallText(b, "count"), "1");
      assert.equal(await modernCallText(a2, "count"), "3");
      assert.equal(children.pids.length, 2);
      assert.equal(bridge.stats().sessions, 0);
      assert.equal(bridge.stats().servers, 2);
    } finally {
      await Promise.all([a1.close(), a2.close(), b.close()]);
    }
    // Without a token: 401, as for any request.
    const anonymous = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} });
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
  });
});

Deno.test("createHttpBridge() ends a principal's stateless server when it is idle", async () => {
  await withBridge({ idleTimeoutMs: 200, tokens: [TOKEN_A] }, async (bridge, children) => {
    const response = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} }, AUTH_A);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.result.resultType, "complete");
    const pid = Number(body.result.content[0].text);
    assert.ok(isAlive(pid));
    await waitAllExited(children.pids, 3000);
    for (let i = 0; i < 50 && bridge.stats().servers > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(bridge.stats().servers, 0);
    // The next request starts a new one.
    const again =
      await (await modernPost(bridge, "tools/call", { name: "pid", arguments: {} }, AUTH_A))
        .json();
    assert.notEqual(Number(again.result.content[0].text), pid);
  });
});

Deno.test("createHttpBridge() answers server/discover and refuses what 2026-07-28 removed", async () => {
  await withBridge({}, async (bridge) => {
    const discover = await (await modernPost(bridge, "server/discover")).json();
    assert.deepEqual(discover.result.supportedVersions, SUPPORTED_VERSIONS);
    assert.ok(discover.result.capabilities.tools);
    assert.equal(discover.result._meta[MetaKey.serverInfo].name, "bridge-fixture");
    assert.equal(discover.result.resultType, "complete");
    for (const method of ["GET", "DELETE"]) {
      const response = await bridge.handler(
        new Request(LOCAL_URL, {
          method,
          headers: {
            host: LOCAL_HOST,
            accept: "text/event-stream",
            "mcp-protocol-version": MODERN,
          },
        }),
        LOCAL,
      );
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("allow"), "POST");
      await response.body?.cancel();
    }
    const listen = await modernPost(bridge, "subscriptions/listen", { notifications: [] });
    assert.equal(listen.status, 400);
    assert.equal((await listen.json()).error.code, -32602);
    const init = await modernPost(bridge, "initialize", { protocolVersion: MODERN });
    assert.equal(init.status, 400);
    assert.match((await init.json()).error.message, /not part of protocol 2026-07-28/);
    // A server request (sampling) cannot reach a stateless client: the tool hears an error.
    const sampled = await (await modernPost(bridge, "tools/call", {
      name: "sample",
      arguments: { prompt: "hi" },
    })).json();
    assert.match(sampled.result.content[0].text, /sampling failed: .*not available/);
    assert.equal(bridge.stats().sessions, 0);
  });
});

Deno.test("createHttpBridge() refuses unknown versions and mismatched headers with the spec's errors", async () => {
  await withBridge({}, async (bridge, children) => {
    const unknown = await modernPost(bridge, "tools/call", { name: "echo", arguments: {} }, {
      "mcp-protocol-version": "1900-01-01",
    });
    assert.equal(unknown.status, 400);
    const error = (await unknown.json()).error;
    assert.equal(error.code, ModernErrorCode.UnsupportedProtocolVersion);
    assert.deepEqual(error.data, { supported: SUPPORTED_VERSIONS, requested: "1900-01-01" });
    // Routed on one tool, the body names another: refused before any process starts.
    const mismatch = await modernPost(bridge, "tools/call", { name: "crash", arguments: {} }, {
      "mcp-name": "echo",
    });
    assert.equal(mismatch.status, 400);
    assert.equal((await mismatch.json()).error.code, ModernErrorCode.HeaderMismatch);
    assert.equal(children.starts, 0);
    // A notification is accepted and goes nowhere.
    const note = await bridge.handler(
      new Request(LOCAL_URL, {
        method: "POST",
        headers: {
          host: LOCAL_HOST,
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
          "mcp-protocol-version": MODERN,
          "mcp-method": "notifications/cancelled",
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId: 1, _meta: { [MetaKey.protocolVersion]: MODERN } },
        }),
      }),
      LOCAL,
    );
    assert.equal(note.status, 202);
    assert.equal(children.starts, 0);
  });
});

Deno.test("createHttpBridge() serves stateless requests from the shared process in shared mode", async () => {
  await withBridge({ sessionMode: "shared" }, async (bridge, children) => {
    const legacy = await connectClient({ fetch: inProcessFetch(bridge) });
    const modern = await connectModernClient({ fetch: inProcessFetch(bridge) });
    try {
      assert.equal(await modernCallText(modern, "pid"), await callText(legacy.client, "pid"));
      assert.equal(children.pids.length, 1);
    } finally {
      await modern.close();
      await legacy.client.close();
    }
  });
});

Deno.test("createHttpBridge() streams a stateless request's progress, then its answer", async () => {
  await withBridge({}, async (bridge) => {
    const modern = await connectModernClient({ fetch: inProcessFetch(bridge) });
    try {
      const seen: number[] = [];
      const result = await modern.callTool(
        { name: "progress", arguments: { stepMs: 5 } },
        { onprogress: (progress: { progress: number }) => seen.push(progress.progress) },
      );
      assert.deepEqual(seen, [1, 2, 3]);
      assert.match(String((result.content as { text: string }[])[0].text), /progress token/);
      // Without a progress token the answer is one JSON body, with no notification.
      const plain = await modernPost(bridge, "tools/call", { name: "progress", arguments: {} });
      assert.match(plain.headers.get("content-type") ?? "", /application\/json/);
      assert.equal((await plain.json()).result.resultType, "complete");
    } finally {
      await modern.close();
    }
  });
});

Deno.test("createHttpBridge() cancels a stateless request on the server when its client goes away", async () => {
  await withBridge({ tokens: [TOKEN_A] }, async (bridge) => {
    // The principal's process is up before the requests to cancel.
    await (await modernPost(bridge, "tools/call", { name: "pid", arguments: {} }, AUTH_A)).json();
    for (const meta of [{}, { progressToken: "p" }]) {
      const abort = new AbortController();
      const pending = bridge.handler(
        new Request(LOCAL_URL, {
          method: "POST",
          signal: abort.signal,
          headers: {
            host: LOCAL_HOST,
            ...AUTH_A,
            accept: "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": MODERN,
            "mcp-method": "tools/call",
            "mcp-name": "hang",
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 5,
            method: "tools/call",
            params: {
              name: "hang",
              arguments: {},
              _meta: { ...meta, [MetaKey.protocolVersion]: MODERN },
            },
          }),
        }),
        LOCAL,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      abort.abort();
      const response = await pending;
      await response.body?.cancel().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const cancelled = await (await modernPost(bridge, "tools/call", {
      name: "cancelled",
      arguments: {},
    }, AUTH_A)).json();
    // The server heard notifications/cancelled for both requests.
    assert.equal(JSON.parse(cancelled.result.content[0].text).length, 2);
  });
});

Deno.test("createHttpBridge() restarts a principal's crashed server and answers requests in flight at close", async () => {
  const children = denoChildren();
  const bridge = createHttpBridge({ connect: children.connect, allowedHosts: [LOCAL_HOST] });
  try {
    const crashed = await (await modernPost(bridge, "tools/call", { name: "crash", arguments: {} }))
      .json();
    assert.equal(crashed.error.code, -32000);
    await waitAllExited(children.pids);
    const pid = await (await modernPost(bridge, "tools/call", { name: "pid", arguments: {} }))
      .json();
    assert.ok(isAlive(Number(pid.result.content[0].text)), "a new process serves the next one");
    const hanging = modernPost(bridge, "tools/call", { name: "hang", arguments: {} });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await bridge.close();
    const answer = await (await hanging).json();
    assert.equal(answer.error.code, -32000);
    assert.match(answer.error.message, /shutting down/);
  } finally {
    await bridge.close();
    await waitAllExited(children.pids);
  }
});

Deno.test("createHttpBridge() counts stateless servers in the session budget", async () => {
  await withBridge({ maxSessions: 1 }, async (bridge) => {
    const legacy = await connectClient({ fetch: inProcessFetch(bridge) });
    try {
      const refused = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} });
      assert.equal(refused.status, 503);
      await refused.body?.cancel();
    } finally {
      await legacy.transport.terminateSession();
      await legacy.client.close();
    }
    // Positive control: with the session gone, the stateless request is served.
    const served = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} });
    assert.equal(served.status, 200);
    await served.body?.cancel();
  });
});

Deno.test("createHttpBridge() delivers change notifications on a subscriptions/listen stream", async () => {
  await withBridge({ tokens: [TOKEN_A, TOKEN_B] }, async (bridge) => {
    const modern = await connectModernClient({ fetch: inProcessFetch(bridge), token: TOKEN_A });
    const other = await connectModernClient({ fetch: inProcessFetch(bridge), token: TOKEN_B });
    const seen: string[] = [];
    const otherSeen: string[] = [];
    modern.setNotificationHandler("notifications/tools/list_changed", () => {
      seen.push("tools");
    });
    modern.setNotificationHandler("notifications/resources/updated", (note) => {
      seen.push(note.params.uri);
    });
    other.setNotificationHandler("notifications/tools/list_changed", () => {
      otherSeen.push("tools");
    });
    try {
      const subscription = await modern.listen({
        toolsListChanged: true,
        promptsListChanged: true, // the server offers no prompts: not acknowledged
        resourceSubscriptions: ["file:///watched"],
      });
      assert.deepEqual(subscription.honoredFilter, {
        toolsListChanged: true,
        resourceSubscriptions: ["file:///watched"],
      });
      const otherSubscription = await other.listen({ toolsListChanged: true });
      assert.equal(await modernCallText(modern, "notify"), "notified");
      for (let i = 0; i < 100 && seen.length < 2; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(seen.sort(), ["file:///watched", "tools"]);
      // Another principal's server did not change: its subscriber hears nothing.
      assert.deepEqual(otherSeen, []);
      await subscription.close();
      await otherSubscription.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await modernCallText(modern, "notify");
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(seen.length, 2, "nothing after the subscription closed");
    } finally {
      await modern.close();
      await other.close();
    }
  });
});

/** How {@linkcode headerServer} lists its tools. */
interface HeaderServerOptions {
  /** Counts `tools/list` requests. */
  lists?: { count: number };
  /** The first this many `tools/list` requests fail. */
  failLists?: number;
  /** Each `tools/list` answer waits this long (ms). */
  listDelayMs?: number;
}

/** An in-memory server whose `run_query` mirrors its `region` into a header. */
async function headerServer(
  calls: string[],
  options: HeaderServerOptions = {},
): Promise<InMemoryTransport> {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const mcp = new Server({ name: "header-server", version: "1" }, { capabilities: { tools: {} } });
  const lists = options.lists ?? { count: 0 };
  mcp.setRequestHandler(ListToolsRequestSchema, async () => {
    lists.count++;
    await new Promise((resolve) => setTimeout(resolve, options.listDelayMs ?? 0));
    if (lists.count <= (options.failLists ?? 0)) throw new Error("listing failed");
    return headerTools;
  });
  mcp.setRequestHandler(CallToolRequestSchema, (request: CallToolRequest) => {
    const region = String(request.params.arguments?.region);
    calls.push(region);
    return { content: [{ type: "text", text: `ran in ${region}` }] };
  });
  await mcp.connect(server);
  return client;
}

const headerTools = {
  tools: [{
    name: "run_query",
    inputSchema: {
      type: "object",
      properties: {
        region: { type: "string", "x-mcp-header": "Region" },
        query: { type: "string" },
      },
    },
  }],
};

Deno.test("createHttpBridge() checks Mcp-Param headers against the body before a call runs", async () => {
  const calls: string[] = [];
  const bridge = createHttpBridge({
    connect: () => headerServer(calls),
    allowedHosts: [LOCAL_HOST],
  });
  try {
    // The v2 client mirrors the parameter itself: its call passes.
    const modern = await connectModernClient({ fetch: inProcessFetch(bridge) });
    try {
      assert.equal(
        await modernCallText(modern, "run_query", { region: "us-west1", query: "q" }),
        "ran in us-west1",
      );
    } finally {
      await modern.close();
    }
    const args = { region: "eu-secret", query: "q" };
    // Routed on one region, asking to run in another: refused, not run.
    const forged = await modernPost(bridge, "tools/call", { name: "run_query", arguments: args }, {
      "mcp-param-region": "us-west1",
    });
    assert.equal(forged.status, 400);
    assert.equal((await forged.json()).error.code, ModernErrorCode.HeaderMismatch);
    const missing = await modernPost(bridge, "tools/call", { name: "run_query", arguments: args });
    assert.equal(missing.status, 400);
    await missing.body?.cancel();
    assert.deepEqual(calls, ["us-west1"]);
    // Positive control: the matching header runs it.
    const matching = await modernPost(
      bridge,
      "tools/call",
      { name: "run_query", arguments: args },
      {
        "mcp-param-region": "eu-secret",
      },
    );
    assert.equal((await matching.json()).result.content[0].text, "ran in eu-secret");
  } finally {
    await bridge.close();
  }
});

Deno.test("createHttpBridge() refuses a call whose Mcp-Param headers cannot be checked", async () => {
  const calls: string[] = [];
  const lists = { count: 0 };
  const bridge = createHttpBridge({
    connect: () => headerServer(calls, { lists, failLists: 1 }),
    allowedHosts: [LOCAL_HOST],
  });
  const forged = () =>
    modernPost(bridge, "tools/call", {
      name: "run_query",
      arguments: { region: "eu-secret", query: "q" },
    }, { "mcp-param-region": "us-west1" });
  try {
    // The listing failed: the call is refused (fail closed), not run unchecked.
    const unchecked = await forged();
    assert.equal(unchecked.status, 503);
    assert.equal((await unchecked.json()).error.code, -32603);
    // The failure was not kept as an empty listing: the next call lists again and is checked.
    const checked = await forged();
    assert.equal(checked.status, 400);
    assert.equal((await checked.json()).error.code, ModernErrorCode.HeaderMismatch);
    assert.deepEqual(calls, []);
    assert.equal(lists.count, 2);
  } finally {
    await bridge.close();
  }
});

Deno.test("createHttpBridge() shares one tools listing among calls and outlives a client leaving", async () => {
  const calls: string[] = [];
  const lists = { count: 0 };
  const bridge = createHttpBridge({
    connect: () => headerServer(calls, { lists, listDelayMs: 300 }),
    allowedHosts: [LOCAL_HOST],
    tokens: [TOKEN_A],
  });
  try {
    const leaving = new AbortController();
    const body = (region: string, id: number) =>
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: {
          name: "run_query",
          arguments: { region, query: "q" },
          _meta: { [MetaKey.protocolVersion]: MODERN },
        },
      });
    const headers = (region: string) => ({
      host: LOCAL_HOST,
      accept: "application/json",
      "content-type": "application/json",
      "mcp-protocol-version": MODERN,
      "mcp-method": "tools/call",
      "mcp-name": "run_query",
      "mcp-param-region": region,
      ...AUTH_A,
    });
    const first = bridge.handler(
      new Request(LOCAL_URL, {
        method: "POST",
        signal: leaving.signal,
        headers: headers("us-west1"),
        body: body("us-west1", 1),
      }),
      LOCAL,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const forged = modernPost(bridge, "tools/call", {
      name: "run_query",
      arguments: { region: "eu-secret", query: "q" },
    }, { "mcp-param-region": "us-west1", ...AUTH_A });
    leaving.abort(); // the first client leaves while the listing is under way
    await (await first).body?.cancel().catch(() => {});
    const refused = await forged;
    assert.equal(refused.status, 400, "the listing the leaving client started still checks");
    assert.equal((await refused.json()).error.code, ModernErrorCode.HeaderMismatch);
    assert.equal(lists.count, 1, "one listing for both calls");
    // Positive control: a matching call runs, from the kept listing.
    const matching = await modernPost(bridge, "tools/call", {
      name: "run_query",
      arguments: { region: "eu-secret", query: "q" },
    }, { "mcp-param-region": "eu-secret", ...AUTH_A });
    assert.equal((await matching.json()).result.content[0].text, "ran in eu-secret");
    assert.equal(lists.count, 1);
  } finally {
    await bridge.close();
  }
});

Deno.test("createHttpBridge() answers an unknown stateless method with 404 and -32601", async () => {
  await withBridge({}, async (bridge) => {
    const unknown = await modernPost(bridge, "no/such/method");
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error.code, -32601);
    // Positive control: a known method is a 200.
    const known = await modernPost(bridge, "tools/list");
    assert.equal(known.status, 200);
    await known.body?.cancel();
  });
});

/** Opens a `subscriptions/listen` stream; the response holds it open. */
function listenPost(
  bridge: Bridge,
  headers: Record<string, string> = {},
  peer: typeof LOCAL = LOCAL,
): Promise<Response> {
  return bridge.handler(
    new Request(LOCAL_URL, {
      method: "POST",
      headers: {
        host: LOCAL_HOST,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": "subscriptions/listen",
        ...headers,
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "subscriptions/listen",
        params: {
          notifications: { toolsListChanged: true },
          _meta: { [MetaKey.protocolVersion]: MODERN },
        },
      }),
    }),
    peer,
  );
}

Deno.test("createHttpBridge() serves each anonymous stateless request with a process of its own", async () => {
  await withBridge({}, async (bridge, children) => {
    const call = async (name: string) =>
      (await (await modernPost(bridge, "tools/call", { name, arguments: {} })).json()).result
        .content[0].text;
    const first = Number(await call("pid"));
    const second = Number(await call("pid"));
    assert.notEqual(second, first, "two anonymous requests never share a process");
    // What one anonymous client left in a server's memory, the next does not see.
    assert.equal(await call("count"), "1");
    assert.equal(await call("count"), "1");
    // Each process ended after its answer.
    await waitAllExited(children.pids, 3000);
    for (let i = 0; i < 50 && bridge.stats().servers > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(bridge.stats().servers, 0);
  });
});

Deno.test("createHttpBridge() keeps an anonymous subscription's process until it closes, in the budget", async () => {
  await withBridge({ maxSessions: 1 }, async (bridge) => {
    const stream = await listenPost(bridge);
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    await reader.read(); // acknowledged: its process is up
    const refused = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} });
    assert.equal(refused.status, 503, "the subscription's process fills the budget");
    await refused.body?.cancel();
    await reader.cancel();
    // Positive control: with the subscription closed, its process is given back.
    const served = await modernPost(bridge, "tools/call", { name: "pid", arguments: {} });
    assert.equal(served.status, 200);
    await served.body?.cancel();
  });
});

Deno.test("createHttpBridge() counts subscriptions per client address across credentials", async () => {
  const bridge = createHttpBridge({
    connect: () => headerServer([]),
    allowedHosts: [LOCAL_HOST],
    tokens: [TOKEN_A, TOKEN_B],
  });
  const open: Response[] = [];
  try {
    for (let i = 0; i < 8; i++) open.push(await listenPost(bridge, i % 2 ? AUTH_A : AUTH_B));
    assert.ok(open.every((response) => response.status === 200));
    // A ninth from the same address, under either credential: refused.
    const refused = await listenPost(bridge, AUTH_B);
    assert.equal(refused.status, 429);
    assert.match((await refused.json()).error.message, /per client address and per credential/);
    // Positive control: another address with its own credential may subscribe.
    const elsewhere = await listenPost(bridge, AUTH_B, { remoteAddr: { hostname: "10.0.0.2" } });
    assert.equal(elsewhere.status, 200);
    open.push(elsewhere);
    // And closing one makes room again.
    await open.shift()!.body!.cancel();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await listenPost(bridge, AUTH_A);
    assert.equal(again.status, 200);
    open.push(again);
  } finally {
    for (const response of open) await response.body?.cancel().catch(() => {});
    await bridge.close();
  }
});

Deno.test("createHttpBridge() counts anonymous subscriptions per client address", async () => {
  const bridge = createHttpBridge({ connect: () => headerServer([]), allowedHosts: [LOCAL_HOST] });
  const open: Response[] = [];
  try {
    for (let i = 0; i < 8; i++) open.push(await listenPost(bridge));
    const refused = await listenPost(bridge);
    assert.equal(refused.status, 429);
    await refused.body?.cancel();
    // Positive control: another client address is not held back by this one.
    const elsewhere = await listenPost(bridge, {}, { remoteAddr: { hostname: "10.0.0.2" } });
    assert.equal(elsewhere.status, 200);
    open.push(elsewhere);
  } finally {
    for (const response of open) await response.body?.cancel().catch(() => {});
    await bridge.close();
  }
});

Deno.test("createHttpBridge() counts a principal's stateless server before admitting a session", async () => {
  await withBridge({ maxSessions: 1, idleTimeoutMs: 300, tokens: [TOKEN_A] }, async (bridge) => {
    const stateless = await modernPost(
      bridge,
      "tools/call",
      { name: "pid", arguments: {} },
      AUTH_A,
    );
    assert.equal(stateless.status, 200);
    await stateless.body?.cancel();
    // The stateless process holds the one slot: a new session is refused.
    await assert.rejects(
      connectClient({ fetch: inProcessFetch(bridge), token: TOKEN_A }),
      /503|Too many sessions/,
    );
    // Positive control: once the idle process ended, the session is admitted.
    for (let i = 0; i < 100 && bridge.stats().servers > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const legacy = await connectClient({ fetch: inProcessFetch(bridge), token: TOKEN_A });
    try {
      assert.equal(await callText(legacy.client, "echo", { text: "in" }), "in");
    } finally {
      await legacy.client.close();
    }
  });
});
