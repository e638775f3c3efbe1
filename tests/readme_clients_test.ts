/** The README's client snippet is exactly what `mcp-run config` prints (machine paths aside). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";

/** The command the README shows, and the block after it. */
const COMMAND =
  "./mcp-run config filesystem --client claude-desktop --form launcher -p dirs=/home/ada/notes";

function readmeSnippet(): string {
  const readme = Deno.readTextFileSync(join(ROOT, "README.md"));
  const section = readme.slice(readme.indexOf("## Using it from an MCP client"));
  assert.ok(section.includes(`${COMMAND}\n`), "the README no longer shows the config command");
  const match = /```json\n([\s\S]*?)\n```/.exec(section.slice(section.indexOf(COMMAND)));
  assert.ok(match, "the README has no JSON block after the config command");
  return match[1];
}

Deno.test("mcp-run config prints exactly the README's launcher snippet", async () => {
  const home = join(tempDir("mcp-run-readme-"), "home");
  const notes = join(home, "notes");
  Deno.mkdirSync(notes, { recursive: true });
  const r = await cli(COMMAND.split(" ").slice(1).map((a) => a.replace("/home/ada", home)), {
    env: { HOME: home },
    cwd: ROOT,
  });
  assert.equal(r.code, 0, r.stderr);
  // The README's machine: the checkout in /home/ada/mcp-run, its pinned Deno in .tools.
  const key = /(?<=\/launcher\/checkout-)[0-9a-f]{12}/g;
  const expected = readmeSnippet();
  const printed = r.stdout.trimEnd()
    .replaceAll(Deno.execPath(), "/home/ada/mcp-run/.tools/node_modules/deno/deno")
    .replaceAll(Deno.realPathSync(ROOT), "/home/ada/mcp-run")
    .replaceAll(home, "/home/ada")
    .replace(key, expected.match(key)?.[0] ?? "");
  assert.equal(printed, expected);
});
