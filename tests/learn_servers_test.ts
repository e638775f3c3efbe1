// learn on real npm servers that are not in the catalogue, pinned: each draft parses, passes
// check, grants only what a recorded check asked for, and (when the server runs natively) lists
// the same tools when the server is started under it.
import assert from "node:assert/strict";
import { learnServer, type LearnServerOptions } from "../runtime/learn/learn_server.ts";
import {
  assertDraftValid,
  assertGrantsExercised,
  inspectDraft,
  LEARN_CACHE,
} from "./_learn_helpers.ts";
import { toolEnv } from "./_helpers.ts";

const home = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-learn-home-" }));
const project = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-learn-project-" }));
Deno.writeTextFileSync(`${project}/note.md`, "# A note\n");

function learn(target: string, options: LearnServerOptions = {}) {
  return learnServer(target, {
    cacheRoot: LEARN_CACHE,
    source: toolEnv(),
    home,
    timeoutMs: 60_000,
    ...options,
  });
}

Deno.test("learnServer() drafts no permissions for a pure tool server", async () => {
  const learned = await learn("npm:@wrtnlabs/calculator-mcp@0.2.1", {
    calls: [{ tool: "add", arguments: { a: 1, b: 2 } }],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.match(learned.calls[0].text, /3/);
  assert.deepEqual(draft.permissions, {
    read: [],
    write: [],
    net: [],
    env: [],
    sys: [],
    run: [],
    ffi: [],
  });
  assert.deepEqual(learned.label, ["Reads no files", "Writes no files", "No network access"]);
  assert.deepEqual(await inspectDraft(draft, { home }), learned.offering.tools);
});

Deno.test("learnServer() grants a server that reads its own package.json its package folder", async () => {
  const learned = await learn("npm:mcp-sequentialthinking-tools@0.0.3");
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.equal(draft.package, "npm:mcp-sequentialthinking-tools@0.0.3");
  assert.deepEqual(draft.permissions.read, ["${package_dir}"]);
  assert.deepEqual([draft.permissions.write, draft.permissions.net], [[], []]);
  assert.deepEqual(Object.keys(draft.secrets), []);
  assert.deepEqual(await inspectDraft(draft, { home }), learned.offering.tools);
});

Deno.test("learnServer() resolves a bare npm name and finds the token an API client needs", async () => {
  const learned = await learn("npm:@modelcontextprotocol/server-brave-search", {
    calls: [{ tool: "brave_web_search", arguments: { query: "deno" } }],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.match(draft.package, /^npm:@modelcontextprotocol\/server-brave-search@\d+\.\d+\.\d+$/);
  // It exits without the key: a second run with a placeholder shows it is used.
  assert.deepEqual(Object.keys(draft.secrets), ["BRAVE_API_KEY"]);
  assert.deepEqual(draft.permissions.net, ["api.search.brave.com:443"]);
  assert.equal(learned.calls[0].ok, false);
  const tools = await inspectDraft(draft, { home, env: { BRAVE_API_KEY: "test-key" } });
  assert.deepEqual(tools, learned.offering.tools);
});

Deno.test("learnServer() turns a project folder argument into a parameter", async () => {
  const learned = await learn("npm:mcp-obsidian@1.0.0", {
    args: [project],
    calls: [{ tool: "read_notes", arguments: { paths: [`${project}/note.md`] } }],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.deepEqual(draft.args, ["${dir}"]);
  assert.equal(draft.parameters.dir.type, "path");
  assert.deepEqual(draft.permissions.read, ["${dir}"]);
  assert.deepEqual(draft.permissions.write, []);
  assert.ok(!learned.text.includes(project), "the user's folder is never in the draft");
  assert.deepEqual(
    await inspectDraft(draft, { home, params: { dir: project } }),
    learned.offering.tools,
  );
});

Deno.test("learnServer() drafts write access only for what a tool call wrote", async () => {
  const learned = await learn("npm:mcp-server-filesystem@0.6.2", {
    args: [project],
    calls: [{ tool: "write_file", arguments: { path: `${project}/new.txt`, content: "x" } }],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.deepEqual([draft.permissions.read, draft.permissions.write], [["${dir}"], ["${dir}"]]);
  assert.equal(learned.calls[0].ok, true, learned.calls[0].text);
  assert.deepEqual([...Deno.readDirSync(project)].map((e) => e.name), ["note.md"]);
  assert.deepEqual(
    await inspectDraft(draft, { home, params: { dir: project } }),
    learned.offering.tools,
  );
});

Deno.test("learnServer() reports the program a code runner starts as never granted natively", async () => {
  const learned = await learn("npm:mcp-server-code-runner@0.1.8", {
    calls: [{ tool: "run-code", arguments: { code: "console.log(1)", languageId: "javascript" } }],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  const run = learned.findings.find((f) => f.permission === "run" && f.value !== null);
  assert.ok(run?.refused);
  assert.match(run.reason, /native mode never lets a server start programs/);
  assert.match(run.reason, /--isolation docker --trust/);
  assert.match(learned.text, /\/\/ +run \S+: native mode never/);
  assert.deepEqual(draft.permissions.run, []);
  assert.deepEqual(await inspectDraft(draft, { home }), learned.offering.tools);
});

Deno.test("learnServer() reports a native addon as never loaded natively", async () => {
  const learned = await learn("npm:mcp-memory-libsql@0.0.17");
  // Its start needs the addon: natively it cannot start, and the draft says why.
  assert.equal(learned.initialized, false);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  const ffi = learned.findings.find((f) => f.permission === "ffi");
  assert.ok(ffi?.refused);
  assert.match(ffi.value ?? "", /\.node$/);
  assert.match(ffi.reason, /native libraries.*--isolation docker --trust/s);
  assert.match(learned.text, /\/\/ +ffi \S+\.node: native mode never/);
  assert.deepEqual(draft.permissions.ffi, []);
});

Deno.test("learnServer() drafts the secret the user names and the sys names a server reads", async () => {
  const learned = await learn("npm:@modelcontextprotocol/server-everart@0.6.2", {
    env: ["EVERART_API_KEY"],
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned, ["EVERART_API_KEY"]);
  assert.deepEqual(Object.keys(draft.secrets), ["EVERART_API_KEY"]);
  assert.ok(draft.permissions.sys.includes("homedir"));
  // Names it only probed are left out.
  assert.deepEqual(Object.keys(draft.env), []);
  const tools = await inspectDraft(draft, { home, env: { EVERART_API_KEY: "test-key" } });
  assert.deepEqual(tools, learned.offering.tools);
});

Deno.test("learnServer() leaves reads of the throwaway home out of the draft and says why", async () => {
  const learned = await learn("npm:@kazuph/mcp-taskmanager@1.1.1");
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  const homeRead = learned.findings.find((f) => f.permission === "read" && !f.refused);
  assert.match(homeRead?.reason ?? "", /inside the HOME of the learn run/);
  assert.ok(draft.permissions.read.every((e) => e === "${package_dir}"));
  assert.deepEqual(await inspectDraft(draft, { home }), learned.offering.tools);
});
