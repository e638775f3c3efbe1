import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { clientEntry } from "./client_entry.ts";
import {
  isManagedEntry,
  readClientEntry,
  withClientEntry,
  withoutClientEntry,
} from "./config_text.ts";
import { EntryConflictError } from "./entry_conflict_error.ts";
import { CLIENTS } from "./registry.ts";
import type { ClientId } from "./types.ts";
import type { LaunchCommand } from "./types.ts";

const TESTDATA = fileURLToPath(new URL("../../tests/testdata/clients/", import.meta.url));
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

const TOKEN = { name: "GITHUB_PERSONAL_ACCESS_TOKEN", description: "GitHub personal access token" };
const CACHE = "/home/ada/.cache/mcp-run";
const DENO_RUN = [
  "run",
  "--no-prompt",
  "--no-config",
  "--cached-only",
  "--frozen",
  `--lock=${CACHE}/servers/github/npm-modelcontextprotocol-server-github-2025.4.8/deno.lock`,
  "--allow-net=api.github.com",
  "--deny-net=10.0.0.0/8,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.168.0.0/16,[::1]",
  "--ignore-env",
  "--allow-env=GITHUB_PERSONAL_ACCESS_TOKEN",
  "npm:@modelcontextprotocol/server-github@2025.4.8",
];

/** One sample entry per form, with a secret so every client's secret mechanism shows. */
const FORMS: Record<string, LaunchCommand> = {
  deno: {
    command: "deno",
    args: DENO_RUN,
    env: {
      DENO_DIR: `${CACHE}/servers/github/npm-modelcontextprotocol-server-github-2025.4.8/deno_dir`,
    },
    secrets: [TOKEN],
  },
  docker: {
    command: "docker",
    args: [
      "run",
      "-i",
      "--rm",
      "--read-only",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      "--user=1993:1993",
      "--env=GITHUB_PERSONAL_ACCESS_TOKEN",
      "denoland/deno:debian-2.9.6",
      ...DENO_RUN,
    ],
    env: {},
    secrets: [TOKEN],
  },
  launcher: {
    command: "deno",
    args: ["run", "-A", "jsr:@sandboxed/mcp-run", "run", "github"],
    env: {},
    secrets: [TOKEN],
  },
};

function ext(client: ClientId): string {
  return CLIENTS.find((c) => c.id === client)!.format === "yaml" ? "yaml" : "json";
}

async function golden(path: string, actual: string): Promise<void> {
  if (UPDATE) await Deno.writeTextFile(path, actual);
  assert.equal(actual, await Deno.readTextFile(path), `golden file ${path}`);
}

for (const { id: client } of CLIENTS) {
  for (const [form, source] of Object.entries(FORMS)) {
    Deno.test(`withClientEntry() matches the ${client} golden file for the ${form} form`, async () => {
      const dir = `${TESTDATA}${client}/`;
      const before = await Deno.readTextFile(`${dir}before.${ext(client)}`);
      const entry = clientEntry(client, source, { name: "github", description: "GitHub" });
      const after = withClientEntry(before, entry);
      await golden(`${dir}after-${form}.${ext(client)}`, after);
      // Installing again is a no-op; removing restores the original byte for byte.
      assert.equal(withClientEntry(after, entry), after);
      assert.equal(withoutClientEntry(after, { client, name: "github" }), before);
    });
  }
  Deno.test(`withClientEntry() matches the ${client} golden file for a new file`, async () => {
    const entry = clientEntry(client, FORMS.deno, { name: "github", description: "GitHub" });
    const created = withClientEntry(null, entry);
    await golden(`${TESTDATA}${client}/new.${ext(client)}`, created);
    assert.deepEqual(readClientEntry(created, client, "github"), entry.value);
  });
}

Deno.test("withClientEntry() replaces an older mcp-run entry and only its lines", () => {
  const old = clientEntry("cursor", { ...FORMS.launcher, secrets: [] }, { name: "github" });
  const base = '{\n  "mcpServers": {\n    "a": {"command": "x"}, // a\n    "z": {}\n  }\n}\n';
  const withOld = withClientEntry(base, old);
  const updated = withClientEntry(withOld, clientEntry("cursor", FORMS.deno, { name: "github" }));
  assert.ok(updated.startsWith('{\n  "mcpServers": {\n    "a": {"command": "x"}, // a\n'));
  assert.ok(updated.endsWith("    }\n  }\n}\n"));
  assert.equal(
    (readClientEntry(updated, "cursor", "github")!.args as string[])[0],
    "run",
  );
  assert.deepEqual(readClientEntry(updated, "cursor", "github")!.args, FORMS.deno.args);
});

Deno.test("withClientEntry() refuses to replace an entry mcp-run did not write", () => {
  const text = '{"mcpServers": {"github": {"command": "npx", "args": ["-y", "gh"]}}}';
  const entry = clientEntry("claude-desktop", FORMS.deno, { name: "github" });
  assert.throws(() => withClientEntry(text, entry, { file: "/c.json" }), (e: unknown) => {
    assert.ok(e instanceof EntryConflictError);
    assert.match(e.message, /Cannot replace "github" in "\/c\.json".*--force/);
    return true;
  });
  // Positive control: with force it is replaced, and then it is ours.
  const forced = withClientEntry(text, entry, { force: true });
  assert.ok(isManagedEntry("claude-desktop", readClientEntry(forced, "claude-desktop", "github")));
});

