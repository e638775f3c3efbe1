import assert from "node:assert/strict";
import { CLIENTS, getClient, isClientId } from "./registry.ts";

Deno.test("CLIENTS lists each client once, in the order `mcp-run clients` prints", () => {
  assert.deepEqual(CLIENTS.map((c) => c.id), [
    "claude-desktop",
    "vscode",
    "cursor",
    "claude-code",
    "windsurf",
    "zed",
    "goose",
    "continue",
  ]);
});

Deno.test("CLIENTS specs are coherent: default scope first, secret references where promised", () => {
  for (const spec of CLIENTS) {
    assert.ok(spec.scopes.length >= 1 && spec.scopes[0] === "user", spec.id);
    const references = spec.secrets === "template" || spec.secrets === "input";
    assert.equal(typeof spec.secretReference === "function", references, spec.id);
    // A client that expands ${…} is the one whose references use it.
    if (references) assert.ok(spec.expands, spec.id);
    assert.ok(spec.secretHint(["X"]).includes("X"), spec.id);
  }
});

Deno.test("getClient() and isClientId() accept exactly the known ids", () => {
  for (const spec of CLIENTS) {
    assert.equal(getClient(spec.id), spec);
    assert.equal(isClientId(spec.id), true);
  }
  for (const hostile of ["", "Cursor", "cursor ", "__proto__", "constructor", "claude"]) {
    assert.equal(isClientId(hostile), false, hostile);
    assert.throws(() => getClient(hostile), RangeError);
  }
});
