import assert from "node:assert/strict";
import { parse, type ParseError } from "jsonc-parser";
import { readPlainJsonc } from "./_plain_jsonc.ts";
import { duplicateKeys, nestingProblem } from "./manifest_text.ts";

const MANIFESTS = new URL("../../manifests/", import.meta.url);
const catalogue = [...Deno.readDirSync(MANIFESTS)]
  .filter((e) => e.name.endsWith(".jsonc"))
  .map((e) => Deno.readTextFileSync(new URL(e.name, MANIFESTS)));

/** jsonc-parser's reading, and whether it (or the manifest's text checks) found a problem. */
function jsonc(text: string): { value: unknown; problem: boolean } {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const problem = errors.length > 0 || duplicateKeys(text).length > 0 ||
    nestingProblem(text) !== undefined;
  return { value, problem };
}

Deno.test("readPlainJsonc() reads every catalogue manifest as jsonc-parser does", () => {
  assert.ok(catalogue.length > 10);
  for (const text of catalogue) {
    const plain = readPlainJsonc(text, 32);
    assert.notEqual(plain, undefined, text.slice(0, 80));
    assert.deepEqual(plain, jsonc(text).value);
  }
});

Deno.test("readPlainJsonc() leaves to jsonc-parser whatever it might read otherwise", () => {
  const unsure = [
    "",
    "// only a comment",
    "[,]",
    "{,}",
    "[1,,]",
    '{"a":,}',
    "1/*x*/2",
    "/* open",
    '{"a": 1} /* open',
    '{"a": 1, "a": 2}',
    '{"__proto__": {"x": 1}}',
    '{"a": "line\nbreak"}',
    "{'a': 1}",
    '{"a": 1} / 2',
    "[".repeat(33) + "]".repeat(33),
  ];
  for (const text of unsure) assert.equal(readPlainJsonc(text, 32), undefined, text);
  const sure: [string, unknown][] = [
    ['{"a": [1, 2,], // two\n}', { a: [1, 2] }],
    ["[1, // one\n /* and */ ]", [1]],
    ['{"a": "//no", "b": "/*no*/", "c": "\\"",}', { a: "//no", b: "/*no*/", c: '"' }],
    ["[".repeat(32) + "]".repeat(32), JSON.parse("[".repeat(32) + "]".repeat(32))],
  ];
  for (const [text, value] of sure) assert.deepEqual(readPlainJsonc(text, 32), value, text);
});

Deno.test("readPlainJsonc() answers only what jsonc-parser reads without a problem, on mangled manifests", () => {
  // A seeded generator: the same 4,000 mangled texts on every run.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = [
    ",",
    "/",
    "*",
    "//",
    "/*",
    "*/",
    "\n",
    '"',
    "{",
    "}",
    "[",
    "]",
    ":",
    " ",
    "\\",
    "a",
  ];
  let answered = 0;
  for (let round = 0; round < 4000; round++) {
    let text = catalogue[random(catalogue.length)];
    for (let edits = 1 + random(3); edits > 0; edits--) {
      const at = random(text.length);
      text = random(3) === 0
        ? text.slice(0, at) + text.slice(at + 1 + random(3))
        : text.slice(0, at) + pieces[random(pieces.length)] + text.slice(at);
    }
    const plain = readPlainJsonc(text, 32);
    if (plain === undefined) continue;
    answered++;
    const read = jsonc(text);
    assert.equal(read.problem, false, text);
    assert.deepEqual(plain, read.value, text);
  }
  // Both kinds occur: mangling that is still plain JSONC, and mangling that is not.
  assert.ok(answered > 100 && answered < 4000, `answered ${answered}`);
});
