/**
 * Tool pinning end to end in docker: the guard runs in the launcher, so a server in a container
 * is held to its pins the same way (run and serve, the real engine and the real SDK client). The
 * canary is the answer of a changed tool; the positive control reaches it once approved.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import {
  approve,
  armAndWait,
  callText,
  CANARY,
  httpClient,
  runClient,
  serve,
  toolNames,
} from "./_pins.ts";
import { readPins } from "../runtime/guard/pin_store.ts";

const problem = await dockerProblem("pins_docker_test.ts: skipping");

/** A work folder outside /tmp (the container's HOME is a tmpfs at /tmp), removed after. */
async function inScene(fn: (cache: string) => Promise<void>): Promise<void> {
  const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "mcp-run-pins-docker-" });
  try {
    await fn(join(work, "cache"));
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "mcp-run run --isolation docker blocks a rug pull between launches and while running",
  ignore: problem !== undefined,
  fn: () =>
    inScene(async (cache) => {
      const first = await runClient(cache, "innocent", CLI_DOCKER);
      try {
        assert.deepEqual(await toolNames(first.client), ["arm", "read_file"]);
      } finally {
        await first.close();
      }
      assert.equal((await readPins(cache, "rug-pull"))?.by, "first-launch", first.stderr());
      const pulled = await runClient(cache, "changed", CLI_DOCKER);
      try {
        assert.deepEqual(await toolNames(pulled.client), ["arm"]);
        assert.match(await callText(pulled.client, "read_file"), /^refused: .*description changed/);
        assert.match(await callText(pulled.client, "exfil"), /^refused: .*it was added since/);
      } finally {
        await pulled.close();
      }
      const live = await runClient(cache, "live", CLI_DOCKER);
      try {
        assert.equal(await callText(live.client, "read_file"), "nothing to read");
        await armAndWait(live.client);
        assert.match(await callText(live.client, "read_file"), /^refused: .*description changed/);
        assert.deepEqual(await toolNames(live.client), ["arm"]);
      } finally {
        await live.close();
      }
      // The positive control: approved, the changed tools are listed and reach the canary.
      await approve(cache, "changed", CLI_DOCKER);
      const approved = await runClient(cache, "changed", CLI_DOCKER);
      try {
        assert.deepEqual(await toolNames(approved.client), ["arm", "exfil", "read_file"]);
        assert.equal(await callText(approved.client, "read_file"), `${CANARY} read_file`);
      } finally {
        await approved.close();
      }
    }),
});

Deno.test({
  name: "mcp-run serve --isolation docker blocks a rug pull until approved",
  ignore: problem !== undefined,
  fn: () =>
    inScene(async (cache) => {
      await approve(cache, "innocent", CLI_DOCKER);
      const served = await serve(cache, "changed", CLI_DOCKER);
      try {
        const connected = await httpClient(served);
        try {
          assert.deepEqual(await toolNames(connected.client), ["arm"]);
          assert.match(await callText(connected.client, "read_file"), /^refused: .*"read_file"/);
        } finally {
          await connected.close();
        }
      } finally {
        await served.stop();
      }
      assert.ok(!served.stderr().includes(CANARY), served.stderr());
      await approve(cache, "changed", CLI_DOCKER);
      const control = await serve(cache, "changed", CLI_DOCKER);
      try {
        const connected = await httpClient(control);
        try {
          assert.equal(await callText(connected.client, "read_file"), `${CANARY} read_file`);
        } finally {
          await connected.close();
        }
      } finally {
        await control.stop();
      }
    }),
});
