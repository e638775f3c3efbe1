import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "../policy/manifest_text.ts";
import { adoptConfig, type AdoptConfigOptions } from "./adopt.ts";
import { undoAdoption, undoRecordPath } from "./adopt_undo.ts";
import { clientEntry } from "./client_entry.ts";
import type { ClientId } from "./types.ts";

const catalogue = [{
  target: "files",
  manifest: parseManifest(JSON.stringify({
    name: "files",
    description: "files",
    package: "npm:fs-server@1.0.0",
    args: ["${dirs}"],
    parameters: { dirs: { type: "path[]", description: "folders", required: true } },
    secrets: { TOKEN: { description: "a token", required: true } },
  })),
}];

const UNDO = join(await Deno.makeTempDir(), "undo");

function options(client: ClientId, files: string[]): AdoptConfigOptions {
  return {
    client,
    files,
    catalogue,
    manifestDir: "/nonexistent",
    undoDir: UNDO,
    entryFor: ({ name, mapping }) =>
      Promise.resolve(clientEntry(client, {
        command: "deno",
        args: ["run", "server.ts", ...mapping.params.dirs],
        env: {},
        secrets: mapping.secrets.map((n) => ({ name: n, description: "" })),
      }, { name })),
  };
}

const ENTRY =
  '{ "command": "npx", "args": ["-y", "fs-server", "/srv"], "env": { "TOKEN": "t0k" } }';

Deno.test("adoptConfig() rewrites a symlinked file at its target and keeps the undo record there", async () => {
  const dir = await Deno.makeTempDir();
  const target = join(dir, "real.json");
  const link = join(dir, "mcp.json");
  const original = `{\r\n  // keep me\r\n  "mcpServers": {\r\n    "a": ${ENTRY}\r\n  }\r\n}\r\n`;
  await Deno.writeTextFile(target, original);
  await Deno.symlink(target, link);
  const result = await adoptConfig(options("cursor", [link]));
  assert.deepEqual(result.entries.map((e) => [e.name, e.action]), [["a", "adopt"]]);
  assert.equal(result.written[0].undo, await undoRecordPath(target, { dir: UNDO }));
  assert.ok((await Deno.lstat(link)).isSymlink, "the link was replaced by a file");
  const after = await Deno.readTextFile(target);
  assert.match(after, /\/\/ keep me\r\n/);
  assert.match(after, /"TOKEN": "\$\{env:TOKEN\}"/);
  assert.ok(!after.includes("t0k"));
  assert.equal((await undoAdoption(link, { dir: UNDO })).restored, true);
  assert.equal(await Deno.readTextFile(target), original);
});

Deno.test("adoptConfig() writes no file when one of them cannot be parsed", async () => {
  const dir = await Deno.makeTempDir();
  const good = join(dir, "a.yaml");
  const bad = join(dir, "b.yaml");
  const text = "name: a\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: a\n    command: npx\n" +
    "    args: [-y, fs-server, /srv]\n";
  await Deno.writeTextFile(good, text);
  await Deno.writeTextFile(bad, "mcpServers: [\n");
  await assert.rejects(adoptConfig(options("continue", [good, bad])), SyntaxError);
  assert.equal(await Deno.readTextFile(good), text);
  assert.equal(
    await Deno.stat(await undoRecordPath(good, { dir: UNDO })).then(() => true, () => false),
    false,
  );
});

Deno.test("adoptConfig() refuses a file that changed while it planned", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "mcp.json");
  await Deno.writeTextFile(file, `{"mcpServers": {"a": ${ENTRY}}}`);
  const base = options("cursor", [file]);
  await assert.rejects(
    adoptConfig({
      ...base,
      entryFor: async (request) => {
        await Deno.writeTextFile(file, `{"mcpServers": {"a": ${ENTRY}, "b": {}}}`);
        return await base.entryFor(request);
      },
    }),
    /changed while adopt was planning/,
  );
  assert.equal(await Deno.readTextFile(file), `{"mcpServers": {"a": ${ENTRY}, "b": {}}}`);
});

