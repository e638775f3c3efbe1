import assert from "node:assert/strict";
import { GrantError } from "./grant_error.ts";

Deno.test("GrantError names the field at fault and keeps its cause", () => {
  const cause = new RangeError("private address");
  const error = new GrantError("permissions.net[0]", 'Cannot grant "10.0.0.1"', { cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "GrantError");
  assert.equal(error.field, "permissions.net[0]");
  assert.equal(error.message, 'Cannot grant "10.0.0.1"');
  assert.equal(error.cause, cause);
});
