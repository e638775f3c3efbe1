/**
 * End to end under gVisor with the network: a network server (the malicious `pypi:` fixture,
 * granted `granted.test`) answers a real MCP SDK client under `mcp-run run --isolation gvisor`
 * and under `mcp-run serve --isolation gvisor`, reaching its API, faked in a network namespace
 * (tests/fake_internet.ts), through the egress proxy; the canary is an ungranted host of the
 * same fake API (`evil.test`), whose request log must never show it, and the positive control
 * the granted host's answer and its entry in that log. The server's one container runs under
 * the engine's `runsc` runtime, and none is left.
 *
 * Needs root (the namespace) and the engine's `runsc` runtime; in CI (CI=true) either missing
 * fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import type { GvisorE2eConfig } from "./gvisor_e2e_driver.ts";
import { HOSTS } from "./_container_net_plan.ts";
import { IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { EVIL_PACKAGE, evilServer, pullEvil, type Report } from "./_evil_container.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { tempDir } from "./_helpers.ts";
import { runDriver } from "./_net_driver_run.ts";
import { manifestText, removeOnExit } from "./_security.ts";
import { makeTestCertificates } from "./fake_internet.ts";

const NAME = "gvisor-e2e-net";
const NET = ["granted.test:80"];
const GRANTED = "http://granted.test/ok";
const CANARY = "http://evil.test/ok";

const problem = await gvisorProblem("gvisor_e2e_private_test.ts: skipping", {
  python: true,
  root: true,
});

Deno.test({
  name:
    "mcp-run run and serve --isolation gvisor serve a real MCP client a network server that reaches its faked API through the proxy",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = removeOnExit(tempDir("mcp-run-gvisor-e2e-net-"));
    const cache = join(dir, "cache");
    await pullEvil(evilServer({ name: NAME, net: NET }, cache), cache);
    const manifest = join(dir, `${NAME}.jsonc`);
    await Deno.writeTextFile(
      manifest,
      manifestText({ name: NAME, package: EVIL_PACKAGE, permissions: { net: NET } }),
    );
    const userConfig = join(dir, "config.json");
    await Deno.writeTextFile(
      userConfig,
      JSON.stringify({ images: { deno: IMAGE, python: PYTHON_IMAGE } }),
    );
    const config: GvisorE2eConfig = {
      name: NAME,
      manifest,
      cache,
      config: userConfig,
      urls: [GRANTED, CANARY, GRANTED],
    };
    const certificates = await makeTestCertificates(dir, Object.keys(HOSTS));
    const run = await runDriver("gvisor_e2e_driver.ts", config, {
      dir,
      certificates,
      timeoutMs: 240_000,
      server: NAME,
    });
    assert.equal(run.timedOut, false, run.stderr);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
    for (const front of ["run", "serve"]) {
      const [ok, refused, again]: Report[] = out[front];
      assert.equal(ok.status, 200, `${front}: ${JSON.stringify(ok)}\n${run.stderr}`);
      assert.match(ok.body, /"granted"/, front);
      assert.equal(refused.ok, false, `${front}: ${JSON.stringify(refused)}`);
      assert.match(JSON.stringify(refused), /403/, front);
      assert.equal(again.status, 200, `${front}: ${JSON.stringify(again)}`);
      assert.deepEqual(out.runtimes[front], [GVISOR_RUNTIME], front);
    }
    // The proxy says why, on the launcher's stderr (run's and serve's).
    assert.match(run.stderr, /^mcp-run egress: refused evil\.test:80: .*not granted/m);
    assert.match(out.serveStderr, /^mcp-run egress: refused evil\.test:80: .*not granted/m);
    // The fake API saw the granted host four times (twice per front end), the canary never.
    const hosts = run.requests.map((q) => q.host);
    assert.equal(hosts.filter((h) => h.startsWith("granted.test")).length, 4, hosts.join(","));
    assert.deepEqual(hosts.filter((h) => h.startsWith("evil.test")), []);
    assert.deepEqual(run.left, [], "containers left (now removed)");
  },
});
