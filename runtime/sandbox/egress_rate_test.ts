import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { dockerLaunchPlan } from "./docker_launch.ts";
import { egressRatePlan, parseRate } from "./egress_rate.ts";

Deno.test("parseRate() reads bits and tc's bytes per second, and refuses the rest", () => {
  const cases: [string, number][] = [
    ["10mbit", 10_000_000],
    ["512kbit", 512_000],
    ["1gbit", 1_000_000_000],
    ["10M", 10_000_000],
    ["1.5mbit", 1_500_000],
    ["1mbps", 8_000_000],
    ["64kbps", 512_000],
  ];
  for (const [text, bits] of cases) assert.equal(parseRate(text), bits, text);
  for (const bad of ["", "fast", "-1mbit", "0", "1kbit", "10 tbit", "1e9", "10mbit; rm -rf /"]) {
    assert.throws(() => parseRate(bad), RangeError, bad);
  }
});

Deno.test("egressRatePlan() sets a token bucket on the namespace's interface", () => {
  assert.deepEqual(egressRatePlan(1234, { bitsPerSecond: 80_000_000 }), [[
    "nsenter",
    "--target",
    "1234",
    "--net",
    "--",
    "tc",
    "qdisc",
    "replace",
    "dev",
    "eth0",
    "root",
    "tbf",
    "rate",
    "80000000bit",
    "burst",
    "1000000",
    "latency",
    "400ms",
  ]]);
  const [small] = egressRatePlan(1234, { bitsPerSecond: 8000, device: "lo", latencyMs: 50 });
  assert.deepEqual(small.slice(-9), [
    "lo",
    "root",
    "tbf",
    "rate",
    "8000bit",
    "burst",
    "131072",
    "latency",
    "50ms",
  ]);
});

Deno.test("egressRatePlan() refuses values that are not plain", () => {
  for (const pid of [0, 1, -5, 1.5, NaN]) {
    assert.throws(() => egressRatePlan(pid, { bitsPerSecond: 8000 }), RangeError);
  }
  for (const device of ["", "eth0; reboot", "a".repeat(16), "-x"]) {
    assert.throws(
      () => egressRatePlan(99, { bitsPerSecond: 8000, device }),
      RangeError,
      device,
    );
  }
  assert.throws(() => egressRatePlan(99, { bitsPerSecond: 0 }), RangeError);
  assert.throws(() => egressRatePlan(99, { bitsPerSecond: 8000, burstBytes: 1.5 }), RangeError);
});

Deno.test("dockerLaunchPlan() carries the egress cap only for a server with network", () => {
  const options = { cacheRoot: "/c", source: {}, nameSuffix: "s1", egressRate: 8000, user: "1:1" };
  const networked = serverFixture({ name: "n", net: ["example.com:443"] });
  assert.equal(dockerLaunchPlan(networked, options).egressRate, 8000);
  assert.equal(dockerLaunchPlan(serverFixture({ name: "q" }), options).egressRate, undefined);
  assert.equal(
    dockerLaunchPlan(networked, { ...options, egressRate: undefined }).egressRate,
    undefined,
  );
  // The host's own interfaces are never shaped.
  assert.throws(
    () => dockerLaunchPlan(networked, { ...options, network: "host" }),
    /Cannot cap the egress of "n" on --network host/,
  );
});
