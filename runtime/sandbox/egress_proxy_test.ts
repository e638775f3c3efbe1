import assert from "node:assert/strict";
import { type EgressProxyOptions, type EgressRefusal, startEgressProxy } from "./egress_proxy.ts";
import { denyNetList, parseNetGrant } from "../policy/net_policy.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A loopback HTTP listener that records every connection and request (head and body) it gets. */
interface Listener {
  port: number;
  connections: number;
  heads: string[];
  close(): Promise<void>;
}

function listen(name: string, hostname = "127.0.0.1"): Listener {
  const server = Deno.listen({ hostname, port: 0 });
  const tasks: Promise<void>[] = [];
  const state: Listener = {
    port: (server.addr as Deno.NetAddr).port,
    connections: 0,
    heads: [],
    close: async () => {
      server.close();
      await accepting;
      await Promise.allSettled(tasks);
    },
  };
  const serve = async (conn: Deno.Conn) => {
    try {
      let text = "";
      const buf = new Uint8Array(4096);
      const complete = () => {
        const end = text.indexOf("\r\n\r\n");
        const length = Number(/\r\nContent-Length: (\d+)/i.exec(text)?.[1] ?? 0);
        return end >= 0 && text.length >= end + 4 + length;
      };
      while (!complete()) {
        const n = await conn.read(buf);
        if (n === null) return;
        text += dec.decode(buf.subarray(0, n));
      }
      state.heads.push(text);
      const body = `ok ${name}`;
      await conn.write(enc.encode(
        `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ));
    } catch {
      /* the test closed it */
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of server) {
        state.connections++;
        tasks.push(serve(conn));
      }
    } catch { /* closed */ }
  })();
  return state;
}

/** Sends bytes to the proxy and reads until it closes (or 5 s pass). */
async function exchange(socketPath: string, request: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ transport: "unix", path: socketPath });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    await conn.write(typeof request === "string" ? enc.encode(request) : request);
    let text = "";
    const buf = new Uint8Array(4096);
    while (true) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return text;
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

interface Scene {
  socketPath: string;
  granted: Listener;
  canary: Listener;
  logged: EgressRefusal[];
  proxy: Awaited<ReturnType<typeof startEgressProxy>>;
}

/**
 * A proxy whose resolver maps `granted.test`, `evil.test` and `rebind.test` to 127.0.0.1, with a
 * granted listener and a canary listener on loopback; `allow` may use GRANTED and CANARY for
 * their ports.
 */
async function withProxy(
  allow: string[],
  fn: (scene: Scene) => Promise<void>,
  options: Partial<EgressProxyOptions> & { names?: Record<string, string[]> } = {},
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "mcp-run-egress-" });
  const granted = listen("granted");
  const canary = listen("canary");
  const names: Record<string, string[]> = {
    "granted.test": ["127.0.0.1"],
    "evil.test": ["127.0.0.1"],
    "rebind.test": ["127.0.0.1"],
    ...options.names,
  };
  const grants = allow.map((a) =>
    a.replace("GRANTED", String(granted.port)).replace("CANARY", String(canary.port))
  );
  const logged: EgressRefusal[] = [];
  const privateGrants = grants.map(parseNetGrant).filter((g) => g.kind !== "name");
  const proxy = await startEgressProxy({
    socketPath: `${dir}/proxy.sock`,
    allow: grants,
    deny: denyNetList(privateGrants),
    lookup: (host) => Promise.resolve(names[host] ?? []),
    onRefusal: (refusal) => logged.push(refusal),
    ...options,
  });
  try {
    await fn({ socketPath: proxy.socketPath, granted, canary, logged, proxy });
  } finally {
    await proxy.close();
    await granted.close();
    await canary.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

function status(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

Deno.test("startEgressProxy() tunnels CONNECT to a granted name resolved to an address granted explicitly", async () => {
  await withProxy(
    ["granted.test", "127.0.0.1"],
    async ({ socketPath, granted, canary, logged }) => {
      const response = await exchange(
        socketPath,
        `CONNECT granted.test:${granted.port} HTTP/1.1\r\nHost: granted.test:${granted.port}\r\n\r\n` +
          "GET /inside HTTP/1.1\r\nHost: granted.test\r\n\r\n",
      );
      assert.equal(status(response), 200);
      assert.match(response, /ok granted$/);
      assert.equal(granted.connections, 1);
      assert.match(granted.heads[0], /^GET \/inside HTTP\/1\.1/);
      assert.equal(canary.connections, 0);
      assert.deepEqual(logged, []);
    },
  );
});

Deno.test("startEgressProxy() forwards a plain request as origin-form without hop-by-hop or Proxy-* headers", async () => {
  await withProxy(["granted.test", "127.0.0.1"], async ({ socketPath, granted }) => {
    const response = await exchange(
      socketPath,
      `POST http://granted.test:${granted.port}/path?q=1 HTTP/1.1\r\n` +
        `Host: GRANTED.test:${granted.port}\r\nProxy-Authorization: Basic c2VjcmV0\r\n` +
        "Proxy-Connection: keep-alive\r\nKeep-Alive: 5\r\nConnection: keep-alive, X-Drop\r\n" +
        "X-Drop: 1\r\nX-Keep: yes\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert.equal(status(response), 200);
    assert.match(response, /ok granted$/);
    const head = granted.heads[0];
    assert.match(head, /^POST \/path\?q=1 HTTP\/1\.1\r\nHost: granted\.test:\d+\r\n/);
    assert.match(head, /\r\nX-Keep: yes\r\n/);
    assert.match(head, /\r\nConnection: close\r\n/);
    assert.match(head, /\r\n\r\nhello$/);
    for (const gone of [/Proxy-/i, /Keep-Alive/i, /X-Drop/i]) assert.doesNotMatch(head, gone);
  });
});

Deno.test("startEgressProxy() refuses CONNECT to a host that is not granted", async () => {
  await withProxy(["granted.test", "127.0.0.1:GRANTED"], async ({ socketPath, canary, logged }) => {
    const response = await exchange(
      socketPath,
      `CONNECT evil.test:${canary.port} HTTP/1.1\r\n\r\n`,
    );
    assert.equal(status(response), 403);
    assert.match(response, /refused evil\.test:\d+: evil\.test:\d+ is not granted/);
    assert.equal(canary.connections, 0);
    assert.equal(logged.length, 1);
    assert.equal(logged[0].host, "evil.test");
    assert.equal(logged[0].port, canary.port);
  });
});

Deno.test("startEgressProxy() refuses CONNECT to address literals that are not granted, whatever their spelling", async () => {
  await withProxy(["granted.test", "127.0.0.1:GRANTED"], async ({ socketPath, canary, logged }) => {
    const port = canary.port;
    const targets = [
      `127.0.0.1:${port}`,
      `127.1:${port}`,
      `2130706433:${port}`,
      `0x7f000001:${port}`,
      `0177.0.0.1:${port}`,
      `0.0.0.0:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `[::1]:${port}`,
      `localhost:${port}`,
    ];
    for (const target of targets) {
      const response = await exchange(socketPath, `CONNECT ${target} HTTP/1.1\r\n\r\n`);
      assert.equal(status(response), 403, target);
    }
    assert.equal(canary.connections, 0);
    assert.equal(logged.length, targets.length);
  });
});

Deno.test("startEgressProxy() refuses a granted name that resolves to a private address (after resolution)", async () => {
  const answers: Record<string, string[]> = {
    "loop.test": ["127.0.0.1"],
    "mixed.test": ["93.184.215.14", "127.0.0.1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "meta.test": ["169.254.169.254"],
    "ula.test": ["fd00::1"],
    "six.test": ["::1"],
    "junk.test": ["not-an-address"],
  };
  await withProxy(
    Object.keys(answers),
    async ({ socketPath, canary, logged }) => {
      for (const [name, [address]] of Object.entries(answers)) {
        const response = await exchange(
          socketPath,
          `CONNECT ${name}:${canary.port} HTTP/1.1\r\n\r\n`,
        );
        assert.equal(status(response), 403, name);
        assert.ok(logged.at(-1)!.address !== undefined, name);
        if (name !== "mixed.test") assert.equal(logged.at(-1)!.address, address);
      }
      assert.equal(
        logged.at(0)!.reason,
        "loop.test resolves to 127.0.0.1: it is a private or loopback address",
      );
      assert.equal(canary.connections, 0);
    },
    { names: answers },
  );
});

Deno.test("startEgressProxy() refuses a granted host on another port", async () => {
  await withProxy(
    ["granted.test:GRANTED", "127.0.0.1"],
    async ({ socketPath, granted, canary }) => {
      const refused = await exchange(
        socketPath,
        `CONNECT granted.test:${canary.port} HTTP/1.1\r\n\r\n`,
      );
      assert.equal(status(refused), 403);
      assert.equal(canary.connections, 0);
      const allowed = await exchange(
        socketPath,
        `GET http://granted.test:${granted.port}/ HTTP/1.1\r\nHost: granted.test:${granted.port}\r\n\r\n`,
      );
      assert.equal(status(allowed), 200);
      assert.equal(granted.connections, 1);
    },
  );
});

Deno.test("startEgressProxy() refuses a plain request whose Host header disagrees with its URL", async () => {
  await withProxy(["granted.test", "127.0.0.1"], async ({ socketPath, granted, logged }) => {
    const url = `http://granted.test:${granted.port}/`;
    const cases = [
      `GET ${url} HTTP/1.1\r\nHost: evil.test\r\n\r\n`,
      `GET ${url} HTTP/1.1\r\nHost: granted.test\r\n\r\n`, // the default port is another port
      `GET ${url} HTTP/1.1\r\nHost: granted.test:${granted.port}\r\nHost: evil.test\r\n\r\n`,
    ];
    for (const request of cases) assert.equal(status(await exchange(socketPath, request)), 403);
    assert.equal(granted.connections, 0);
    assert.match(logged[0].reason, /the Host header names "evil\.test", not the URL's host/);
  });
});

Deno.test("startEgressProxy() refuses absolute-URI tricks: user names, other schemes, origin-form", async () => {
  await withProxy(
    ["granted.test", "127.0.0.1:GRANTED"],
    async ({ socketPath, granted, canary }) => {
      const g = `granted.test:${granted.port}`;
      const refused = [
        `GET http://${g}@evil.test:${canary.port}/ HTTP/1.1\r\nHost: evil.test:${canary.port}\r\n\r\n`,
        `GET http://${g}@127.0.0.1:${canary.port}/ HTTP/1.1\r\n\r\n`,
        `GET http://127.0.0.1:${canary.port}\\@${g}/ HTTP/1.1\r\n\r\n`,
      ];
      for (const request of refused) assert.equal(status(await exchange(socketPath, request)), 403);
      const bad = [
        `GET http://${g}/#@evil.test:${canary.port}/ HTTP/1.1\r\n\r\n`,
        `GET https://${g}/ HTTP/1.1\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: ${g}\r\n\r\n`,
        `GET ftp://${g}/ HTTP/1.1\r\n\r\n`,
      ];
      for (const request of bad) assert.equal(status(await exchange(socketPath, request)), 400);
      assert.equal(granted.connections + canary.connections, 0);
    },
  );
});

Deno.test("startEgressProxy() answers 431 to an oversized request head and connects nowhere", async () => {
  await withProxy(["granted.test", "127.0.0.1"], async ({ socketPath, granted }) => {
    const big = `CONNECT granted.test:${granted.port} HTTP/1.1\r\nX-Pad: ${
      "a".repeat(20000)
    }\r\n\r\n`;
    assert.equal(status(await exchange(socketPath, big)), 431);
    const malformed = `CONNECT granted.test:${granted.port} HTTP/1.1\r\n folded\r\n\r\n`;
    assert.equal(status(await exchange(socketPath, malformed)), 400);
    assert.equal(granted.connections, 0);
  }, { maxHeaderBytes: 16384 });
});

Deno.test("startEgressProxy() logs each refusal in one line and keeps only the latest", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    await withProxy(["granted.test:GRANTED"], async ({ socketPath, canary, proxy }) => {
      for (const host of ["a.test", "b.test", "c.test"]) {
        await exchange(socketPath, `CONNECT ${host}:${canary.port} HTTP/1.1\r\n\r\n`);
      }
      assert.deepEqual(proxy.refusals.map((r) => r.host), ["b.test", "c.test"]);
      const last = proxy.refusals[1];
      assert.equal(last.port, canary.port);
      assert.ok(!Number.isNaN(Date.parse(last.at)));
      assert.equal(
        last.reason,
        `c.test:${canary.port} is not granted in the manifest's net permissions`,
      );
    }, { maxRefusals: 2, onRefusal: undefined });
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^mcp-run egress: refused a\.test:\d+: a\.test:\d+ is not granted/);
  assert.ok(lines.every((line) => !line.includes("\n")));
});

