/**
 * Security proof, gVisor and the network: the malicious `pypi:` fixture under the gVisor
 * sandbox, with the launcher (and so its egress proxy) inside the fake internet of
 * tests/fake_internet.ts, makes every attempt of tests/_container_net_plan.ts (the attack set the
 * docker sandbox's sidecar is held to): the granted host over HTTP, HTTPS and CONNECT (positive
 * controls), an ungranted host, IP literals in every spelling of loopback, granted names that
 * resolve to loopback or a private address, Host-header tricks, redirects, and connections that
 * ignore the proxy. The canaries are a loopback listener in the launcher's namespace and the fake
 * API's request log; the canary's own positive control shows it counts.
 *
 * Needs root (the namespace) and the engine's `runsc` runtime; in CI (CI=true) either missing
 * fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import type { DriverConfig } from "./_container_net_driver.ts";
import { ATTEMPTS, CANARY_PORT, HOST_TRICKS, HOSTS, NET } from "./_container_net_plan.ts";
import { evilServer, pullEvil, type Report } from "./_evil_container.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { tempDir } from "./_helpers.ts";
import { runDriver } from "./_net_driver_run.ts";
import { removeOnExit } from "./_security.ts";
import { makeTestCertificates, PRIVATE_ADDRESS } from "./fake_internet.ts";

const NAME = "gvisor-evil-net";

const problem = await gvisorProblem("gvisor_egress_private_test.ts: skipping", {
  python: true,
  root: true,
});
const base = { ignore: problem !== undefined, sanitizeResources: false, sanitizeOps: false };

/** The containers the driver left behind (removed again), once it ended. */
let driverLeft: string[] | undefined;

let attack:
  | Promise<{
    reports: Record<string, Report>;
    canary: number;
    canaryControl: number;
    stderr: string;
    requests: { host: string; path: string; address: string }[];
  }>
  | undefined;

/** Pulls the fixture and runs the driver in the fake internet, once for the file. */
function attackOnce(): NonNullable<typeof attack> {
  attack ??= (async () => {
    const dir = removeOnExit(tempDir("mcp-run-gvisor-net-"));
    const cache = join(dir, "cache");
    await pullEvil(evilServer({ name: NAME, net: NET }, cache), cache);
    const certificates = await makeTestCertificates(dir, Object.keys(HOSTS));
    const config: DriverConfig = {
      cache,
      name: NAME,
      net: NET,
      isolation: "gvisor",
      canaryPort: CANARY_PORT,
      attempts: ATTEMPTS,
    };
    const run = await runDriver("_container_net_driver.ts", config, {
      dir,
      certificates,
      timeoutMs: 200_000,
      server: NAME,
    });
    driverLeft = run.left;
    assert.equal(
      run.timedOut,
      false,
      `${run.stderr}\nthe driver timed out; its containers were removed: ${driverLeft}`,
    );
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    return { ...out, stderr: run.stderr, requests: run.requests };
  })();
  return attack;
}

type Attack = Awaited<NonNullable<typeof attack>>;

/** A test of the attack set; it also fails if the driver left a container behind. */
function attackTest(name: string, fn: (attack: Attack) => void): void {
  Deno.test({
    ...base,
    name,
    fn: async () => {
      const result = await attackOnce();
      assert.deepEqual(driverLeft, [], "the driver left containers behind (now removed)");
      assert.deepEqual(await listContainers({ "mcp-run.server": NAME }), [], "containers left");
      fn(result);
    },
  });
}

function refused(report: Report, what: string): void {
  assert.equal(report.ok, false, `${what} got through: ${JSON.stringify(report)}`);
}

attackTest(
  "GvisorSandbox's egress proxy lets a pypi: server reach exactly its granted host",
  ({ reports: r, requests }) => {
    assert.equal(r["control.fetch"].status, 200, JSON.stringify(r["control.fetch"]));
    assert.match(r["control.fetch"].body, /"granted"/);
    assert.equal(r["control.https"].status, 200, JSON.stringify(r["control.https"]));
    assert.equal(r["control.connect"].status, 200, JSON.stringify(r["control.connect"]));
    assert.equal(r["control.get"].status, 200, JSON.stringify(r["control.get"]));
    assert.equal(r["control.redirect"].final_url, "http://granted.test/ok");
    assert.ok(requests.filter((q) => q.host.startsWith("granted.test")).length >= 4);
  },
);

attackTest(
  "GvisorSandbox's egress proxy refuses IP literals and granted names that resolve to loopback or private addresses",
  ({ reports: r, requests, canary, canaryControl, stderr }) => {
    const labels = [
      "ungranted.fetch",
      "ungranted.connect",
      "ungranted.port",
      "literal.private",
      ...["loopback", "public", "get", "zero", "decimal", "short", "ipv6", "mapped"]
        .map((l) => `literal.${l}`),
      "name.loopback",
      "name.loopbackGet",
      "name.private",
      "name.privateFetch",
      "redirect.evil",
      "redirect.private",
      "redirect.loopback",
    ];
    for (const label of labels) {
      refused(r[label], label);
      assert.equal(r[label].status, 403, `${label}: ${JSON.stringify(r[label])}`);
    }
    for (const name of ["loop", "zero", "mapped", "inside"]) {
      assert.match(
        stderr,
        new RegExp(
          `^mcp-run egress: refused ${name}\\.test:\\d+: ${name}\\.test resolves to \\S+: ` +
            ".*a private or loopback address$",
          "m",
        ),
      );
    }
    assert.equal(canary, 0, "the loopback canary was reached");
    assert.equal(canaryControl, 1);
    assert.deepEqual(requests.filter((q) => q.address === PRIVATE_ADDRESS), []);
    assert.deepEqual(requests.filter((q) => q.host.startsWith("evil.test")), []);
  },
);

attackTest(
  "GvisorSandbox refuses Host-header tricks and gives a pypi: server no route around the proxy",
  ({ reports: r, requests, canary }) => {
    for (const label of HOST_TRICKS) {
      refused(r[label], label);
      assert.ok(r[label].status >= 400, `${label}: ${JSON.stringify(r[label])}`);
    }
    assert.ok(!requests.some((q) => q.path === "/smuggled"), JSON.stringify(requests));
    for (const label of ["direct.public", "direct.private", "direct.loopback", "direct.resolve"]) {
      refused(r[label], label);
    }
    // gVisor's own loopback: the forwarder's port is there, the launcher's canary is not.
    assert.equal(r["direct.loopback"].errno, "ECONNREFUSED");
    assert.match(r["direct.resolve"].errno, /^EAI_/);
    assert.equal(canary, 0);
  },
);
