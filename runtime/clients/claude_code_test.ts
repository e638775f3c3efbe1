import assert from "node:assert/strict";
import { claudeCode } from "./claude_code.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const ENV: ClientEnvironment = { os: "linux", home: "/home/ada", cwd: "/src/app" };
const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "npm:x@1.0.0"],
  env: { MCP_RUN_MANAGED: "1", TOKEN: "${TOKEN}" },
  secretNames: ["TOKEN"],
  description: "ignored",
};

Deno.test("claudeCode.buildEntry() writes a stdio entry with command, args and env only", () => {
  assert.deepEqual(claudeCode.buildEntry("x", PARTS), {
    type: "stdio",
    command: "/opt/deno",
    args: ["run", "npm:x@1.0.0"],
    env: { MCP_RUN_MANAGED: "1", TOKEN: "${TOKEN}" },
  });
});

Deno.test("claudeCode.secretReference() uses the bare ${VAR} form Claude Code expands", () => {
  assert.equal(claudeCode.secretReference?.("GITHUB_TOKEN", "github"), "${GITHUB_TOKEN}");
});

Deno.test("claudeCode.presenceDir() is the .claude folder of the project or the home", () => {
  assert.equal(claudeCode.presenceDir("project", ENV), "/src/app/.claude");
  assert.equal(claudeCode.presenceDir("user", ENV), "/home/ada/.claude");
});

Deno.test("claudeCode.secretHint() agrees in number with the secrets it names", () => {
  assert.match(claudeCode.secretHint(["A"]), /^Claude Code reads A from .* while it is unset\.$/);
  assert.match(claudeCode.secretHint(["A", "B"]), /reads A, B from .* while they are unset\.$/);
});

Deno.test("claudeCode reads user and project files and expands ${…} templates", () => {
  assert.equal(claudeCode.expands, true);
  assert.equal(claudeCode.secrets, "template");
  assert.deepEqual(claudeCode.scopes, ["user", "project"]);
});
