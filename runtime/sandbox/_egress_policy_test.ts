import assert from "node:assert/strict";
import { addressRefusal, egressPolicy, grantFor, parseTarget } from "./_egress_policy.ts";
import { denyNetList, parseNetGrant } from "../policy/net_policy.ts";

Deno.test("parseTarget() reads names and addresses strictly and refuses numeric shortcuts", () => {
  const ok: [string, number | undefined, string, number, string][] = [
    ["Example.COM:443", undefined, "example.com", 443, "name"],
    ["example.com", 80, "example.com", 80, "name"],
    ["10.0.0.1:8080", undefined, "10.0.0.1", 8080, "ipv4"],
    ["[::1]:80", undefined, "[0:0:0:0:0:0:0:1]", 80, "ipv6"],
    ["[::ffff:7f00:1]:80", undefined, "[::ffff:127.0.0.1]", 80, "ipv6"],
  ];
  for (const [text, port, host, wantPort, kind] of ok) {
    assert.deepEqual(parseTarget(text, port), { host, port: wantPort, kind }, text);
  }
  const refused = [
    "example.com", // CONNECT needs a port
    "example.com:0",
    "example.com:65536",
    "example.com:+443",
    "example.com: 443",
    "127.1:80",
    "2130706433:80",
    "0x7f000001:80",
    "0177.0.0.1:80",
    "1.2.3.4.5:80",
    "a.0x10:80",
    "[::1:80",
    "[::1]x:80",
    "[zz::1]:80",
    "exa mple.com:80",
    "exa_mple.com:80",
    "-x.com:80",
    "%65vil.com:80",
    "evil.com.:80",
    ":80",
  ];
  for (const text of refused) assert.equal(typeof parseTarget(text), "string", text);
});

Deno.test("grantFor() matches grants as Deno's --allow-net does", () => {
  const policy = egressPolicy(
    ["api.example.com:443", "*.cdn.example", "10.0.0.0/24", "192.0.2.7:8080", "[2001:db8::1]"],
    [],
  );
  const allowed = [
    "api.example.com:443",
    "API.example.com:443",
    "cdn.example:1",
    "a.cdn.example:443",
    "a.b.cdn.example:80",
    "10.0.0.255:5432",
    "192.0.2.7:8080",
    "[2001:db8:0::1]:443",
  ];
  for (const text of allowed) {
    const target = parseTarget(text);
    assert.ok(typeof target !== "string" && grantFor(policy, target), text);
  }
  const refused = [
    "api.example.com:80",
    "example.com:443",
    "evil-api.example.com:443",
    "xcdn.example:443",
    "cdn.example.evil:443",
    "10.0.1.0:5432",
    "192.0.2.7:8081",
    "[2001:db8::2]:443",
    "[::ffff:10.0.0.1]:443",
  ];
  for (const text of refused) {
    const target = parseTarget(text);
    assert.ok(typeof target !== "string" && !grantFor(policy, target), text);
  }
});

Deno.test("addressRefusal() refuses private addresses after resolution unless granted explicitly", () => {
  const plain = egressPolicy(["api.example.com"], denyNetList([]));
  const refused = [
    "127.0.0.1",
    "10.1.2.3",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "::ffff:127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "fd00::1",
    "fe80::1",
  ];
  for (const address of refused) assert.ok(addressRefusal(plain, address, 443), address);
  for (const address of ["93.184.215.14", "2606:2800:220:1::1"]) {
    assert.equal(addressRefusal(plain, address, 443), undefined, address);
  }
  // Positive control: the address granted explicitly (on its port) is reachable by name too.
  const grants = ["db.local", "127.0.0.1:5432", "10.0.0.0/8", "[fd00::1]"];
  const explicit = egressPolicy(
    grants,
    denyNetList(grants.map(parseNetGrant).filter((g) => g.kind !== "name")),
  );
  assert.equal(addressRefusal(explicit, "127.0.0.1", 5432), undefined);
  assert.ok(addressRefusal(explicit, "127.0.0.2", 5432));
  assert.equal(addressRefusal(explicit, "10.9.9.9", 443), undefined);
  assert.equal(addressRefusal(explicit, "fd00::1", 443), undefined);
  assert.ok(addressRefusal(explicit, "fd00::2", 443));
});
