/**
 * Security proof, `oci:` packages: the malicious fixture as an image (tests/_oci_server_image.ts),
 * pushed to a loopback registry and pulled by digest in the docker sandbox's pull step, runs in
 * the same hardened container as a `pypi:` server, and every attack of
 * tests/_container_attacks.ts is stopped, each with a canary and a positive control. One pull
 * for the file.
 *
 * In CI (CI=true) these tests never skip: docker or the image missing there fails the run.
 */
import assert from "node:assert/strict";
import { imageExists } from "../runtime/sandbox/docker_engine.ts";
import { defineContainerAttacks, ociAttackScene } from "./_container_attacks.ts";
import { evilProblem } from "./_evil_container.ts";

const problem = await evilProblem();
if (problem && Deno.env.get("CI") === "true") {
  throw new Error(`Docker tests cannot be skipped in CI: ${problem}`);
}
if (problem) console.error(`security_container_oci_test.ts: skipping, ${problem}`);
const ignore = problem !== undefined;

const { scene, reference } = ociAttackScene("evil-container-oci", ignore);

Deno.test({
  name: "DockerSandbox pulls the fixture's image by digest; it runs hardened, not root (oci:)",
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
      assert.equal(me.status.NoNewPrivs, "1");
      assert.equal(me.file, "/app/evil_server.py");
    }
    await scene.noneLeft();
  },
});

defineContainerAttacks(scene, "oci:", ignore);
