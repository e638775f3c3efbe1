import assert from "node:assert/strict";
import {
  compileHostCheck,
  compileOriginCheck,
  corsHeaders,
  loopbackHosts,
} from "./_host_origin.ts";

Deno.test("compileHostCheck() accepts only listed hosts", () => {
  const check = compileHostCheck([...loopbackHosts(8080), "mcp.example.com"]);
  const cases: [string | null, boolean][] = [
    ["localhost:8080", true],
    ["LOCALHOST:8080", true],
    ["127.0.0.1:8080", true],
    ["[::1]:8080", true],
    ["mcp.example.com", true],
    ["mcp.example.com:443", true], // listed without a port: any port
    ["localhost:8081", false], // listed with a port: only that port
    ["127.0.0.1", false],
    ["evil.example.com", false],
    ["evil.example.com:8080", false],
    ["localhost.evil.example.com:8080", false],
    ["mcp.example.com.evil.example:80", false],
    ["localhost:8080@evil.example.com", false],
    ["localhost:8080/x", false],
    ["", false],
    [null, false],
  ];
  for (const [host, expected] of cases) assert.equal(check(host), expected, String(host));
});

Deno.test("compileHostCheck() refuses wildcards and malformed entries", () => {
  assert.throws(() => compileHostCheck(["*"]), TypeError);
  assert.throws(() => compileHostCheck(["*.example.com"]), TypeError);
  assert.throws(() => compileHostCheck(["http://example.com/"]), TypeError);
  assert.throws(() => compileHostCheck(["a b"]), TypeError);
});

Deno.test("compileOriginCheck() accepts no Origin and listed origins only", () => {
  const check = compileOriginCheck(["https://app.example.com", "http://localhost:3000"]);
  const cases: [string | null, boolean][] = [
    [null, true],
    ["https://app.example.com", true],
    ["https://APP.example.com", true],
    ["https://app.example.com:443", true],
    ["http://localhost:3000", true],
    ["http://app.example.com", false],
    ["https://app.example.com.evil.example", false],
    ["https://evil.example", false],
    ["http://localhost:3001", false],
    ["null", false],
    ["", false],
    ["file://", false],
  ];
  for (const [origin, expected] of cases) assert.equal(check(origin), expected, String(origin));
});

Deno.test("compileOriginCheck() refuses wildcards and non-origins", () => {
  assert.throws(() => compileOriginCheck(["*"]), TypeError);
  assert.throws(() => compileOriginCheck(["https://*.example.com"]), TypeError);
  assert.throws(() => compileOriginCheck(["https://example.com/path"]), TypeError);
  assert.throws(() => compileOriginCheck(["ftp://example.com"]), TypeError);
  assert.throws(() => compileOriginCheck(["example.com"]), TypeError);
});

Deno.test("corsHeaders() echoes one origin, never a wildcard", () => {
  const simple = corsHeaders("https://app.example.com", false);
  assert.equal(simple["Access-Control-Allow-Origin"], "https://app.example.com");
  assert.equal(simple["Vary"], "Origin");
  assert.match(simple["Access-Control-Expose-Headers"], /Mcp-Session-Id/);
  assert.equal(simple["Access-Control-Allow-Methods"], undefined);
  const preflight = corsHeaders("https://app.example.com", true);
  assert.match(preflight["Access-Control-Allow-Headers"], /Authorization/);
  assert.ok(!Object.values(preflight).includes("*"));
});
