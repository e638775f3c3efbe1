import assert from "node:assert/strict";
import { cursor } from "./cursor.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const ENV: ClientEnvironment = { os: "darwin", home: "/Users/ada", cwd: "/src/app" };
const PARTS: EntryParts = {
  command: "docker",
  args: ["run", "-i", "--rm", "img"],
  env: { MCP_RUN_MANAGED: "1" },
  secretNames: ["TOKEN"],
  description: "ignored",
};

Deno.test("cursor.buildEntry() writes command, args and env with no type field", () => {
  assert.deepEqual(cursor.buildEntry("x", PARTS), {
    command: "docker",
    args: ["run", "-i", "--rm", "img"],
    env: { MCP_RUN_MANAGED: "1" },
  });
});

Deno.test("cursor.secretReference() uses Cursor's ${env:VAR} form", () => {
  assert.equal(cursor.secretReference?.("API_KEY", "x"), "${env:API_KEY}");
});

Deno.test("cursor.configPath() lies inside the folder that shows Cursor is set up", () => {
  for (const scope of cursor.scopes) {
    const dir = cursor.presenceDir(scope, ENV);
    assert.equal(cursor.configPath(scope, ENV, "x"), `${dir}/mcp.json`);
  }
  assert.equal(cursor.presenceDir("project", ENV), "/src/app/.cursor");
});

Deno.test("cursor.secretHint() agrees in number with the secrets it names", () => {
  assert.match(cursor.secretHint(["A"]), /reads A from .*; set it there/);
  assert.match(cursor.secretHint(["A", "B"]), /reads A, B from .*; set them there/);
});
