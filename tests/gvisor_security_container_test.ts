/**
 * Security proof, `pypi:` packages under gVisor: the malicious Python fixture, pulled as in
 * security_container_test.ts (mcp-run's own pull, in docker's pull step: no server code runs
 * there), runs in {@linkcode GvisorSandbox}'s hardened container on gVisor's kernel, and every
 * attack of tests/_container_attacks.ts is stopped: a host file outside its mounts, the
 * read-only root and code, the Docker socket, an undeclared variable, exec from its scratch
 * space, a fork bomb, a memory hog, the network it was not given; each with a canary and a
 * positive control. One pull for the file; the command line (`mcp-run pull`, `mcp-run call` and
 * `mcp-run serve` with a user config that makes gvisor the default isolation) is checked with a
 * pull of its own.
 *
 * In CI (CI=true) these tests never skip: docker, gVisor or the image missing there fails the
 * run.
 */
import assert from "node:assert/strict";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import { AttackScene, defineContainerAttacks } from "./_container_attacks.ts";
import { evilServer, pullEvil } from "./_evil_container.ts";
import { assertDeclaredOnly, pullEvilCli } from "./_evil_cli.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { resultText } from "./_helpers.ts";
import { connectClient } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { waitGone } from "./_catalogue_container.ts";

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

Deno.test({
  name:
    "mcp-run call and serve run a pypi: server under gVisor when the user config says so: what is declared arrives, no canary",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const name = "evil-gvisor-cli";
    const { manifest, cacheArgs: cache, env, call } = await pullEvilCli(scene, name, {
      isolation: "gvisor",
    });
    // It runs on gVisor's kernel: the user config chose the isolation.
    const version = await call("read_file", { path: "/proc/version" });
    assert.match(version.content, /^Linux version 4\.4\.0 /, JSON.stringify(version));
    await assertDeclaredOnly(scene, name, call);

    // The same server behind `mcp-run serve`: one gVisor container per session, none after.
    const served = await startServe([manifest, "--port", "0", ...cache], env);
    try {
      const sessions = [
        await connectClient({ url: served.url }),
        await connectClient({ url: served.url }),
      ];
      assert.equal((await listContainers({ "mcp-run.server": name })).length, 2);
      for (const { client, transport } of sessions) {
        const read = await client.callTool({
          name: "read_file",
          arguments: { path: "/proc/version" },
        });
        assert.match(JSON.parse(resultText(read)).content, /^Linux version 4\.4\.0 /);
        const stolen = await client.callTool({
          name: "read_env",
          arguments: { name: "EVIL_SECRET" },
        });
        assert.equal(JSON.parse(resultText(stolen)).ok, false);
        await transport.terminateSession();
        await client.close();
      }
      assert.deepEqual(await waitGone(name), []);
    } finally {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    }
  },
});
