import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { DEPLOY_MAX_SESSIONS, deployLimits, serveArgs } from "./deploy_options.ts";
import { egressTargets, isLoopbackHost } from "./_egress.ts";

Deno.test("serveArgs() passes parameters and serve options in a fixed order", () => {
  const server = serverFixture({ name: "memory", params: { z: ["1"], a: ["x", "y"] } });
  assert.deepEqual(
    serveArgs(server, {
      host: "0.0.0.0",
      port: 9000,
      allowedHosts: ["mcp.example.com"],
      allowedOrigins: ["https://claude.ai"],
      trustProxy: ["10.0.0.0/8"],
      sessionMode: "shared",
    }, ["--token-file", "/run/secrets/token"]),
    [
      "serve",
      "memory",
      "-p",
      "a=x",
      "-p",
      "a=y",
      "-p",
      "z=1",
      "--host",
      "0.0.0.0",
      "--port",
      "9000",
      "--allowed-host",
      "mcp.example.com",
      "--allowed-origin",
      "https://claude.ai",
      "--trust-proxy",
      "10.0.0.0/8",
      "--session-mode",
      "shared",
      // A deployment's own default: its limits are sized for it.
      "--max-sessions",
      "4",
      "--token-file",
      "/run/secrets/token",
    ],
  );
});

Deno.test("serveArgs() refuses ports, names and values that are not plain", () => {
  for (const port of [0, 65536, 1.5]) {
    assert.throws(() => serveArgs(serverFixture(), { port }), RangeError);
  }
  assert.throws(() => serveArgs(serverFixture({ name: "-x" }), {}), RangeError);
  assert.throws(() => serveArgs(serverFixture({ params: { "a b": ["1"] } }), {}), RangeError);
  assert.throws(() => serveArgs(serverFixture({ params: { a: ["1\n2"] } }), {}), RangeError);
  assert.throws(() => serveArgs(serverFixture(), { host: "-h" }), RangeError);
});

Deno.test("egressTargets() keeps literal addresses and maps names through vouched ones", () => {
  const server = serverFixture({
    net: ["1.2.3.4:80", "10.0.0.0/24", "[2001:db8::1]:443", "api.github.com:443", "x.example"],
  });
  assert.deepEqual(egressTargets(server, { "api.github.com": ["140.82.112.0/20"] }), [
    { grant: "1.2.3.4:80", addresses: ["1.2.3.4"], byName: false, port: 80 },
    { grant: "10.0.0.0/24", addresses: ["10.0.0.0/24"], byName: false },
    { grant: "[2001:db8::1]:443", addresses: ["2001:db8::1"], byName: false, port: 443 },
    { grant: "api.github.com:443", addresses: ["140.82.112.0/20"], byName: true, port: 443 },
    { grant: "x.example", addresses: [], byName: true },
  ]);
  assert.throws(
    () => egressTargets(server, { "x.example": ["any; rm"] }),
    RangeError,
  );
});

Deno.test("isLoopbackHost() accepts only loopback addresses", () => {
  for (const host of ["localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of ["0.0.0.0", "128.0.0.1", "::", "127.0.0.256", "localhost.evil"]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
});

Deno.test("serveArgs() passes the limits, excluded tools and the audit log in the state folder", () => {
  const args = serveArgs(
    serverFixture({ name: "time" }),
    {
      excludeTools: ["danger"],
      maxSessions: 8,
      rateLimit: 120,
      idleTimeout: 600,
      requestTimeout: 30,
      audit: "audit.jsonl",
    },
    [],
    "/var/lib/mcp-run-time",
  );
  assert.deepEqual(args.slice(args.indexOf("--exclude-tools")), [
    ...["--exclude-tools", "danger", "--max-sessions", "8", "--rate-limit", "120"],
    ...["--idle-timeout", "600", "--request-timeout", "30"],
    ...["--audit", "/var/lib/mcp-run-time/audit.jsonl"],
  ]);
  assert.throws(() => serveArgs(serverFixture(), { audit: "../etc/x" }), /give a file name/);
  assert.throws(() => serveArgs(serverFixture(), { maxSessions: 0 }), /positive number/);
});

Deno.test("deployLimits() sizes a service for every session's process and serve itself", () => {
  assert.deepEqual(deployLimits(), deployLimits(DEPLOY_MAX_SESSIONS));
  assert.deepEqual(deployLimits(4), { memoryMb: 5 * 1024, tasks: 5 * 256 });
  assert.deepEqual(deployLimits(1), { memoryMb: 2048, tasks: 512 });
  assert.throws(() => deployLimits(0), /give --max-sessions a whole number from 1/);
  assert.deepEqual(serveArgs(serverFixture({ name: "t" }), { maxSessions: 2 }).slice(-2), [
    "--max-sessions",
    "2",
  ]);
});
