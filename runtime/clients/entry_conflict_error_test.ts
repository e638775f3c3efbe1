import assert from "node:assert/strict";
import { EntryConflictError } from "./entry_conflict_error.ts";

Deno.test("EntryConflictError names the entry, the file and the way out", () => {
  const error = new EntryConflictError("cursor", "github", "/h/.cursor/mcp.json", "replace");
  assert.ok(error instanceof Error);
  assert.equal(error.name, "EntryConflictError");
  assert.equal(
    error.message,
    'Cannot replace "github" in "/h/.cursor/mcp.json": an entry with that name exists and was ' +
      "not written by mcp-run; pass --force to replace it anyway",
  );
  assert.equal(error.client, "cursor");
  assert.equal(error.entryName, "github");
  assert.equal(error.file, "/h/.cursor/mcp.json");
});

Deno.test("EntryConflictError says remove when removal was refused", () => {
  const error = new EntryConflictError("zed", "x", "settings.json", "remove");
  assert.match(error.message, /^Cannot remove "x" .* pass --force to remove it anyway$/);
});
