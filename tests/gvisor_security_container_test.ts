/**
 * Security proof, `pypi:` packages under gVisor: the malicious Python fixture, pulled as in
 * security_container_test.ts (mcp-run's own pull, in docker's pull step: no server code runs
 * there), runs in {@linkcode GvisorSandbox}'s hardened container on gVisor's kernel, and every
 * attack of tests/_container_attacks.ts is stopped: a host file outside its mounts, the
 * read-only root and code, the Docker socket, an undeclared variable, exec from its scratch
 * space, a fork bomb, a memory hog, the network it was not given; each with a canary and a
 * positive control. One pull for the file.
 *
 * In CI (CI=true) these tests never skip: docker, gVisor or the image missing there fails the
 * run.
 */
import assert from "node:assert/strict";
import { AttackScene, defineContainerAttacks } from "./_container_attacks.ts";
import { evilServer, pullEvil } from "./_evil_container.ts";
import { gvisorProblem } from "./_gvisor.ts";

const problem = await gvisorProblem("gvisor_security_container_test.ts: skipping", {
  python: true,
});
const ignore = problem !== undefined;

const scene = new AttackScene(
  "evil-gvisor",
  async (s) => {
    const server = evilServer(s.grants, s.cache);
    await pullEvil(server, s.cache);
    return server;
  },
  ignore,
  "gvisor",
);

Deno.test({
  name: "GvisorSandbox runs the pulled fixture on gVisor's kernel, hardened, not root (pypi:)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    {
      await using evil = await scene.launch();
      const me = await evil.call("whoami");
      assert.notEqual(me.uid, 0);
      assert.equal(me.status.CapEff, "0000000000000000");
      assert.equal(me.status.CapBnd, "0000000000000000");
      assert.ok(me.file.startsWith("/mcp-run-code/"), me.file);
      const version = await evil.call("read_file", { path: "/proc/version" });
      assert.match(version.content, /^Linux version 4\.4\.0 /, JSON.stringify(version));
      assert.ok(!version.content.includes(Deno.osRelease()), version.content);
    }
    await scene.noneLeft();
  },
});

defineContainerAttacks(scene, "pypi:", ignore);
