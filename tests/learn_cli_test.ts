// `mcp-run learn` as a user runs it: the label and the draft on stdout, --write only when asked
// (never over an existing file without --force), and clear errors with the CLI's exit codes.
import assert from "node:assert/strict";
import { cli } from "./_helpers.ts";

const work = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-learn-cli-" }));
const project = `${work}/vault`;
Deno.mkdirSync(project);
Deno.writeTextFileSync(`${project}/note.md`, "# A note\n");
const env = { HOME: `${work}`, MCP_RUN_CACHE: `${work}/cache` };

Deno.test("learn prints the label and the draft, writes it with --write, and check accepts it", async () => {
  const draft = `${work}/obsidian.jsonc`;
  const learned = await cli(["learn", "npm:mcp-obsidian@1.0.0", "--write", draft, "--", project], {
    env,
  });
  assert.equal(learned.code, 0, learned.stderr);
  assert.match(learned.stdout, /Reads: the folders you choose \(dir\)/);
  assert.match(learned.stdout, /tools: read_notes, search_notes/);
  assert.match(learned.stdout, /"package": "npm:mcp-obsidian@1\.0\.0"/);
  const text = await Deno.readTextFile(draft);
  assert.ok(learned.stdout.includes(text));
  assert.ok(!text.includes(project));
  // Learn used a throwaway cache: mcp-run's own cache was not touched.
  await assert.rejects(() => Deno.lstat(`${work}/cache`), Deno.errors.NotFound);

  const checked = await cli(["check", draft], { env });
  assert.equal(checked.code, 0, checked.stderr);
  const inspected = await cli(["inspect", draft, "-p", `dir=${project}`], { env });
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /read_notes/);

  const again = await cli(["learn", "npm:mcp-obsidian@1.0.0", "--write", draft, "--", project], {
    env,
  });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists: choose another file or add --force/);
  assert.equal(await Deno.readTextFile(draft), text);
});

Deno.test("learn reports an unknown package and a --call without JSON clearly", async () => {
  const unknown = await cli(["learn", "npm:mcp-run-no-such-package-zz9"], { env });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /the npm registry .* has no such package; check the name/);
  assert.doesNotMatch(unknown.stderr, /^\s+at /m);
  const noJson = await cli(["learn", "npm:x@1.0.0", "--call", "echo"], { env });
  assert.equal(noJson.code, 2);
  assert.match(noJson.stderr, /give each --call a tool name and a JSON object/);
});

globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
