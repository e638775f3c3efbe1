import assert from "node:assert/strict";
import { parse, type ParseError } from "jsonc-parser";
import { duplicateKeys, locate, nestingProblem, syntaxProblems } from "./_manifest_text.ts";

Deno.test("locate() finds the line and column of a JSON path's value", () => {
  const text = '{\n  "permissions": {\n    "net": ["a", "b"]\n  }\n}';
  assert.deepEqual(locate(text, "permissions.net[1]"), { line: 3, column: 18 });
  assert.deepEqual(locate(text, "permissions.nope"), { line: 2, column: 18 });
  assert.deepEqual(locate(text, ""), {});
});

Deno.test("duplicateKeys() names the repeated key and where the first one is", () => {
  const problems = duplicateKeys('{"a": 1,\n "env": {"X": {}, "X": {}}, "a": 2}');
  assert.deepEqual(problems.map((p) => [p.path, p.line, p.column]), [
    ["env.X", 2, 19],
    ["a", 2, 29],
  ]);
  assert.match(problems[0].message, /"X" is also at line 2, column 10/);
});

Deno.test("nestingProblem() stops at 33 levels without recursing, and accepts 32", () => {
  assert.equal(nestingProblem("[".repeat(32) + "]".repeat(32)), undefined);
  const problem = nestingProblem("[".repeat(100000));
  assert.equal(problem?.column, 33);
  assert.match(problem!.message, /nested more than 32 levels deep/);
});

Deno.test("syntaxProblems() says what is wrong in words, with the hint only once", () => {
  const text = '{"a" 1, "b": }';
  const errors: ParseError[] = [];
  parse(text, errors, { allowTrailingComma: true });
  const problems = syntaxProblems(text, errors);
  assert.match(problems[0].message, /^not valid JSONC: a colon is expected \(ColonExpected\); the/);
  assert.deepEqual([problems[0].line, problems[0].column], [1, 6]);
  assert.ok(problems.slice(1).every((p) => !p.message.includes("UTF-8")));
});
