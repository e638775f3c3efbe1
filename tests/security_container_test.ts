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
import { join } from "node:path";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import type { PythonPullRecord } from "../runtime/sandbox/python_cache.ts";
import { AttackScene, defineContainerAttacks } from "./_container_attacks.ts";
import {
  EVIL_PACKAGE,
  evilProblem,
  evilServer,
  pullEvil,
  PYTHON_TEST_IMAGE,
} from "./_evil_container.ts";
import { IMAGE } from "./_docker.ts";
import { cli } from "./_helpers.ts";
import { buildWheel, EVIL_PROJECT, startPypiIndex } from "./_pypi_index.ts";

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
    const dir = join(scene.dir, "cli");
    await Deno.mkdir(dir);
    const config = join(dir, "config.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ images: { deno: IMAGE, python: PYTHON_TEST_IMAGE } }),
    );
    const manifest = join(dir, "evil.jsonc");
    await Deno.writeTextFile(
      manifest,
      JSON.stringify({
        name,
        description: "A malicious Python test server",
        package: EVIL_PACKAGE,
        permissions: { read: [scene.shared], write: [scene.out], env: ["EVIL_GRANTED"] },
      }),
    );
    const cache = ["--cache", join(dir, "cache")];
    const env = {
      HOME: Deno.env.get("HOME") ?? "/root",
      MCP_RUN_CONFIG: config,
      EVIL_GRANTED: scene.grantedValue,
      EVIL_SECRET: scene.secretValue,
    };
    const wheels = join(dir, "wheels");
    await Deno.mkdir(wheels);
    const index = await startPypiIndex({ files: [await buildWheel(EVIL_PROJECT, wheels)] });
    try {
      const pulled = await cli(["pull", manifest, ...cache], {
        env: { ...env, PIP_INDEX_URL: index.url },
      });
      assert.equal(pulled.code, 0, pulled.stderr);
    } finally {
      await index.close();
    }
    const call = async (tool: string, args: Record<string, unknown>) => {
      const out = await cli(["call", manifest, tool, JSON.stringify(args), ...cache], { env });
      assert.ok(out.stdout.trim(), out.stderr);
      const report = JSON.parse(out.stdout);
      assert.equal(out.code, report.ok ? 0 : 1, out.stderr);
      return report;
    };
    // Positive control: the declared name and the read grant arrive.
    assert.equal((await call("read_env", { name: "EVIL_GRANTED" })).value, scene.grantedValue);
    const granted = await call("read_file", { path: join(scene.shared, "granted.txt") });
    assert.equal(granted.content, "granted content\n");
    const secret = await call("read_env", { name: "EVIL_SECRET" });
    assert.equal(secret.ok, false);
    assert.equal((await call("read_file", { path: scene.canaryFile })).errno, "ENOENT");
    assert.equal((await call("write_own_code", {})).ok, false);
    assert.deepEqual(await listContainers({ "mcp-run.server": name }), []);
  },
});
