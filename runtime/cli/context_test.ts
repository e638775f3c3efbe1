import assert from "node:assert/strict";
import { EXIT, expectArgs, UsageError } from "./context.ts";
import { USAGE } from "./help.ts";

Deno.test("EXIT codes are the ones the usage text promises", () => {
  assert.deepEqual({ ...EXIT }, { ok: 0, error: 1, usage: 2, invalid: 3, cache: 4 });
  assert.match(
    USAGE,
    /0 ok · 1 error · 2 bad usage · 3 invalid manifest or refused grant ·\s+4 cache/,
  );
});

Deno.test("expectArgs() accepts counts within bounds and throws a UsageError outside", () => {
  const cases: [number, number, number, boolean][] = [
    [0, 0, 0, true],
    [1, 0, 0, false],
    [1, 1, 1, true],
    [0, 1, 1, false],
    [2, 1, 1, false],
    [2, 2, 2, true],
    [3, 2, 2, false],
    [1, 1, Infinity, true],
    [50, 1, Infinity, true],
    [0, 1, Infinity, false],
  ];
  for (const [count, min, max, ok] of cases) {
    const rest = Array.from({ length: count }, (_, i) => `a${i}`);
    const call = () => expectArgs(rest, min, max, "give one server name");
    if (ok) call();
    else assert.throws(call, { name: "UsageError", message: "give one server name" });
  }
});

Deno.test("UsageError carries its message, name and cause", () => {
  const cause = new RangeError("bad port");
  const error = new UsageError("--port must be a number", { cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "UsageError");
  assert.equal(error.message, "--port must be a number");
  assert.equal(error.cause, cause);
});
