import assert from "node:assert/strict";
import { serverFixture } from "./_server_fixture.ts";
import { checkHostAddresses, privateAddressReason } from "./net_preflight.ts";
import { denyNetList, parseNetGrant } from "./net_policy.ts";
import { GrantError, type ResolvedServer } from "./resolve.ts";

const server = (net: string[], userPrivate: string[] = []): ResolvedServer =>
  serverFixture({ name: "t", net, denyNet: denyNetList(userPrivate.map(parseNetGrant)) });

Deno.test("privateAddressReason() refuses private addresses in every form", () => {
  const s = server(["api.example.com"]);
  for (
    const address of [
      "127.0.0.1",
      "127.9.9.9",
      "10.1.2.3",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:169.254.169.254",
      "::127.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "fd00::2",
      "fe80::1%eth0",
    ]
  ) {
    assert.ok(privateAddressReason(address, s), address);
  }
  for (const address of ["93.184.215.14", "2606:2800:220:1::1", "::ffff:93.184.215.14"]) {
    assert.equal(privateAddressReason(address, s), undefined, address);
  }
});

Deno.test("privateAddressReason() lets through exactly the addresses the user granted", () => {
  const s = server(["db.test:5432", "127.0.0.1:5432", "[fd00::2]:80"], [
    "127.0.0.1:5432",
    "[fd00::2]:80",
  ]);
  assert.equal(privateAddressReason("127.0.0.1", s), undefined);
  assert.equal(privateAddressReason("::ffff:127.0.0.1", s), undefined);
  assert.equal(privateAddressReason("fd00::2", s), undefined);
  assert.ok(privateAddressReason("127.0.0.2", s));
  assert.ok(privateAddressReason("::ffff:127.0.0.2", s));
  assert.ok(privateAddressReason("fd00::3", s));
  assert.ok(privateAddressReason("::1", s));
});

Deno.test("checkHostAddresses() refuses a granted name that resolves to a private address", async () => {
  const answers: Record<string, string[]> = {
    "public.test": ["93.184.215.14"],
    "mapped.test": ["93.184.215.14", "::ffff:127.0.0.1"],
  };
  const lookup = (host: string) => Promise.resolve(answers[host] ?? []);
  await checkHostAddresses(server(["public.test:443", "*.example.com"]), { lookup });
  await assert.rejects(
    () => checkHostAddresses(server(["public.test", "mapped.test:80"]), { lookup }),
    (e: Error) =>
      e instanceof GrantError &&
      /"mapped\.test": it resolves to ::ffff:127\.0\.0\.1/.test(e.message),
  );
});

Deno.test("checkHostAddresses() skips names that fail or time out, and never resolves localhost", async () => {
  const asked: string[] = [];
  const lookup = (host: string) => {
    asked.push(host);
    if (host === "slow.test") return new Promise<string[]>(() => {});
    return Promise.reject(new Error("ENOTFOUND"));
  };
  await checkHostAddresses(server(["gone.test", "slow.test", "localhost:80"], ["localhost:80"]), {
    lookup,
    timeoutMs: 50,
  });
  assert.deepEqual(asked.sort(), ["gone.test", "slow.test"]);
});
