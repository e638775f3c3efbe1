import assert from "node:assert/strict";
import {
  denyNetList,
  isPrivateGrant,
  parseIpv4,
  parseIpv6,
  parseNetGrant,
  PRIVATE_IPV4_RANGES,
} from "./net_policy.ts";

Deno.test("parseNetGrant() parses names, ports, wildcards, addresses and ranges", () => {
  assert.deepEqual(parseNetGrant("API.GitHub.com"), { host: "api.github.com", kind: "name" });
  assert.deepEqual(parseNetGrant("api.github.com:443"), {
    host: "api.github.com",
    port: 443,
    kind: "name",
  });
  assert.deepEqual(parseNetGrant("*.slack.com"), { host: "*.slack.com", kind: "wildcard" });
  assert.deepEqual(parseNetGrant("1.2.3.4:80"), { host: "1.2.3.4", port: 80, kind: "ipv4" });
  assert.deepEqual(parseNetGrant("10.0.0.0/24"), { host: "10.0.0.0/24", kind: "cidr" });
  assert.deepEqual(parseNetGrant("[::1]:5432"), { host: "[::1]", port: 5432, kind: "ipv6" });
});

const refused: [string, RegExp][] = [
  ["https://api.github.com", /not a URL/],
  ["a.com,b.com", /not a URL or a list/],
  ["127.1", /short forms/],
  ["2130706433", /short forms/],
  ["0x7f.0.0.1", /ending in a number/],
  ["evil.0x7f", /ending in a number/],
  ["999.1.1.1", /four parts/],
  ["0.0.0.0/0", /whole address space/],
  ["host:0", /port from 1/],
  ["host:70000", /port from 1/],
  ["host:http", /port from 1/],
  ["[::ffff:127.0.0.1]", /IPv4-mapped/],
  ["[::1", /closing/],
  ["*", /valid host name/],
  ["*.com", /valid host name/],
  ["exa mple.com", /not a URL or a list/],
  ["", /valid host name/],
];
for (const [entry, pattern] of refused) {
  Deno.test(`parseNetGrant() refuses "${entry}"`, () => {
    assert.throws(
      () => parseNetGrant(entry),
      (e: Error) => e instanceof TypeError && pattern.test(e.message),
    );
  });
}

Deno.test("parseIpv4() accepts only dotted quads", () => {
  assert.equal(parseIpv4("127.0.0.1"), 0x7f000001);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["127.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "a.b.c.d", "256.0.0.1"]) {
    assert.equal(parseIpv4(bad), undefined, bad);
  }
});

Deno.test("isPrivateGrant() flags loopback, private, link-local and localhost", () => {
  for (
    const e of [
      "127.0.0.1",
      "10.1.2.3:5432",
      "169.254.169.254",
      "192.168.0.0/16",
      "localhost",
      "[::1]",
      "0.0.0.0",
      "100.64.0.1",
      "172.20.0.1",
    ]
  ) {
    assert.equal(isPrivateGrant(parseNetGrant(e)), true, e);
  }
  for (const e of ["8.8.8.8", "api.github.com", "172.32.0.1", "[2001:db8::1]", "*.example.com"]) {
    assert.equal(isPrivateGrant(parseNetGrant(e)), false, e);
  }
});

Deno.test("denyNetList() denies every private range and [::1] by default", () => {
  const deny = denyNetList([]);
  for (const range of PRIVATE_IPV4_RANGES) assert.ok(deny.includes(range), range);
  assert.ok(deny.includes("[::1]"));
  assert.ok(deny.includes("[::]"));
});

function covered(deny: string[], ip: string): boolean {
  const value = parseIpv4(ip)!;
  return deny.some((entry) => {
    if (entry.startsWith("[")) return false;
    const [addr, bits] = entry.split("/");
    const size = 2 ** (32 - Number(bits));
    const start = parseIpv4(addr)!;
    return value >= start && value < start + size;
  });
}

Deno.test("denyNetList() cuts out exactly the user-granted address", () => {
  const deny = denyNetList([parseNetGrant("127.0.0.1:5432")]);
  assert.equal(covered(deny, "127.0.0.1"), false);
  for (const ip of ["127.0.0.0", "127.0.0.2", "127.255.255.255", "10.0.0.1", "169.254.169.254"]) {
    assert.equal(covered(deny, ip), true, ip);
  }
  assert.ok(deny.includes("[::1]"));
});

Deno.test("denyNetList() cuts out a granted range and localhost", () => {
  const deny = denyNetList([parseNetGrant("10.0.5.0/24"), parseNetGrant("localhost:8080")]);
  assert.equal(covered(deny, "10.0.5.77"), false);
  assert.equal(covered(deny, "10.0.6.1"), true);
  assert.equal(covered(deny, "127.0.0.1"), false);
  assert.equal(covered(deny, "127.0.0.2"), true);
  assert.ok(!deny.includes("[::1]"));
  assert.ok(deny.includes("[::]"));
});

Deno.test("denyNetList() is deterministic", () => {
  const a = denyNetList([parseNetGrant("192.168.1.10"), parseNetGrant("10.0.0.1")]);
  const b = denyNetList([parseNetGrant("10.0.0.1"), parseNetGrant("192.168.1.10")]);
  assert.deepEqual(a, b);
});

Deno.test("parseIpv6() reads every written form of an IPv6 address", () => {
  const cases: [string, number[] | undefined][] = [
    ["::", [0, 0, 0, 0, 0, 0, 0, 0]],
    ["::1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["0:0:0:0:0:0:0:1", [0, 0, 0, 0, 0, 0, 0, 1]],
    ["::ffff:127.0.0.1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ["::ffff:7f00:1", [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]],
    ["64:ff9b::10.0.0.1", [0x64, 0xff9b, 0, 0, 0, 0, 0x0a00, 1]],
    ["fd00::2", [0xfd00, 0, 0, 0, 0, 0, 0, 2]],
    ["2001:db8::1:0:0:1", [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]],
    [":::", undefined],
    ["1::2::3", undefined],
    ["1:2:3:4:5:6:7:8:9", undefined],
    ["12345::", undefined],
    ["::ffff:256.0.0.1", undefined],
    ["127.0.0.1", undefined],
    ["fe80::1%eth0", undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseIpv6(text), want, text);
});

Deno.test("isPrivateGrant() treats every spelling of loopback and local IPv6 as private", () => {
  for (const entry of ["[::1]", "[0:0:0:0:0:0:0:1]", "[::]", "[fd00::5]", "[fe80::1]:80"]) {
    assert.equal(isPrivateGrant(parseNetGrant(entry)), true, entry);
  }
  assert.equal(isPrivateGrant(parseNetGrant("[2001:db8::1]")), false);
});
