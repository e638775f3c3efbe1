/**
 * Security proof, `oci:` packages under gVisor: the malicious fixture as an image, pulled by
 * digest from a loopback registry in docker's pull step (as security_container_oci_test.ts
 * does), runs in {@linkcode GvisorSandbox}'s hardened container on gVisor's kernel, and every
 * attack of tests/_container_attacks.ts is stopped, each with a canary and a positive control.
 * One pull for the file.
 *
 * In CI (CI=true) these tests never skip: docker, gVisor or the image missing there fails the
 * run.
 */
import assert from "node:assert/strict";
import { imageExists } from "../runtime/sandbox/docker_engine.ts";
import { defineContainerAttacks, ociAttackScene } from "./_container_attacks.ts";
import { gvisorProblem } from "./_gvisor.ts";

const problem = await gvisorProblem("gvisor_security_container_oci_test.ts: skipping", {
  python: true,
});
const ignore = problem !== undefined;

const { scene, reference } = ociAttackScene("evil-gvisor-oci", ignore, "gvisor");

Deno.test({
  name: "GvisorSandbox runs the image pulled by digest on gVisor's kernel, not root (oci:)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await scene.server();
    assert.equal(await imageExists(reference()), true);
    {
      await using evil = await scene.launch();
      const me = await evil.call("whoami");
      assert.notEqual(me.uid, 0);
      assert.equal(me.status.CapEff, "0000000000000000");
      assert.equal(me.file, "/app/evil_server.py");
      const version = await evil.call("read_file", { path: "/proc/version" });
      assert.match(version.content, /^Linux version 4\.4\.0 /, JSON.stringify(version));
      assert.ok(!version.content.includes(Deno.osRelease()), version.content);
    }
    await scene.noneLeft();
  },
});

defineContainerAttacks(scene, "oci:", ignore);
