import assert from "node:assert/strict";
import {
  clientAddress,
  clientKey,
  compileTrustedProxies,
  tooWideProxyRange,
} from "./_client_address.ts";

Deno.test("compileTrustedProxies() matches addresses and CIDR ranges exactly", () => {
  const trusted = compileTrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8", "::1"]);
  const cases: [string, boolean][] = [
    ["127.0.0.1", true],
    ["::ffff:127.0.0.1", true], // IPv4-mapped IPv6 is the IPv4 address
    ["127.0.0.2", false],
    ["10.255.0.1", true],
    ["11.0.0.1", false],
    ["fd12::5", true],
    ["fe80::1", false],
    ["::1", true],
    ["[::1]", true],
    // Forms that must never match by accident.
    ["127.1", false],
    ["0127.0.0.1", false],
    ["10.0.0.1.evil.example", false],
    ["", false],
    ["unknown", false],
  ];
  for (const [address, expected] of cases) assert.equal(trusted(address), expected, address);
  assert.equal(compileTrustedProxies([])("127.0.0.1"), false);
});

Deno.test("compileTrustedProxies() refuses entries that are not addresses or ranges", () => {
  const bad = ["", "localhost", "10.0.0.0/33", "10.0.0.0/8/8", "::/129", "*", "1.2.3", "1.2.3.4::"];
  for (const entry of bad) {
    assert.throws(
      () => compileTrustedProxies([entry]),
      (error: Error) => error instanceof TypeError && error.message.includes(`"${entry}"`),
      entry,
    );
  }
});

Deno.test("clientAddress() believes forwarding headers only from a trusted proxy", () => {
  const trusted = compileTrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
  const cases: [string, Record<string, string>, string][] = [
    // From the proxy: the right-most untrusted X-Forwarded-For entry.
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.9" }, "203.0.113.9"],
    ["127.0.0.1", { "x-forwarded-for": "198.51.100.1, 203.0.113.9" }, "203.0.113.9"],
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.9, 10.0.0.7" }, "203.0.113.9"],
    ["127.0.0.1", { "x-forwarded-for": "[2001:db8::1]:443" }, "2001:db8::1"],
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.9:5000" }, "203.0.113.9"],
    ["127.0.0.1", { "x-forwarded-for": "10.0.0.1, 10.0.0.7" }, "10.0.0.1"],
    // A spoofed entry left of the one the proxy appended is never used.
    ["127.0.0.1", { "x-forwarded-for": "1.1.1.1, 203.0.113.9" }, "203.0.113.9"],
    // Garbage where the client address should be: the proxy itself.
    ["127.0.0.1", { "x-forwarded-for": "203.0.113.9, not-an-ip" }, "127.0.0.1"],
    // Cloudflare's header when there is no X-Forwarded-For.
    ["127.0.0.1", { "cf-connecting-ip": "203.0.113.9" }, "203.0.113.9"],
    ["127.0.0.1", { "cf-connecting-ip": "nonsense" }, "127.0.0.1"],
    ["127.0.0.1", {}, "127.0.0.1"],
    // From anyone else: the headers are ignored.
    ["192.0.2.7", { "x-forwarded-for": "203.0.113.9" }, "192.0.2.7"],
    ["192.0.2.7", { "cf-connecting-ip": "203.0.113.9" }, "192.0.2.7"],
  ];
  for (const [peer, headers, expected] of cases) {
    assert.equal(
      clientAddress(peer, new Headers(headers), trusted),
      expected,
      `${peer} ${JSON.stringify(headers)}`,
    );
  }
});

Deno.test("clientKey() counts an IPv6 client per /64 and an IPv4-mapped one as IPv4", () => {
  assert.equal(clientKey("192.0.2.7"), "192.0.2.7");
  assert.equal(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(clientKey("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
  assert.notEqual(clientKey("2001:db8:1:3::1"), clientKey("2001:db8:1:2::1"));
  assert.equal(clientKey("unknown"), "unknown");
});

Deno.test("tooWideProxyRange() finds ranges wider than a /8 (IPv4) or /32 (IPv6)", () => {
  const fine = ["127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32", "fd00::/8", "fc00::/7", "x"];
  assert.equal(tooWideProxyRange(fine), undefined);
  for (const wide of ["0.0.0.0/0", "::/0", "10.0.0.0/7", "2001::/16", "::ffff:0.0.0.0/96"]) {
    assert.equal(tooWideProxyRange(["127.0.0.1", wide]), wide);
  }
});
