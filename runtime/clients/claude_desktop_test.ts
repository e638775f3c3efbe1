import assert from "node:assert/strict";
import { claudeDesktop } from "./claude_desktop.ts";
import type { EntryParts } from "./types.ts";

const PARTS: EntryParts = {
  command: "docker",
  args: ["run", "-i", "--rm", "--env-file", "/h/.secrets/x.env", "img"],
  env: { MCP_RUN_MANAGED: "1" },
  secretNames: ["TOKEN"],
  description: "ignored",
};

Deno.test("claudeDesktop.buildEntry() writes command, args and env only", () => {
  assert.deepEqual(claudeDesktop.buildEntry("x", PARTS), {
    command: "docker",
    args: ["run", "-i", "--rm", "--env-file", "/h/.secrets/x.env", "img"],
    env: { MCP_RUN_MANAGED: "1" },
  });
});

Deno.test("claudeDesktop has no way to reference a secret and expands nothing", () => {
  assert.equal(claudeDesktop.secrets, "none");
  assert.equal(claudeDesktop.secretReference, undefined);
  assert.equal(claudeDesktop.expands, false);
});

Deno.test("claudeDesktop.presenceDir() is the Claude folder of the app-data folder", () => {
  assert.equal(
    claudeDesktop.presenceDir("user", { os: "darwin", home: "/Users/a", cwd: "/" }),
    "/Users/a/Library/Application Support/Claude",
  );
  assert.equal(
    claudeDesktop.presenceDir("user", { os: "linux", home: "/h", cwd: "/", configHome: "/x" }),
    "/x/Claude",
  );
});

Deno.test("claudeDesktop.secretHint() points to --env-file and never to plain text", () => {
  const hint = claudeDesktop.secretHint(["A", "B"]);
  assert.match(hint, /^Claude Desktop has no way to reference a secret, so A, B was not written/);
  assert.match(hint, /--form docker with --env-file/);
  assert.match(hint, /mode 0600/);
});
