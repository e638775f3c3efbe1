import assert from "node:assert/strict";
import { inputId, vscode } from "./vscode.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const LINUX: ClientEnvironment = { os: "linux", home: "/home/ada", cwd: "/src/app" };
const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "jsr:@x/y@1.0.0"],
  env: { MCP_RUN_MANAGED: "1", KEY: "${input:x-KEY}" },
  secretNames: ["KEY"],
  description: "ignored",
};

Deno.test("vscode.buildEntry() writes a stdio entry", () => {
  assert.deepEqual(vscode.buildEntry("x", PARTS), {
    type: "stdio",
    command: "/opt/deno",
    args: ["run", "jsr:@x/y@1.0.0"],
    env: { MCP_RUN_MANAGED: "1", KEY: "${input:x-KEY}" },
  });
});

Deno.test("inputId() keeps two servers' prompts for the same secret apart", () => {
  assert.equal(inputId("github", "TOKEN"), "github-TOKEN");
  assert.notEqual(inputId("a", "TOKEN"), inputId("b", "TOKEN"));
});

Deno.test("vscode.secretReference() refers to the entry's own input", () => {
  assert.equal(vscode.secretReference?.("TOKEN", "github"), "${input:github-TOKEN}");
});

Deno.test("vscode.presenceDir() is .vscode in a project and Code/User for the user", () => {
  assert.equal(vscode.presenceDir("project", LINUX), "/src/app/.vscode");
  assert.equal(vscode.presenceDir("user", LINUX), "/home/ada/.config/Code/User");
  assert.equal(
    vscode.presenceDir("user", { os: "windows", home: "C:\\Users\\ada", cwd: "D:\\p" }),
    "C:\\Users\\ada\\AppData\\Roaming\\Code\\User",
  );
});

Deno.test("vscode.secretHint() names every secret", () => {
  assert.equal(
    vscode.secretHint(["A", "B"]),
    "VS Code prompts for A, B when the server first starts and keeps the values in its secret storage.",
  );
});
