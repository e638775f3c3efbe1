// Abuse tests of the HTTP bridge over real loopback sockets, with real HTTP clients: raw TCP
// for requests a browser-like client cannot make (bad Host, slow or huge bodies), fetch bound to
// distinct 127.0.0.x source addresses for distinct clients, and the MCP SDK client.
import assert from "node:assert/strict";
import {
  type HttpBridgeServer,
  serveHttpBridge,
  type ServeHttpBridgeOptions,
} from "../runtime/http/serve.ts";
import {
  callText,
  type Children,
  connectClient,
  denoChildren,
  type FetchLike,
  waitAllExited,
} from "./_bridge_helpers.ts";

const TOKEN_A = "abuse-token-a-0123456789abcdef";
const TOKEN_B = "abuse-token-b-0123456789abcdef";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withServer(
  options: Partial<ServeHttpBridgeOptions>,
  body: (server: HttpBridgeServer, children: Children) => Promise<void>,
): Promise<void> {
  const children = denoChildren();
  const server = await serveHttpBridge({ connect: children.connect, ...options });
  try {
    await body(server, children);
  } finally {
    await server.shutdown();
    await server.finished;
    await waitAllExited(children.pids);
  }
}

/** A fetch whose connections come from `address` (a distinct client for the bridge). */
function fetchFrom(address: string): FetchLike & { close(): void } {
  const client = Deno.createHttpClient({ localAddress: address });
  const fetchLike = ((url: string | URL, init?: RequestInit) => fetch(url, { ...init, client })) as
    & FetchLike
    & { close(): void };
  fetchLike.close = () => client.close();
  return fetchLike;
}

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "a", version: "1" },
  },
});
const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** Sends raw bytes on a new connection and returns the status code of the answer. */
async function rawStatus(port: number, head: string, body = ""): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(head + body));
    return await readStatus(conn);
  } finally {
    conn.close();
  }
}

async function readStatus(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(4096);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(buffer);
    if (n === null) return 0; // closed without an answer
    text += decoder.decode(buffer.subarray(0, n));
  }
  return Number(text.split(" ")[1]);
}

function postHead(host: string, extra = "", length?: number): string {
  return `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\n${extra}` +
    (length === undefined ? "" : `Content-Length: ${length}\r\n`) + "Connection: close\r\n\r\n";
}

async function initSession(
  url: string,
  fetchFn: FetchLike = fetch,
  headers: Record<string, string> = {},
): Promise<string> {
  const response = await fetchFn(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers },
    body: INIT,
  });
  if (response.status !== 200) assert.fail(`${response.status}: ${await response.text()}`);
  await response.body?.cancel();
  return response.headers.get("mcp-session-id")!;
}

Deno.test("serveHttpBridge() refuses DNS-rebinding Hosts and foreign Origins over a socket", async () => {
  await withServer({}, async (server, children) => {
    const port = server.addr.port;
    const cases: [string, number][] = [
      [postHead("evil.example.com", "", INIT.length), 403],
      [postHead(`evil.example.com:${port}`, "", INIT.length), 403],
      [postHead(`127.0.0.1:${port + 1}`, "", INIT.length), 403],
      [
        postHead(`127.0.0.1:${port}`, "Origin: http://evil.example.com\r\n", INIT.length),
        403,
      ],
      [postHead(`localhost:${port}`, "Origin: null\r\n", INIT.length), 403],
    ];
    for (const [head, status] of cases) {
      assert.equal(await rawStatus(port, head, INIT), status, head);
    }
    assert.equal(children.starts, 0, "no process for a refused request");
    // Positive controls: each loopback name this listener answers to.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      assert.equal(await rawStatus(port, postHead(host, "", INIT.length), INIT), 200, host);
    }
  });
});

Deno.test("serveHttpBridge() requires a token and never serves one client's session to another", async () => {
  await withServer({ tokens: [TOKEN_A, TOKEN_B] }, async (server) => {
    const post = (headers: Record<string, string>, body = INIT) =>
      fetch(server.url, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body });
    const bad: Record<string, string>[] = [{}, {
      authorization: "Bearer not-the-token-0123456789",
    }];
    for (const headers of bad) {
      const response = await post(headers);
      assert.equal(response.status, 401);
      await response.body?.cancel();
    }
    const { client } = await connectClient({ url: server.url, token: TOKEN_A });
    try {
      const session = await initSession(server.url, fetch, { authorization: `Bearer ${TOKEN_A}` });
      const call = JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
      });
      const hijacks: Record<string, string>[] = [
        { authorization: `Bearer ${TOKEN_B}`, "mcp-session-id": session },
        { "mcp-session-id": session },
        { authorization: `Bearer ${TOKEN_B}`, "mcp-session-id": `${session}x` },
      ];
      for (const headers of hijacks) {
        const response = await post(headers, call);
        assert.ok([401, 404].includes(response.status), `${response.status}`);
        await response.body?.cancel();
      }
      // The owner still gets through, and so does the SDK client.
      const owner = await post(
        { authorization: `Bearer ${TOKEN_A}`, "mcp-session-id": session },
        call,
      );
      assert.match(await owner.text(), /"text":"x"/);
      assert.equal(await callText(client, "echo", { text: "ok" }), "ok");
    } finally {
      await client.close();
    }
  });
});