Deno.test("startEgressProxy() writes at most 100 refusal lines, then says the rest are not shown", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    await withProxy(["granted.test:GRANTED"], async ({ socketPath, canary, proxy }) => {
      for (let i = 0; i < 105; i++) {
        await exchange(socketPath, `CONNECT n${i}.test:${canary.port} HTTP/1.1\r\n\r\n`);
      }
      assert.equal(proxy.refusals.at(-1)?.host, "n104.test", "every refusal is still kept");
      assert.equal(canary.connections, 0);
    }, { onRefusal: undefined });
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 101);
  assert.match(lines[99], /refused n99\.test/);
  assert.equal(lines[100], "mcp-run egress: 100 refusals shown; further ones are not");
});

Deno.test("startEgressProxy() matches grants as --allow-net does: wildcards, ranges, ports", async () => {
  await withProxy(
    ["*.granted.test:GRANTED", "127.0.0.0/30"],
    async ({ socketPath, granted, canary }) => {
      for (const host of ["granted.test", "a.granted.test", "b.a.granted.test", "127.0.0.1"]) {
        const response = await exchange(
          socketPath,
          `CONNECT ${host}:${granted.port} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n`,
        );
        assert.equal(status(response), 200, host);
      }
      for (const host of ["xgranted.test", "127.0.0.4", "granted.test.evil"]) {
        const response = await exchange(
          socketPath,
          `CONNECT ${host}:${granted.port} HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n`,
        );
        assert.equal(status(response), 403, host);
      }
      assert.equal(granted.connections, 4);
      assert.equal(canary.connections, 0);
    },
    { names: { "a.granted.test": ["127.0.0.1"], "b.a.granted.test": ["127.0.0.1"] } },
  );
});

