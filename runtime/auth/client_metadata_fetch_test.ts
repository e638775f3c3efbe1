// Refusals of the SSRF-safe fetch. No test sends traffic beyond loopback: names resolve through
// an injected resolver, refused addresses are never connected to.
import assert from "node:assert/strict";
import { fetchClientMetadata, isPublicAddress } from "./client_metadata_fetch.ts";

Deno.test("isPublicAddress() refuses every non-public range, v4, v6 and mapped", () => {
  const refused = [
    "0.0.0.0",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254", // cloud metadata
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "::127.0.0.1", // IPv4-compatible (deprecated)
    "64:ff9b::a00:1", // NAT64 of 10.0.0.1
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "2001::1", // Teredo
    "2002:7f00:1::1", // 6to4
    "100::1",
    "3fff::1",
    "not an address",
    "01.2.3.4",
    "1.2.3",
    "1::2::3",
  ];
  for (const a of refused) assert.equal(isPublicAddress(a), false, a);
  const allowed = [
    "1.1.1.1",
    "8.8.8.8",
    "172.32.0.1",
    "100.128.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:1.1.1.1",
    "64:ff9b::101:101", // NAT64 of 1.1.1.1
  ];
  for (const a of allowed) assert.equal(isPublicAddress(a), true, a);
});

Deno.test("fetchClientMetadata() refuses http, private literals and names resolving to private addresses", async () => {
  const noConnect = () => Promise.reject(new Error("must not resolve"));
  const cases: [string, RegExp, ((h: string) => Promise<string[]>)?][] = [
    ["http://client.example.com/meta.json", /must be https/],
    ["https://127.0.0.1/meta.json", /not a public address/],
    ["https://[::1]/meta.json", /not a public address/],
    ["https://[::ffff:127.0.0.1]/meta.json", /not a public address/],
    ["https://169.254.169.254/latest/meta-data", /not a public address/],
    ["https://0x7f.1/meta.json", /not a public address/], // the URL parser makes it 127.0.0.1
    ["https://localhost/meta.json", /not a public address/, () => Promise.resolve(["127.0.0.1"])],
    [
      "https://mixed.example.com/meta.json",
      /resolves to 10\.0\.0\.7/,
      () => Promise.resolve(["93.184.215.14", "10.0.0.7"]),
    ],
    [
      "https://v6.example.com/meta.json",
      /resolves to fd00::7/,
      () => Promise.resolve(["fd00::7"]),
    ],
    ["https://none.example.com/meta.json", /has no address/, () => Promise.resolve([])],
  ];
  for (const [url, message, resolve] of cases) {
    await assert.rejects(
      fetchClientMetadata(new URL(url), { resolve: resolve ?? noConnect }),
      message,
      url,
    );
  }
});
