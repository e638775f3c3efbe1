/**
 * End to end: the `oci:` catalogue entry time-image, pulled with `mcp-run pull` and run with
 * `mcp-run run` under its manifest, started by the real MCP SDK client over stdio.
 *
 * The entry pins Docker's real `mcp/time` by digest, which cannot be pulled here (no outside
 * registry is reachable). The test therefore builds the local equivalent of that image (see
 * _oci_server_image.ts), pushes it to a loopback registry, and runs a copy of the manifest that
 * differs only in its package: the local `oci:127.0.0.1:PORT/mcp/time@sha256:…` reference.
 * The image is fetched by the pull step only; the run uses what the pull brought.
 *
 * In CI (CI=true) these tests never skip: docker or the Python stand-in missing fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadManifest } from "../runtime/registry/load.ts";
import { imageExists, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { PUBLIC_ADDRESS } from "./fake_internet.ts";
import { startOciRegistry } from "./oci_registry.ts";
import { publishTimeServerImage, UPSTREAM_IMAGE } from "./_oci_server_image.ts";
import { dockerProblem } from "./_docker.ts";
import { resultText, tempDir } from "./_helpers.ts";
import {
  CANARY_NAME,
  CANARY_VALUE,
  probe,
  pullEntry,
  standInConfig,
  startEntry,
  waitGone,
} from "./_catalogue_container.ts";

const problem = await dockerProblem("catalogue_oci_test.ts: skipping", { python: true });

Deno.test({
  name: "time-image pulled by digest from a registry answers in a container with nothing granted",
  ignore: problem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const work = tempDir("mcp-run-catalogue-oci-");
    const cache = join(work, "cache");
    const config = standInConfig(work);
    const registry = await startOciRegistry();
    let ref = "";
    try {
      const { manifest: original } = await loadManifest("time-image");
      assert.equal(original.package, `oci:${UPSTREAM_IMAGE}`);
      ref = await publishTimeServerImage(registry);
      // The engine keeps the pushed digest: forget it, so only the pull can bring it back.
      await runDocker(["rmi", ref]);
      const manifest = join(work, "time-image.jsonc");
      await Deno.writeTextFile(
        manifest,
        JSON.stringify({ ...original, package: `oci:${ref}` }, null, 2),
      );

      await pullEntry(manifest, { cache, config });
      const digest = ref.split("@")[1];
      assert.ok(
        registry.requests.some((r) =>
          /^(GET|HEAD) /.test(r) && r.endsWith(`/v2/mcp/time/manifests/${digest}`)
        ),
        registry.requests.join("\n"),
      );
      assert.equal(await imageExists(ref), true);
      const pulled = registry.requests.length;

      const secret = tempDir("mcp-run-not-granted-");
      Deno.writeTextFileSync(join(secret, "secret.txt"), CANARY_VALUE);
      const running = await startEntry(manifest, "time-image", {
        cache,
        config,
        params: { timezone: "Asia/Kathmandu" },
      });
      try {
        const result = await running.client.callTool({
          name: "get_current_time",
          arguments: { timezone: "Asia/Tokyo" },
        });
        const answer = JSON.parse(resultText(result));
        assert.equal(answer.timezone, "Asia/Tokyo");
        assert.match(answer.datetime, /\+09:00$/);
        // The manifest's parameter reached the server's argv: its default zone is the one given.
        const { tools } = await running.client.listTools();
        const getTime = tools.find((t: { name: string }) => t.name === "get_current_time");
        assert.match(JSON.stringify(getTime?.inputSchema), /Asia\/Kathmandu/);

        const found = await probe(running, PUBLIC_ADDRESS, "http://ungranted.example.com/", [
          secret,
          join(secret, "secret.txt"),
        ]);
        assert.equal(found.canary, null, "the undeclared variable reached the container");
        const containerEnv = await running.containerEnv();
        // Positive control: the configuration is read, and holds what the plan sets.
        assert.ok(containerEnv.includes("HOME=/tmp"), containerEnv.join(" "));
        assert.ok(
          !containerEnv.some((e) => e.startsWith(`${CANARY_NAME}=`)),
          "the undeclared variable is in the container's configuration",
        );
        assert.deepEqual(Object.values(found.paths), [false, false]);
        assert.match(found.direct, /^error: .*(unreachable|Errno 101)/i);
        assert.match(found.proxied, /^error: /);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nlauncher stderr:\n${running.stderr()}`, {
          cause: error,
        });
      } finally {
        await running.close();
        await Deno.remove(secret, { recursive: true }).catch(() => {});
      }
      // The run fetched nothing: the image came from the pull step.
      assert.equal(registry.requests.length, pulled, registry.requests.slice(pulled).join("\n"));
      assert.deepEqual(await waitGone("time-image"), [], "containers left running");
    } finally {
      if (ref) await runDocker(["rmi", ref]).catch(() => {});
      await registry.close();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