Deno.test("startEgressProxy() bounds connections and closes idle ones; close() ends tunnels and removes the socket", async () => {
  await withProxy(["granted.test", "127.0.0.1"], async ({ socketPath, granted, proxy }) => {
    const held = await Deno.connect({ transport: "unix", path: socketPath });
    await held.write(enc.encode(`CONNECT granted.test:${granted.port} HTTP/1.1\r\n\r\n`));
    const buf = new Uint8Array(1024);
    assert.match(dec.decode(buf.subarray(0, (await held.read(buf))!)), /^HTTP\/1\.1 200/);
    const start = Date.now();
    const silent = await Deno.connect({ transport: "unix", path: socketPath });
    assert.equal(
      status(await exchange(socketPath, "CONNECT granted.test:1 HTTP/1.1\r\n\r\n")),
      503,
    );
    assert.equal(await silent.read(buf), null); // closed by the head timeout (300 ms)
    assert.ok(Date.now() - start < 3000);
    silent.close();
    await proxy.close();
    assert.equal(await held.read(buf).catch(() => null), null);
    held.close();
    assert.throws(() => Deno.lstatSync(socketPath), Deno.errors.NotFound);
  }, { maxConnections: 2, headerTimeoutMs: 300 });
});

Deno.test("startEgressProxy() carries one plain request per connection: a pipelined second one goes nowhere", async () => {
  await withProxy(
    ["granted.test", "127.0.0.1:GRANTED"],
    async ({ socketPath, granted, canary }) => {
      const g = `granted.test:${granted.port}`;
      const e = `evil.test:${canary.port}`;
      const response = await exchange(
        socketPath,
        `POST http://${g}/ HTTP/1.1\r\nHost: ${g}\r\nContent-Length: 4\r\n\r\nbody` +
          `GET http://${e}/ HTTP/1.1\r\nHost: ${e}\r\n\r\n` +
          `GET /smuggled HTTP/1.1\r\nHost: ${e}\r\n\r\n`,
      );
      assert.equal(status(response), 200);
      assert.equal(response.match(/HTTP\/1\.1/g)?.length, 1);
      assert.equal(granted.connections, 1);
      assert.ok(granted.heads[0].endsWith("\r\n\r\nbody"), granted.heads[0]);
      assert.doesNotMatch(granted.heads[0], /evil|smuggled/);
      assert.equal(canary.connections, 0);
    },
  );
});
