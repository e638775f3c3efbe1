import assert from "node:assert/strict";
import { windsurf } from "./windsurf.ts";
import type { EntryParts } from "./types.ts";

const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "npm:x@1.0.0"],
  env: { MCP_RUN_MANAGED: "1" },
  secretNames: [],
  description: "ignored",
};

Deno.test("windsurf.buildEntry() writes command, args and env with no type field", () => {
  assert.deepEqual(windsurf.buildEntry("x", PARTS), {
    command: "/opt/deno",
    args: ["run", "npm:x@1.0.0"],
    env: { MCP_RUN_MANAGED: "1" },
  });
});

Deno.test("windsurf.secretReference() uses the ${env:VAR} form", () => {
  assert.equal(windsurf.secretReference?.("TOKEN", "x"), "${env:TOKEN}");
});

Deno.test("windsurf reads one user file inside ~/.codeium/windsurf", () => {
  const env = { os: "linux" as const, home: "/h", cwd: "/p" };
  assert.deepEqual(windsurf.scopes, ["user"]);
  assert.equal(windsurf.presenceDir("project", env), "/h/.codeium/windsurf");
  assert.equal(windsurf.configPath("project", env, "x"), "/h/.codeium/windsurf/mcp_config.json");
});

Deno.test("windsurf.secretHint() agrees in number with the secrets it names", () => {
  assert.match(windsurf.secretHint(["A"]), /^Windsurf reads A .* set it there/);
  assert.match(windsurf.secretHint(["A", "B"]), /reads A, B .* set them there/);
});