Deno.test("serveHttpBridge() refuses oversized and malformed bodies without buffering them", async () => {
  await withServer({ maxBodyBytes: 64 * 1024 }, async (server, children) => {
    const port = server.addr.port;
    const host = `127.0.0.1:${port}`;
    // A declared size over the limit: refused before any body byte is sent.
    assert.equal(await rawStatus(port, postHead(host, "", 1_000_000_000)), 413);
    // A chunked body that never ends: cut at the limit.
    const before = Deno.memoryUsage().rss;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(postHead(host, "Transfer-Encoding: chunked\r\n")));
    const status = readStatus(conn);
    const chunk = encoder.encode(`10000\r\n${"x".repeat(0x10000)}\r\n`);
    let sent = 0;
    try {
      for (; sent < 2048; sent++) await conn.write(chunk); // up to 128 MiB
    } catch {
      // the server stopped reading and closed: expected
    }
    assert.equal(await status, 413);
    conn.close();
    assert.ok(sent < 2048, "the server hung up instead of reading 128 MiB");
    assert.ok(Deno.memoryUsage().rss - before < 64 * 1024 * 1024, "memory stays bounded");
    // Malformed JSON, malformed HTTP.
    assert.equal(await rawStatus(port, postHead(host, "", 9), "{not json"), 400);
    assert.ok([0, 400].includes(await rawStatus(port, "GARBAGE\r\n\r\n")));
    assert.equal(children.starts, 0);
  });
});

Deno.test("serveHttpBridge() keeps other clients working while one floods", async () => {
  await withServer(
    { ratePerSecond: 20, rateBurst: 40, maxConcurrentPerClient: 8 },
    async (server) => {
      const flooder = fetchFrom("127.0.0.2");
      const polite = fetchFrom("127.0.0.3");
      try {
        const { client } = await connectClient({ url: server.url, fetch: polite });
        const session = await initSession(server.url, flooder);
        const statuses = new Map<number, number>();
        let stop = false;
        const flood = Array.from({ length: 32 }, async () => {
          while (!stop) {
            const response = await flooder(server.url, {
              method: "POST",
              headers: { ...MCP_HEADERS, "mcp-session-id": session },
              body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
            }).catch(() => undefined);
            if (response === undefined) continue;
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            await response.body?.cancel();
          }
        });
        const started = Date.now();
        try {
          for (let i = 0; i < 20; i++) {
            assert.equal(await callText(client, "echo", { text: `n${i}` }), `n${i}`);
          }
        } finally {
          stop = true;
          await Promise.all(flood);
          await client.close();
        }
        const seconds = (Date.now() - started) / 1000;
        const ok = statuses.get(200) ?? 0;
        assert.ok((statuses.get(429) ?? 0) > 100, JSON.stringify([...statuses]));
        assert.ok(ok <= 40 + 20 * seconds + 5, `${ok} requests got through in ${seconds} s`);
      } finally {
        flooder.close();
        polite.close();
      }
    },
  );
});

