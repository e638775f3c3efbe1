/**
 * `inspect` and `call` judge a server by its pins as the guard of `run` does: a rug pull is shown
 * among what clients would not see, every page of the lists is read, and a call of a changed tool
 * is refused before it reaches the server (the fixture's canary stays unsaid).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, tempDir } from "./_helpers.ts";
import { CANARY, RUG_PULL, sceneEnv } from "./_pins.ts";

async function inScene(fn: (cache: string) => Promise<void>): Promise<void> {
  const work = tempDir("mcp-run-pins-inspect-");
  try {
    await fn(join(work, "cache"));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

const run = (cache: string, args: string[], mode: string) =>
  cli([...args, "--", mode], { env: sceneEnv(cache) });

Deno.test("mcp-run inspect shows pin blocks, every page, resource templates and instructions", () =>
  inScene(async (cache) => {
    assert.equal((await run(cache, ["approve", RUG_PULL, "--yes"], "innocent")).code, 0);
    const json = await run(cache, ["inspect", RUG_PULL, "--format", "json"], "changed");
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    // Three tools, two a page: the third is on the second page.
    assert.deepEqual(report.tools.map((t: { name: string }) => t.name), [
      "read_file",
      "arm",
      "exfil",
    ]);
    assert.deepEqual(report.resourceTemplates, [{ uriTemplate: "notes://{id}", name: "notes" }]);
    assert.equal(report.instructions, "Reads notes.");
    const left = report.leftOut.map((l: { name: string; reason: string }) =>
      `${l.name}: ${l.reason}`
    );
    assert.equal(left.length, 2, left.join("\n"));
    assert.match(
      left[0],
      /^read_file: changed since you approved it \(tool read_file: description/,
    );
    assert.match(
      left[1],
      /^exfil: not approved \(tool exfil added\); review it with `mcp-run approve/,
    );
    const text = await run(cache, ["inspect", RUG_PULL], "changed");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Left out for clients \(2\):\n {2}tool "read_file": changed since/);
    assert.match(text.stdout, /Resource templates \(1\):\n {2}notes:\/\/\{id\} {2}notes/);
    assert.match(text.stdout, /^Instructions: Reads notes\.$/m);
    // Positive control: what was approved is not left out.
    const same = JSON.parse(
      (await run(cache, ["inspect", RUG_PULL, "--format", "json"], "innocent")).stdout,
    );
    assert.deepEqual(same.leftOut, []);
  }));

Deno.test("mcp-run call refuses a tool changed since approval, and calls an approved one", () =>
  inScene(async (cache) => {
    assert.equal((await run(cache, ["approve", RUG_PULL, "--yes"], "innocent")).code, 0);
    for (const tool of ["read_file", "exfil"]) {
      const refused = await run(cache, ["call", RUG_PULL, tool], "changed");
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stderr, new RegExp(`refused tool "${tool}": `));
      // Canary: the call never reached the server.
      assert.ok(!refused.stdout.includes(CANARY) && !refused.stderr.includes(CANARY));
    }
    // Positive control: an unchanged tool is called.
    const armed = await run(cache, ["call", RUG_PULL, "arm"], "changed");
    assert.equal(armed.code, 0, armed.stderr);
    assert.equal(armed.stdout.trim(), "armed");
  }));
