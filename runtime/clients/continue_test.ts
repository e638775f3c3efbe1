import assert from "node:assert/strict";
import { continueDev } from "./continue.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const ENV: ClientEnvironment = { os: "linux", home: "/home/ada", cwd: "/src/app" };
const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "npm:x@1.0.0"],
  env: { MCP_RUN_MANAGED: "1", KEY: "${{ secrets.KEY }}" },
  secretNames: ["KEY"],
  description: "ignored",
};

Deno.test("continueDev.buildEntry() writes a named stdio entry for the file's list", () => {
  assert.deepEqual(continueDev.buildEntry("memory", PARTS), {
    name: "memory",
    type: "stdio",
    command: "/opt/deno",
    args: ["run", "npm:x@1.0.0"],
    env: { MCP_RUN_MANAGED: "1", KEY: "${{ secrets.KEY }}" },
  });
});

Deno.test("continueDev.configPath() gives each entry its own file", () => {
  assert.equal(continueDev.layout, "file-list");
  assert.equal(
    continueDev.configPath("user", ENV, "memory"),
    "/home/ada/.continue/mcpServers/memory.yaml",
  );
  assert.notEqual(
    continueDev.configPath("project", ENV, "a"),
    continueDev.configPath("project", ENV, "b"),
  );
  assert.ok(
    continueDev.configPath("project", ENV, "a").startsWith(continueDev.presenceDir("project", ENV)),
  );
});

Deno.test("continueDev.secretReference() uses Continue's secrets template", () => {
  assert.equal(continueDev.secretReference?.("API_KEY", "x"), "${{ secrets.API_KEY }}");
});

Deno.test("continueDev.secretHint() shows a line per secret for the .env file", () => {
  assert.equal(
    continueDev.secretHint(["A", "B"]),
    "Continue fills A, B from `.continue/.env` (or `~/.continue/.env`); add A=…, B=… there.",
  );
});