Deno.test("adoptConfig() leaves a secret for a client that cannot reference one, unless given a file", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "claude_desktop_config.json");
  const original = `{"mcpServers": {"a": ${ENTRY}}}`;
  await Deno.writeTextFile(file, original);
  const left = await adoptConfig(options("claude-desktop", [file]));
  assert.equal(left.entries[0].action, "leave");
  assert.match(left.entries[0].reason!, /Claude Desktop cannot reference a secret \(TOKEN\)/);
  assert.equal(await Deno.readTextFile(file), original);
  const planned = await adoptConfig({
    ...options("claude-desktop", [file]),
    dryRun: true,
    secretsFile: (name) => join(dir, `${name}.env`),
  });
  assert.equal(planned.entries[0].action, "adopt");
  assert.equal(planned.entries[0].envFile, join(dir, "a.env"));
  assert.match(
    planned.entries[0].notes.join("\n"),
    /values go to .*a\.env \(readable only by you\)/,
  );
  assert.equal(await Deno.readTextFile(file), original, "a dry run wrote the file");
});

Deno.test("adoptConfig() gives same-named packages of two scopes their own drafts, overwriting none", async () => {
  const dir = await Deno.makeTempDir();
  const manifestDir = join(dir, "manifests");
  await Deno.mkdir(manifestDir);
  // A draft approved earlier for another package holds the first name.
  const earlier = '{"name": "mcp-server", "description": "d", "package": "npm:@gamma/x@1.0.0"}';
  await Deno.writeTextFile(join(manifestDir, "alpha-mcp-server.jsonc"), earlier);
  const file = join(dir, "mcp.json");
  const entry = (pkg: string) => `{"command": "npx", "args": ["-y", "${pkg}@1.0.0"]}`;
  await Deno.writeTextFile(
    file,
    `{"mcpServers": {"a": ${entry("@alpha/mcp-server")}, "b": ${entry("@beta/mcp-server")}}}`,
  );
  const result = await adoptConfig({
    ...options("cursor", [file]),
    manifestDir,
    learn: (target) => {
      const text = JSON.stringify({ name: "mcp-server", description: "d", package: target });
      return Promise.resolve({ manifest: parseManifest(text), text, label: [] });
    },
    approve: () => Promise.resolve(true),
    entryFor: ({ name, mapping }) =>
      Promise.resolve(clientEntry("cursor", {
        command: "deno",
        args: ["run", mapping.target],
        env: {},
        secrets: [],
      }, { name })),
  });
  assert.deepEqual(result.entries.map((e) => [e.name, e.action]), [["a", "adopt"], ["b", "adopt"]]);
  const targets = result.entries.map((e) => e.target!);
  assert.deepEqual(targets, [
    join(manifestDir, "alpha-mcp-server-2.jsonc"),
    join(manifestDir, "beta-mcp-server.jsonc"),
  ]);
  assert.match(await Deno.readTextFile(targets[0]), /npm:@alpha\/mcp-server@1\.0\.0/);
  assert.match(await Deno.readTextFile(targets[1]), /npm:@beta\/mcp-server@1\.0\.0/);
  assert.equal(await Deno.readTextFile(join(manifestDir, "alpha-mcp-server.jsonc")), earlier);
  // Each draft is named after its file, so the two never share an approval or a cache.
  const names = await Promise.all(
    targets.map(async (t) => JSON.parse(await Deno.readTextFile(t)).name),
  );
  assert.deepEqual(names, ["alpha-mcp-server-2", "beta-mcp-server"]);
});

Deno.test("adoptConfig() keeps the bin an npx -p entry runs in the package it drafts", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "mcp.json");
  await Deno.writeTextFile(
    file,
    '{"mcpServers": {"a": {"command": "npx", "args": ["-p", "@a/srv@2.0.0", "srv-tool", "x y"]}}}',
  );
  const result = await adoptConfig({
    ...options("cursor", [file]),
    dryRun: true,
    learn: () => Promise.reject(new Error("a dry run learned")),
  });
  const plan = result.entries[0];
  assert.equal(plan.action, "approve");
  assert.equal(plan.package, "npm:@a/srv@2.0.0/srv-tool");
  assert.match(plan.reason!, /mcp-run learn npm:@a\/srv@2\.0\.0\/srv-tool -- 'x y'/);
});
