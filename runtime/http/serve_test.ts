import assert from "node:assert/strict";
import {
  checkBindAddress,
  defaultAllowedHosts,
  isLoopbackAddress,
  serveHttpBridge,
} from "./serve.ts";

const neverConnect = () => Promise.reject(new Error("no server in this test"));

Deno.test("isLoopbackAddress() recognises loopback binds only", () => {
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["0.0.0.0", false],
    ["::", false],
    ["192.168.1.2", false],
    ["127.0.0.256", false],
    ["127.0.0.1.evil", false],
    ["::ffff:127.0.0.1", false],
  ];
  for (const [host, expected] of cases) assert.equal(isLoopbackAddress(host), expected, host);
});

Deno.test("checkBindAddress() refuses a non-loopback bind without authentication unless public", () => {
  checkBindAddress("127.0.0.1", false);
  checkBindAddress("0.0.0.0", true);
  checkBindAddress("0.0.0.0", false, { public: true });
  assert.throws(() => checkBindAddress("0.0.0.0", false), RangeError);
  assert.throws(() => checkBindAddress("0.0.0.0", false, { public: false }), RangeError);
  assert.throws(() => checkBindAddress("::", false), RangeError);
  assert.throws(
    () => checkBindAddress("192.168.1.2", false),
    /without authentication: pass --auth oauth with --public-url, or a bearer token/,
  );
});

Deno.test("defaultAllowedHosts() lists loopback names and a specific bound address", () => {
  assert.deepEqual(defaultAllowedHosts("127.0.0.1", 9), ["localhost:9", "127.0.0.1:9", "[::1]:9"]);
  assert.deepEqual(defaultAllowedHosts("0.0.0.0", 9), ["localhost:9", "127.0.0.1:9", "[::1]:9"]);
  assert.deepEqual(defaultAllowedHosts("192.0.2.7", 9).at(-1), "192.0.2.7:9");
  assert.deepEqual(defaultAllowedHosts("2001:db8::1", 9).at(-1), "[2001:db8::1]:9");
});

Deno.test("serveHttpBridge() refuses bad connection limits and proxies before binding", async () => {
  const bad = [
    { headersTimeoutMs: 0 },
    { maxConnections: -1 },
    { maxConnectionsPerClient: NaN },
  ];
  for (const options of bad) {
    await assert.rejects(
      () => serveHttpBridge({ connect: neverConnect, ...options }),
      (error: Error) => error instanceof RangeError && /must be positive/.test(error.message),
      JSON.stringify(options),
    );
  }
  await assert.rejects(
    () => serveHttpBridge({ connect: neverConnect, trustProxy: ["proxy.example"] }),
    (error: Error) => error instanceof TypeError && /"proxy\.example"/.test(error.message),
  );
});

Deno.test("serveHttpBridge() names the port that is already in use", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (taken.addr as Deno.NetAddr).port;
    await assert.rejects(
      () => serveHttpBridge({ connect: neverConnect, port }),
      (error: Error) =>
        error instanceof Deno.errors.AddrInUse && error.cause !== undefined &&
        error.message ===
          `Cannot listen on port ${port} of "127.0.0.1": the port is already in use`,
    );
  } finally {
    taken.close();
  }
});
