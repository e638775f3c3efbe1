import assert from "node:assert/strict";
import { type HttpListener, listenHttp, type ListenHttpOptions } from "./_listener.ts";

const ok = () => Promise.resolve(new Response("ok"));

function listen(
  options: Partial<ListenHttpOptions> = {},
  handler: Parameters<typeof listenHttp>[0] = ok,
): HttpListener {
  return listenHttp(handler, {
    hostname: "127.0.0.1",
    port: 0,
    headersTimeoutMs: 5_000,
    maxConnections: 16,
    maxConnectionsPerClient: 16,
    ...options,
  });
}

/** Whether the server closes `conn` within `ms` (end of stream or reset). */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const read = (async () => {
    const buffer = new Uint8Array(1024);
    try {
      for (;;) if ((await conn.read(buffer)) === null) return true;
    } catch {
      return true;
    }
  })();
  const result = await Promise.race([
    read,
    new Promise<false>((r) => timer = setTimeout(() => r(false), ms)),
  ]);
  clearTimeout(timer);
  return result;
}

async function connect(server: HttpListener): Promise<Deno.Conn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, "condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("listenHttp() serves requests and tells the handler its peer", async () => {
  let peer = "";
  const server = listen({}, (_request, info) => {
    peer = info.remoteAddr.hostname;
    return Promise.resolve(new Response("hello"));
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await response.text(), "hello");
    assert.equal(peer, "127.0.0.1");
  } finally {
    await server.shutdown(0);
  }
});

Deno.test("listenHttp() closes a connection that does not finish its headers in time", async () => {
  const server = listen({ headersTimeoutMs: 200 });
  const conn = await connect(server);
  try {
    // A slow client: the start of a request, then nothing.
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHo"));
    assert.equal(await closedWithin(conn, 3_000), true, "the trickling connection stayed open");
    await until(() => server.connections === 0);
  } finally {
    conn.close();
    await server.shutdown(0);
  }
});

Deno.test("listenHttp() re-arms the deadline on a kept-alive connection after each answer", async () => {
  const server = listen({ headersTimeoutMs: 300 });
  const conn = await connect(server);
  try {
    await conn.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buffer = new Uint8Array(1024);
    const n = await conn.read(buffer);
    assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    // Answered, then idle: the connection gets the deadline again, not for ever.
    assert.equal(await closedWithin(conn, 3_000), true);
  } finally {
    conn.close();
    await server.shutdown(0);
  }
});

Deno.test("listenHttp() closes connections over the overall cap at once", async () => {
  const server = listen({ maxConnections: 2 });
  const conns: Deno.Conn[] = [];
  try {
    conns.push(await connect(server), await connect(server));
    await until(() => server.connections === 2);
    const extra = await connect(server);
    conns.push(extra);
    assert.equal(await closedWithin(extra, 2_000), true, "a third connection was kept");
    assert.equal(await closedWithin(conns[0], 200), false, "an admitted connection was closed");
    assert.equal(server.connections, 2);
  } finally {
    for (const conn of conns) conn.close();
    await server.shutdown(0);
  }
});

Deno.test("listenHttp() caps connections per client address unless the peer is exempt", async () => {
  for (const exempt of [false, true]) {
    const server = listen({ maxConnectionsPerClient: 1, exempt: () => exempt });
    const conns: Deno.Conn[] = [];
    try {
      conns.push(await connect(server));
      await until(() => server.connections === 1);
      const second = await connect(server);
      conns.push(second);
      assert.equal(await closedWithin(second, exempt ? 300 : 2_000), !exempt, `exempt: ${exempt}`);
    } finally {
      for (const conn of conns) conn.close();
      await server.shutdown(0);
    }
  }
});

Deno.test("listenHttp() frees a client's slot when its connection ends", async () => {
  const server = listen({ maxConnectionsPerClient: 1 });
  try {
    const first = await connect(server);
    await until(() => server.connections === 1);
    first.close();
    await until(() => server.connections === 0);
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(await response.text(), "ok");
  } finally {
    await server.shutdown(0);
  }
});

Deno.test("listenHttp() lets the handler close a connection whose body never comes", async () => {
  // As admission does for a body that arrives too slowly: close, then answer.
  const server = listen({}, (_request, info) => {
    info.close();
    return Promise.resolve(new Response("too slow", { status: 408 }));
  });
  const conn = await connect(server);
  try {
    await conn.write(
      new TextEncoder().encode("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n"),
    );
    assert.equal(await closedWithin(conn, 3_000), true);
  } finally {
    conn.close();
    await server.shutdown(0);
  }
});

Deno.test("listenHttp().shutdown() lets a request in flight finish, then stops accepting", async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => release = r);
  const server = listen({}, async () => {
    await slow;
    return new Response("late");
  });
  const port = server.addr.port;
  const inFlight = fetch(`http://127.0.0.1:${port}/`);
  await until(() => server.connections === 1);
  const stopped = server.shutdown(5_000);
  setTimeout(release, 100);
  assert.equal(await (await inFlight).text(), "late");
  await stopped;
  await server.finished;
  assert.equal(server.connections, 0);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
});
