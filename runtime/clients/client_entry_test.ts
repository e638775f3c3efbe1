import assert from "node:assert/strict";
import { clientEntry } from "./client_entry.ts";
import { CLIENTS, getClient } from "./registry.ts";
import type { ClientId } from "./types.ts";
import type { LaunchCommand } from "./types.ts";

const SOURCE: LaunchCommand = {
  command: "deno",
  args: ["run", "npm:@modelcontextprotocol/server-github@2025.4.8"],
  env: { DENO_DIR: "/cache/deno_dir" },
  secrets: [{ name: "GITHUB_TOKEN", description: "Personal access token" }],
};

/** How each client receives GITHUB_TOKEN: a reference in env, or null for none. */
const REFERENCES: Record<ClientId, string | null> = {
  "claude-desktop": null,
  vscode: "${input:github-GITHUB_TOKEN}",
  cursor: "${env:GITHUB_TOKEN}",
  "claude-code": "${GITHUB_TOKEN}",
  windsurf: "${env:GITHUB_TOKEN}",
  zed: null,
  goose: null,
  continue: "${{ secrets.GITHUB_TOKEN }}",
};

for (const spec of CLIENTS) {
  Deno.test(`clientEntry() never writes a secret value for ${spec.id}`, () => {
    const entry = clientEntry(spec.id, SOURCE, { name: "github" });
    const env = entry.value[spec.envKey] as Record<string, string>;
    assert.equal(env.DENO_DIR, "/cache/deno_dir");
    assert.equal(env.MCP_RUN_MANAGED, "1");
    assert.equal(env.GITHUB_TOKEN ?? null, REFERENCES[spec.id]);
    assert.equal(entry.notices.length, 1);
    assert.match(entry.notices[0], /GITHUB_TOKEN/);
  });
}

Deno.test("clientEntry() gives VS Code a password input per secret", () => {
  const entry = clientEntry("vscode", SOURCE, { name: "github" });
  assert.deepEqual(entry.inputs, [{
    type: "promptString",
    id: "github-GITHUB_TOKEN",
    description: "Personal access token",
    password: true,
  }]);
  assert.equal(entry.value.type, "stdio");
});

Deno.test("clientEntry() lists goose secrets in env_keys", () => {
  const entry = clientEntry("goose", SOURCE, { name: "github", description: "GitHub" });
  assert.deepEqual(entry.value.env_keys, ["GITHUB_TOKEN"]);
  assert.equal(entry.value.cmd, "deno");
  assert.equal(entry.value.type, "stdio");
  assert.equal(entry.value.description, "GitHub");
});

Deno.test("clientEntry() leaves secrets out for Claude Desktop and offers an env file", () => {
  const entry = clientEntry("claude-desktop", SOURCE, { name: "github" });
  assert.deepEqual(entry.omittedSecrets, ["GITHUB_TOKEN"]);
  assert.match(entry.notices[0], /no way to reference a secret.*--env-file.*0600/);
  assert.doesNotMatch(JSON.stringify(entry.value), /GITHUB_TOKEN/);
});

Deno.test("clientEntry() shapes Zed entries as custom context servers", () => {
  const entry = clientEntry("zed", { ...SOURCE, secrets: [] }, { name: "github" });
  assert.deepEqual(Object.keys(entry.value), ["source", "command", "args", "env"]);
  assert.equal(entry.value.source, "custom");
  assert.deepEqual(entry.notices, []);
});

Deno.test("clientEntry() refuses names clients cannot key on", () => {
  for (const name of ["", "-x", "a b", "x/y", "x".repeat(65), "${x}"]) {
    assert.throws(() => clientEntry("cursor", SOURCE, { name }), RangeError, name);
  }
  assert.doesNotThrow(() => clientEntry("cursor", SOURCE, { name: "my-server_1.2" }));
});

Deno.test("clientEntry() refuses ${ in values a client would expand", () => {
  const hostile = { ...SOURCE, args: ["run", "--allow-read=${HOME}/.ssh"] };
  for (const id of ["vscode", "cursor", "claude-code", "windsurf", "goose", "continue"]) {
    assert.throws(() => clientEntry(id as ClientId, hostile, { name: "x" }), /expands/);
  }
  // Clients that expand nothing receive the text as written.
  const entry = clientEntry("claude-desktop", hostile, { name: "x" });
  assert.deepEqual(entry.value.args, hostile.args);
});

Deno.test("clientEntry() refuses invalid variable names and the marker", () => {
  assert.throws(
    () => clientEntry("cursor", { ...SOURCE, env: { "A=B": "1" } }, { name: "x" }),
    /"A=B" as an environment variable name/,
  );
  assert.throws(
    () => clientEntry("cursor", { ...SOURCE, env: { MCP_RUN_MANAGED: "0" } }, { name: "x" }),
    /mcp-run uses it to mark its entries/,
  );
  assert.throws(
    () => clientEntry("cursor", { ...SOURCE, env: { GITHUB_TOKEN: "ghp_x" } }, { name: "x" }),
    /both as a secret and as a plain value/,
  );
});

Deno.test("getClient() names the known clients when the id is unknown", () => {
  assert.throws(
    () => getClient("emacs"),
    /Cannot find client "emacs": known clients are claude-desktop, vscode/,
  );
});
