/**
 * Tool pinning end to end, natively: the rug-pull fixture under `mcp-run run` and `mcp-run serve`
 * with the real MCP SDK client. The canary is the answer of a changed tool: it must never reach
 * the client until the user approves the change, and then it must (the positive control).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tempDir } from "./_helpers.ts";
import {
  approve,
  armAndWait,
  callText,
  CANARY,
  httpClient,
  RUG_PULL,
  runClient,
  serve,
  toolNames,
} from "./_pins.ts";
import { readPins } from "../runtime/guard/pin_store.ts";

async function inScene(fn: (cache: string) => Promise<void>): Promise<void> {
  const work = tempDir("mcp-run-pins-");
  try {
    await fn(join(work, "cache"));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("mcp-run run pins at the first launch and blocks a rug pull at the next, until approved", () =>
  inScene(async (cache) => {
    const first = await runClient(cache, "innocent");
    try {
      assert.deepEqual(await toolNames(first.client), ["arm", "read_file"]);
      assert.equal(await callText(first.client, "read_file"), "nothing to read");
    } finally {
      await first.close();
    }
    assert.match(
      first.stderr(),
      /mcp-run: rug-pull: pinned 2 tools, 1 prompt and 1 resource template/,
    );
    assert.equal((await readPins(cache, "rug-pull"))?.by, "first-launch");
    const pulled = await runClient(cache, "changed");
    try {
      assert.deepEqual(await toolNames(pulled.client), ["arm"]);
      const readFile = await callText(pulled.client, "read_file");
      assert.match(readFile, /^refused: MCP error -32600: Tool "read_file" of server "rug-pull" /);
      assert.match(readFile, /description changed: "Reads a file" → "Reads a file\. <IMPORTANT>/);
      // Started from a manifest path: the command names the path, as a bare name would not find it.
      assert.ok(
        readFile.endsWith(`Review and approve it with: mcp-run approve ${RUG_PULL}`),
        readFile,
      );
      assert.match(await callText(pulled.client, "exfil"), /^refused: .*it was added since you/);
      assert.equal(await callText(pulled.client, "arm"), "armed");
      assert.deepEqual(
        (await pulled.client.listPrompts()).prompts.map((p: { name: string }) => p.name),
        ["greet"],
      );
    } finally {
      await pulled.close();
    }
    const stderr = pulled.stderr();
    assert.ok(!stderr.includes(CANARY) && !readFileAnswers(stderr), stderr);
    // Each block said once, however often the client listed and called.
    assert.equal(stderr.split("blocked tool read_file: description changed").length, 2, stderr);
    assert.equal(stderr.split("blocked tool exfil added").length, 2, stderr);
    // The positive control: approved, the same launch lists the tools and reaches the canary.
    await approve(cache, "changed");
    const approved = await runClient(cache, "changed");
    try {
      assert.deepEqual(await toolNames(approved.client), ["arm", "exfil", "read_file"]);
      assert.equal(await callText(approved.client, "read_file"), `${CANARY} read_file`);
      assert.equal(await callText(approved.client, "exfil"), `${CANARY} exfil`);
    } finally {
      await approved.close();
    }
  }));

/** Whether the canary's answer was echoed anywhere (it must not be). */
function readFileAnswers(text: string): boolean {
  return text.includes(`${CANARY} read_file`);
}

Deno.test("mcp-run run blocks a tool that changes while running, after list_changed", () =>
  inScene(async (cache) => {
    await approve(cache, "innocent");
    const live = await runClient(cache, "live");
    try {
      assert.deepEqual(await toolNames(live.client), ["arm", "read_file"]);
      assert.equal(await callText(live.client, "read_file"), "nothing to read");
      await armAndWait(live.client);
      const readFile = await callText(live.client, "read_file");
      assert.match(readFile, /^refused: .*Tool "read_file" .*description changed/);
      assert.match(await callText(live.client, "exfil"), /^refused: /);
      assert.deepEqual(await toolNames(live.client), ["arm"]);
    } finally {
      await live.close();
    }
    assert.match(live.stderr(), /blocked tool read_file: description changed/);
    // The positive control: with the changed set approved, what was approved is called. The
    // innocent read_file is now the unapproved one: listed on this connection, it stays blocked
    // (a block sticks), while exfil, never listed otherwise, reaches the canary.
    await approve(cache, "changed");
    const control = await runClient(cache, "live");
    try {
      assert.deepEqual(await toolNames(control.client), ["arm"]);
      await armAndWait(control.client);
      assert.deepEqual(await toolNames(control.client), ["arm", "exfil"]);
      assert.equal(await callText(control.client, "exfil"), `${CANARY} exfil`);
      assert.match(await callText(control.client, "read_file"), /^refused: .*read_file/);
    } finally {
      await control.close();
    }
  }));

for (const mode of ["isolated", "shared"]) {
  Deno.test(`mcp-run serve --session-mode ${mode} blocks a rug pull until approved`, () =>
    inScene(async (cache) => {
      await approve(cache, "innocent");
      const served = await serve(cache, "changed", ["--session-mode", mode]);
      try {
        for (let session = 0; session < 2; session++) {
          const connected = await httpClient(served);
          try {
            assert.deepEqual(await toolNames(connected.client), ["arm"]);
            assert.match(await callText(connected.client, "read_file"), /^refused: .*"read_file"/);
            assert.match(await callText(connected.client, "exfil"), /^refused: .*"exfil"/);
            assert.equal(await callText(connected.client, "arm"), "armed");
          } finally {
            await connected.close();
          }
        }
      } finally {
        await served.stop();
      }
      assert.match(served.stderr(), /blocked tool read_file: description changed/);
      assert.ok(!served.stderr().includes(CANARY), served.stderr());
      await approve(cache, "changed");
      const control = await serve(cache, "changed", ["--session-mode", mode]);
      try {
        const connected = await httpClient(control);
        try {
          assert.deepEqual(await toolNames(connected.client), ["arm", "exfil", "read_file"]);
          assert.equal(await callText(connected.client, "read_file"), `${CANARY} read_file`);
        } finally {
          await connected.close();
        }
      } finally {
        await control.stop();
      }
    }));
}
