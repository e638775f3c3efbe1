import assert from "node:assert/strict";
import { Checker, join } from "./_manifest_checker.ts";

Deno.test("join() builds dotted JSON paths from the root", () => {
  assert.equal(join("", "name"), "name");
  assert.equal(join("permissions", "net"), "permissions.net");
});

Deno.test("Checker.object() accepts objects and names what else it got", () => {
  const c = new Checker();
  assert.deepEqual(c.object({ a: 1 }, "x"), { a: 1 });
  assert.equal(c.object(undefined, "absent"), undefined);
  for (
    const [value, got] of [[null, "null"], [[1], "a list"], ["s", 'string "s"'], [2, "number 2"]]
  ) {
    assert.equal(c.object(value as never, "p"), undefined);
    assert.equal(c.problems.at(-1)?.message, `must be an object, got ${got}`);
  }
  assert.equal(c.problems.length, 4, "undefined is not a problem");
});

Deno.test("Checker.keys() reports each unknown field, __proto__ included", () => {
  const c = new Checker();
  const obj = JSON.parse('{"name":"x","__proto__":{"polluted":true},"extra":1}');
  c.keys(obj, "permissions", ["name"]);
  assert.deepEqual(c.problems.map((p) => p.path), ["permissions.__proto__", "permissions.extra"]);
  assert.equal(c.problems[1].message, 'unknown field "extra"; allowed fields are "name"');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("Checker.string() reports a missing required value and a wrong type", () => {
  const c = new Checker();
  assert.equal(c.string("v", "a", true), "v");
  assert.equal(c.string(undefined, "b", false), undefined);
  assert.equal(c.string(undefined, "c", true), undefined);
  assert.equal(c.string(5, "d", false), undefined);
  assert.deepEqual(c.problems, [
    { path: "c", message: "is required" },
    { path: "d", message: "must be a string, got number 5" },
  ]);
});

Deno.test("Checker.boolean() takes only true or false", () => {
  const c = new Checker();
  assert.equal(c.boolean(false, "a"), false);
  assert.equal(c.boolean("true", "b"), undefined);
  assert.deepEqual(c.problems, [{
    path: "b",
    message: 'must be true or false, got string "true"',
  }]);
});

Deno.test("Checker.strings() keeps the valid items and reports each bad one by index", () => {
  const c = new Checker();
  assert.deepEqual(c.strings(undefined, "a"), []);
  assert.deepEqual(c.strings(["x", 1, null, "y", {}], "net"), ["x", "y"]);
  assert.deepEqual(c.strings("x", "read"), []);
  assert.deepEqual(c.problems, [
    { path: "net[1]", message: "must be a string, got number 1" },
    { path: "net[2]", message: "must be a string, got null" },
    { path: "net[4]", message: "must be a string, got an object" },
    { path: "read", message: 'must be a list of strings, got string "x"' },
  ]);
});