/** Whether the server closes `conn` within `ms` (reads until end of stream or reset). */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buffer = new Uint8Array(1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  const closed = (async () => {
    try {
      while ((await conn.read(buffer)) !== null) { /* an answer, then the end */ }
    } catch {
      // reset by the server: closed too
    }
    return true;
  })();
  try {
    return await Promise.race([closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes one byte of `text` to `conn` every `everyMs` until it fails (the server closed it). */
async function trickle(conn: Deno.Conn, text: string, everyMs: number): Promise<void> {
  for (const byte of encoder.encode(text)) {
    try {
      await conn.write(new Uint8Array([byte]));
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

Deno.test("serveHttpBridge() closes connections that trickle headers or a body, and serves others meanwhile", async () => {
  const headersTimeoutMs = 1000;
  await withServer(
    { headersTimeoutMs, bodyTimeoutMs: headersTimeoutMs, maxConnectionsPerClient: 100 },
    async (server) => {
      const port = server.addr.port;
      const host = `127.0.0.1:${port}`;
      const slow: Deno.Conn[] = [];
      const trickles: Promise<void>[] = [];
      const good = fetchFrom("127.0.0.3");
      try {
        // The hostile client (127.0.0.1): 100 connections, the per-client cap, each trickling.
        for (let i = 0; i < 100; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          slow.push(conn);
          if (i % 2 === 0) {
            trickles.push(trickle(conn, postHead(host, "", INIT.length) + INIT, 100));
          } else {
            // Complete headers at once, then the body a byte at a time.
            await conn.write(encoder.encode(postHead(host, "", 1000)));
            trickles.push(trickle(conn, "x".repeat(1000), 100));
          }
        }
        // Canary check: while held, every slow connection is open (what main keeps for ever).
        await new Promise((resolve) => setTimeout(resolve, headersTimeoutMs / 4));
        assert.equal(server.connections, 100);
        // One more from the same address is over its cap: closed at once.
        const over = await Deno.connect({ hostname: "127.0.0.1", port });
        await over.write(encoder.encode("GET /m"));
        assert.ok(await closedWithin(over, headersTimeoutMs / 2), "over the per-client cap");
        over.close();
        // Positive control: a well-behaved client is served while the slow ones are held.
        const { client } = await connectClient({ url: server.url, fetch: good });
        try {
          assert.equal(await callText(client, "echo", { text: "through" }), "through");
        } finally {
          await client.close();
        }
        // After the deadline every slow connection has been closed by the server.
        const closed = await Promise.all(slow.map((conn) => closedWithin(conn, 5000)));
        assert.equal(closed.filter((c) => !c).length, 0, "slow connections left open");
        await Promise.all(trickles);
        assert.equal(server.bridge.stats().sessions, 1);
      } finally {
        for (const conn of slow) {
          try {
            conn.close();
          } catch { /* closed */ }
        }
        good.close();
      }
    },
  );
});

Deno.test("serveHttpBridge() closes idle kept-alive connections without breaking a client or its session", async () => {
  const headersTimeoutMs = 300;
  await withServer({ headersTimeoutMs }, async (server) => {
    const { client } = await connectClient({ url: server.url });
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal(await callText(client, "echo", { text: `call ${i}` }), `call ${i}`);
        const busy = server.connections;
        // Idle past the deadline: the pooled connection is closed; the next call reconnects.
        await new Promise((resolve) => setTimeout(resolve, headersTimeoutMs * 3));
        // The kept-alive connection went; what stays is the client's open event stream.
        assert.equal(server.connections, busy - 1, "an idle kept-alive connection stayed open");
      }
      // Closing idle connections never ends the session they carried.
      assert.equal(server.bridge.stats().sessions, 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("serveHttpBridge() caps connections overall and stays bounded under many idle ones", async () => {
  await withServer({ maxConnections: 50, headersTimeoutMs: 30_000 }, async (server) => {
    const port = server.addr.port;
    const idle: Deno.Conn[] = [];
    const before = Deno.memoryUsage().rss;
    try {
      for (let i = 0; i < 400; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        // Half a request line, then silence.
        await conn.write(encoder.encode(i % 2 ? "POST /mcp HTTP/1.1\r\nHost: 127" : "GET /m"));
        idle.push(conn);
      }
      // The first 50 are held (under the per-client cap of 64), the other 350 closed at once.
      const closed = await Promise.all(idle.slice(50).map((conn) => closedWithin(conn, 2000)));
      assert.equal(closed.filter((c) => !c).length, 0, "connections beyond the cap stay open");
      assert.equal(server.connections, 50);
      const grown = Deno.memoryUsage().rss - before;
      assert.ok(grown < 128 * 1024 * 1024, `RSS grew ${grown} bytes`);
    } finally {
      for (const conn of idle) conn.close();
    }
  });
});

Deno.test("serveHttpBridge() takes the client address from a trusted proxy only, never from a spoofer", async () => {
  // The rate limit is the canary: 2 requests per client, then 429 for a very long time.
  await withServer(
    {
      trustProxy: ["127.0.0.2", "127.0.0.1"],
      ratePerSecond: 0.001,
      rateBurst: 2,
      maxConnectionsPerClient: 2,
    },
    async (server) => {
      const proxy = fetchFrom("127.0.0.2");
      const spoofer = fetchFrom("127.0.0.3");
      const held: Deno.Conn[] = [];
      const status = async (fetchFn: FetchLike, headers: Record<string, string>) => {
        const response = await fetchFn(server.url, { headers });
        await response.body?.cancel();
        return response.status; // 400 (no session) once past the limits, 429 when limited
      };
      try {
        // Malicious case: an untrusted peer rotates X-Forwarded-For and CF-Connecting-IP to get
        // a fresh budget per request; it still gets one budget, its own address's.
        const spoofed: number[] = [];
        for (let i = 1; i <= 4; i++) {
          spoofed.push(
            await status(spoofer, {
              "x-forwarded-for": `203.0.113.${i}`,
              "cf-connecting-ip": `198.51.100.${i}`,
            }),
          );
        }
        assert.deepEqual(spoofed, [400, 400, 429, 429]);
        // A client behind the trusted proxy that prepends a fake address is still itself.
        const behind = [];
        for (const fake of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
          behind.push(await status(proxy, { "x-forwarded-for": `${fake}, 203.0.113.50` }));
        }
        assert.deepEqual(behind, [400, 400, 429]);
        // Positive control: through the trusted proxy, each forwarded client has its own
        // budget, so the headers do take effect when they may.
        for (let i = 1; i <= 3; i++) {
          assert.equal(await status(proxy, { "x-forwarded-for": `203.0.113.${i}` }), 400);
          assert.equal(await status(proxy, { "cf-connecting-ip": `198.51.100.${i}` }), 400);
        }
        // A trusted proxy carries many clients: it is exempt from the per-client connection cap
        // (2 here; the cap's own test shows an untrusted address losing its third connection).
        const before = server.connections;
        for (let i = 0; i < 4; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
          await conn.write(encoder.encode("GET /m"));
          held.push(conn);
        }
        const closed = await Promise.all(held.map((conn) => closedWithin(conn, 300)));
        assert.deepEqual(closed, [false, false, false, false]);
        assert.equal(server.connections, before + 4);
      } finally {
        for (const conn of held) conn.close();
        proxy.close();
        spoofer.close();
      }
    },
  );
});

Deno.test("serveHttpBridge() bounds idle sessions and SSE streams, then reaps them", async () => {
  await withServer(
    // 400 requests at once from one address: above the connection cap, which a test below covers.
    {
      maxSessions: 6,
      maxSessionsPerClient: 100,
      idleTimeoutMs: 1500,
      maxConnectionsPerClient: 500,
    },
    async (server, children) => {
      const sessions: string[] = [];
      for (let i = 0; i < 6; i++) sessions.push(await initSession(server.url));
      const full = await fetch(server.url, { method: "POST", headers: MCP_HEADERS, body: INIT });
      assert.equal(full.status, 503);
      await full.body?.cancel();
      // One GET stream per session; more on the same session are refused.
      const streams = await Promise.all(
        sessions.map((id) =>
          fetch(server.url, { headers: { accept: "text/event-stream", "mcp-session-id": id } })
        ),
      );
      for (const stream of streams) assert.equal(stream.status, 200);
      const extra = await Promise.all(Array.from({ length: 200 }, () =>
        fetch(server.url, {
          headers: { accept: "text/event-stream", "mcp-session-id": sessions[0] },
        })));
      for (const response of extra) {
        assert.ok([409, 429].includes(response.status), `${response.status}`);
        await response.body?.cancel();
      }
      const unknown = await Promise.all(Array.from({ length: 200 }, () =>
        fetch(server.url, {
          headers: { accept: "text/event-stream", "mcp-session-id": "no-such-session" },
        })));
      for (const response of unknown) {
        assert.ok([404, 429].includes(response.status), `${response.status}`);
        await response.body?.cancel();
      }
      // Idle sessions are closed: their streams end and their processes exit.
      const started = Date.now();
      for (const stream of streams) {
        const reader = stream.body!.getReader();
        while (!(await reader.read()).done) { /* keep-alive comments until the end */ }
      }
      assert.ok(Date.now() - started < 6000);
      await waitAllExited(children.pids, 6000);
      assert.equal(server.bridge.stats().sessions, 0);
      // And there is room again.
      await initSession(server.url);
      assert.equal(server.bridge.stats().sessions, 1);
    },
  );
});

Deno.test("serveHttpBridge() refuses to listen beyond loopback without a token", async () => {
  const children = denoChildren();
  for (const hostname of ["0.0.0.0", "::", "192.0.2.1"]) {
    await assert.rejects(
      () => serveHttpBridge({ connect: children.connect, hostname }),
      (error: Error) => error instanceof RangeError && /token/.test(error.message),
    );
  }
  assert.equal(children.starts, 0);
});

Deno.test("serveHttpBridge() shuts down on its signal and leaves no process behind", async () => {
  const children = denoChildren();
  const controller = new AbortController();
  const server = await serveHttpBridge({ connect: children.connect, signal: controller.signal });
  const clients = await Promise.all([1, 2, 3].map(() => connectClient({ url: server.url })));
  for (const { client } of clients) {
    assert.equal(await callText(client, "echo", { text: "x" }), "x");
  }
  assert.equal(children.pids.length, 3);
  const call = callText(clients[0].client, "slow", { ms: 20_000 }).catch((error) => error);
  await new Promise((resolve) => setTimeout(resolve, 100));
  controller.abort();
  await server.finished;
  assert.match(String((await call).message), /shutting down/);
  assert.equal(server.bridge.stats().servers, 0);
  await waitAllExited(children.pids, 1);
  const after = await fetch(server.url).catch((error) => error);
  assert.ok(after instanceof TypeError, "the listener is closed");
  for (const { client } of clients) await client.close();
});
