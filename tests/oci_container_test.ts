/**
 * End to end: an `oci:` server pinned by digest (a local equivalent of Docker's `mcp/time`,
 * pushed to a loopback registry) is pulled by the docker sandbox's pull step only, started in
 * the hardened container the plan describes, and called by the real MCP SDK client.
 *
 * In CI (CI=true) these tests never skip: docker or the Python stand-in missing fails the run.
 */
import assert from "node:assert/strict";
import { serverFixture } from "../runtime/policy/_server_fixture.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { imageExists, listContainers, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { DockerSandbox, type DockerSandboxOptions } from "../runtime/sandbox/docker_sandbox.ts";
import { CacheError } from "../runtime/sandbox/pull.ts";
import { publishTimeServerImage } from "./_oci_server_image.ts";
import { startOciRegistry } from "./oci_registry.ts";
import { dockerProblem } from "./_docker.ts";
import { tempDir } from "./_helpers.ts";

const problem = await dockerProblem("oci_container_test.ts: skipping", { python: true });

Deno.test({
  name: "DockerSandbox pulls an oci: image by digest only in the pull step, then runs it hardened",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const cache = tempDir("mcp-run-oci-cache-");
    const registry = await startOciRegistry();
    try {
      const ref = await publishTimeServerImage(registry);
      const server = serverFixture({
        name: "time-oci",
        specifier: `oci:${ref}`,
        args: ["--local-timezone", "UTC"],
      });
      // The engine keeps the pushed digest: forget it, so only a pull can bring it back.
      await runDocker(["rmi", ref]);
      assert.equal(await imageExists(ref), false);
      const options: DockerSandboxOptions = { cacheRoot: cache, source: {}, progress: () => {} };

      // A launch does not fetch the image when auto-pull is off.
      await assert.rejects(
        async () => await new DockerSandbox({ ...options, autoPull: false }).prepare(server),
        (error: Error) => error instanceof CacheError && error.kind === "missing",
      );
      const sandbox = new DockerSandbox(options);
      await sandbox.pull(server);
      // A GET, or only a HEAD when the engine still holds the layers under another tag.
      const manifest = `/v2/mcp/time/manifests/${ref.split("@")[1]}`;
      assert.ok(
        registry.requests.some((r) => r === `GET ${manifest}` || r === `HEAD ${manifest}`),
        registry.requests.join("\n"),
      );
      assert.equal(await imageExists(ref), true);

      const plan = sandbox.plan(server);
      assert.equal(plan.args[plan.args.indexOf("--pull") + 1], "never");
      assert.equal(plan.args[plan.args.indexOf("--network") + 1], "none");
      const connected = await connectServer(server, { ...options, sandbox, plan });
      try {
        const { tools } = await connected.client.listTools();
        assert.ok(tools.some((t: { name: string }) => t.name === "get_current_time"));
        const result = await connected.client.callTool({
          name: "get_current_time",
          arguments: { timezone: "Asia/Kathmandu" },
        });
        const answer = JSON.parse((result.content as { text: string }[])[0].text);
        assert.equal(answer.timezone, "Asia/Kathmandu");
        assert.match(answer.datetime, /\+05:45$/);
      } finally {
        await connected.close();
      }
      for (
        let i = 0;
        i < 40 && (await listContainers({ "mcp-run.server": "time-oci" })).length;
        i++
      ) {
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(await listContainers({ "mcp-run.server": "time-oci" }), []);
    } finally {
      await registry.close();
      await Deno.remove(cache, { recursive: true }).catch(() => {});
    }
  },
});
