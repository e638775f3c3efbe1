import assert from "node:assert/strict";
import { parse, type ParseError } from "jsonc-parser";
import {
  duplicateKeys,
  locate,
  nestingProblem,
  parseManifest,
  syntaxProblems,
} from "./manifest_text.ts";
import { readManifest } from "./manifest.ts";

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

Deno.test("readManifest() gives what parseManifest() gives, manifest or problems", async () => {
  const dir = new URL("../../manifests/", import.meta.url);
  const texts = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".jsonc"))
    .map((e) => Deno.readTextFileSync(new URL(e.name, dir)));
  texts.push(
    '\uFEFF{"name": "bom", "description": "d", "package": "npm:x@1.0.0"}',
    '{"name": "Bad Name", "description": "d", "package": "npm:x@1.0.0"}',
    '{"name": "dup", "name": "dup", "description": "d", "package": "npm:x@1.0.0"}',
    '{"name": "x", "description": "d", "package": "npm:x@^1.0.0", "extra": 1,}',
    '{"name": "x" "description": "d"}',
  );
  for (const text of texts) {
    let want: unknown;
    try {
      want = parseManifest(text, { file: "m.jsonc" });
    } catch (error) {
      want = error;
    }
    let got: unknown;
    try {
      got = await readManifest(text, { file: "m.jsonc" });
    } catch (error) {
      got = error;
    }
    assert.deepEqual(got, want, text.slice(0, 80));
    if (want instanceof Error) assert.equal((got as Error).message, want.message);
  }
});