Deno.test("withoutClientEntry() refuses to remove an entry mcp-run did not write", () => {
  const text = "extensions:\n  github:\n    cmd: npx\n    envs: {}\n";
  assert.throws(
    () => withoutClientEntry(text, { client: "goose", name: "github" }),
    EntryConflictError,
  );
  assert.equal(
    withoutClientEntry(text, { client: "goose", name: "github" }, { force: true }),
    "extensions: {}\n",
  );
});

Deno.test("withoutClientEntry() leaves text without the entry unchanged", () => {
  const text = '{\n  // nothing of ours\n  "servers": {"a": {}},\n}';
  assert.equal(withoutClientEntry(text, { client: "vscode", name: "github" }), text);
  assert.equal(withoutClientEntry(null, { client: "vscode", name: "github" }), null);
});

Deno.test("withoutClientEntry() deletes a Continue block file left with no server", () => {
  const entry = clientEntry("continue", FORMS.deno, { name: "github" });
  assert.equal(
    withoutClientEntry(withClientEntry(null, entry), { client: "continue", name: "github" }),
    null,
  );
});

Deno.test("withoutClientEntry() keeps VS Code inputs another server still uses", () => {
  const entry = clientEntry("vscode", FORMS.deno, { name: "github" });
  const installed = withClientEntry("{}", entry);
  const shared = installed.replace(
    '"servers": {',
    '"servers": {\n    "other": {"command": "x", "env": {"T": "${input:github-GITHUB_PERSONAL_ACCESS_TOKEN}"}},',
  );
  const removed = withoutClientEntry(shared, { client: "vscode", name: "github" })!;
  assert.match(removed, /"id": "github-GITHUB_PERSONAL_ACCESS_TOKEN"/);
  // Control: without the other server the input goes with the entry.
  assert.doesNotMatch(
    withoutClientEntry(installed, { client: "vscode", name: "github" })!,
    /GITHUB_PERSONAL_ACCESS_TOKEN/,
  );
});

const CORRUPT: [ClientId, string, RegExp][] = [
  [
    "cursor",
    '{\n  "mcpServers": {\n    "a": {"command": "x" "args": []}\n  }\n}',
    /comma expected at line 3, column 26/,
  ],
  ["zed", '{\n  "theme": "One Dark",\n  "context_servers": {\n', /line 4, column 1/],
  ["vscode", '{"servers": {}} trailing', /line 1, column 17/],
  ["goose", "extensions:\n  a:\n    cmd: x\n   bad: [\n", /line \d+, column \d+/],
  ["continue", "name: x\nmcpServers:\n  - name: a\n  command: [\n", /line \d+, column \d+/],
];
for (const [client, text, where] of CORRUPT) {
  Deno.test(`withClientEntry() refuses an unparsable ${client} file with line and column`, () => {
    const entry = clientEntry(client, FORMS.deno, { name: "github" });
    assert.throws(() => withClientEntry(text, entry, { file: "f" }), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, String(e));
      assert.match(e.message, /^Cannot parse "f": /);
      assert.match(e.message, where);
      return true;
    });
  });
}

Deno.test("withClientEntry() refuses a file whose entries key has the wrong type", () => {
  const entry = clientEntry("cursor", FORMS.deno, { name: "github" });
  assert.throws(() => withClientEntry('{"mcpServers": []}', entry), TypeError);
  assert.throws(() => withClientEntry("[1, 2]", entry), TypeError);
  const goose = clientEntry("goose", FORMS.deno, { name: "github" });
  assert.throws(() => withClientEntry("extensions: [a]\n", goose), TypeError);
});

Deno.test("withClientEntry() refuses duplicate keys that readers resolve differently", () => {
  const entry = clientEntry("cursor", FORMS.deno, { name: "github" });
  const text = '{"mcpServers": {"github": {}, "github": {"env": {"MCP_RUN_MANAGED": "1"}}}}';
  assert.throws(() => withClientEntry(text, entry), /appears 2 times/);
});

Deno.test("withClientEntry() keeps a byte-order mark and CRLF line endings", () => {
  const entry = clientEntry("cursor", FORMS.launcher, { name: "github" });
  const text = '\uFEFF{\r\n  "mcpServers": {\r\n    "a": {}\r\n  }\r\n}\r\n';
  const out = withClientEntry(text, entry);
  assert.ok(out.startsWith("\uFEFF{\r\n"));
  assert.doesNotMatch(out.replaceAll("\r\n", ""), /\n/);
  assert.equal(withoutClientEntry(out, { client: "cursor", name: "github" }), text);
});

Deno.test("withClientEntry() edits single-line JSON without reflowing it", () => {
  const entry = clientEntry("claude-desktop", FORMS.launcher, { name: "github" });
  const text = '{"mcpServers":{"a":{"command":"x"}},"b":1}';
  const out = withClientEntry(text, entry);
  assert.doesNotMatch(out, /\n/);
  assert.equal(withoutClientEntry(out, { client: "claude-desktop", name: "github" }), text);
});
