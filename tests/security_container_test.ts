/**
 * Security proof, `pypi:` packages: the malicious Python fixture, pulled through mcp-run's own
 * pull from a loopback index (its egress proxy allowing that index only), runs in the hardened
 * container as a non-root user without capabilities, and every attack of
 * tests/_container_attacks.ts is stopped: a host file outside its mounts, the read-only root and
 * code, the Docker socket, an undeclared variable, exec from its scratch space, a fork bomb, a
 * memory hog; each with a canary and a positive control. One pull for the file; the command line
 * (`mcp-run pull`, `mcp-run call` with a user config naming the stand-in images, as
 * tools/docker_setup.sh prints) is checked on the same manifest with a pull of its own.
 *
 * The network attacks are in security_container_net_test.ts, the `oci:` kind's in
 * security_container_oci_test.ts.
 *
 * In CI (CI=true) these tests never skip: docker or the image missing there fails the run.
 */
import assert from "node:assert/strict";
import type { PythonPullRecord } from "../runtime/sandbox/python_cache.ts";
import { AttackScene, defineContainerAttacks } from "./_container_attacks.ts";
import { evilProblem, evilServer, pullEvil } from "./_evil_container.ts";
import { assertDeclaredOnly, pullEvilCli } from "./_evil_cli.ts";

const problem = await evilProblem();
if (problem && Deno.env.get("CI") === "true") {
  throw new Error(`Docker tests cannot be skipped in CI: ${problem}`);
}
if (problem) console.error(`security_container_test.ts: skipping, ${problem}`);
const ignore = problem !== undefined;

let pulled: { record: PythonPullRecord; requests: string[] } | undefined;
const scene = new AttackScene("evil-container", async (s) => {
  const server = evilServer(s.grants, s.cache);
  pulled = await pullEvil(server, s.cache);
  return server;
}, ignore);

Deno.test({
  name: "pythonPull() installs the fixture from the loopback index; it runs hardened, not root",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await scene.server();
    const { record, requests } = pulled!;
    assert.equal(record.script, "mcp-run-test-evil");
    assert.ok(
      requests.some((r) => r.startsWith("GET /files/mcp_run_test_evil-0.1.0")),
      requests.join(),
    );
    {
      await using evil = await scene.launch();
      const me = await evil.call("whoami");
      assert.notEqual(me.uid, 0);
      assert.equal(me.status.CapEff, "0000000000000000");
      assert.equal(me.status.NoNewPrivs, "1");
      assert.ok(me.file.startsWith("/mcp-run-code/"), me.file);
    }
    await scene.noneLeft();
  },
});

defineContainerAttacks(scene, "pypi:", ignore);

Deno.test({
  name: "mcp-run call runs a pypi: server under its manifest: what is declared arrives, no canary",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const name = "evil-container-cli";
    const { call } = await pullEvilCli(scene, name);
    await assertDeclaredOnly(scene, name, call);
  },
});
