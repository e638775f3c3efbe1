import assert from "node:assert/strict";
import { formatSignIns } from "./tokens.ts";

Deno.test("formatSignIns() aligns one line per sign-in and neutralises control characters", () => {
  const base = { resource: "https://x.example/mcp", scope: "mcp" };
  const text = formatSignIns([
    {
      ...base,
      server: "docs",
      family: "famA",
      clientId: "https://client.example/meta\x1b[2J",
      clientName: "client.example",
      accessExpiresAt: Date.UTC(2030, 0, 1, 12),
      refreshExpiresAt: Date.UTC(2030, 1, 1),
      signedInAt: Date.UTC(2029, 11, 1),
      refreshedAt: Date.UTC(2030, 0, 1, 11),
    },
    {
      ...base,
      server: "wiki",
      family: "famB",
      clientId: "c2",
      clientName: "",
      accessExpiresAt: 0,
      refreshExpiresAt: 0,
      signedInAt: 0,
      refreshedAt: 0,
    },
  ]);
  const lines = text.split("\n");
  assert.equal(lines.length, 3);
  assert.match(
    lines[0],
    /^SERVER {2}ID {4}CLIENT +NAME +SIGNED IN +REFRESHED +ACCESS EXPIRES +SIGN-IN EXPIRES$/,
  );
  assert.equal(
    lines[1],
    "docs    famA  https://client.example/meta?[2J  client.example  2029-12-01T00:00:00Z  " +
      "2030-01-01T11:00:00Z  2030-01-01T12:00:00Z  2030-02-01T00:00:00Z",
  );
  assert.match(lines[2], /^wiki {4}famB {2}c2 +- +- +- +- +-$/);
  assert.ok(!text.includes("\x1b"), "no escape character");
});
