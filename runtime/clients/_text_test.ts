import assert from "node:assert/strict";
import {
  applySplices,
  bomOf,
  detectEol,
  detectIndentUnit,
  indentAt,
  lineEndAfter,
  lineStart,
  startsLine,
} from "./_text.ts";

Deno.test("applySplices() applies edits by offset, whatever their order in the list", () => {
  const text = "0123456789";
  assert.equal(
    applySplices(text, [
      { offset: 8, length: 2, content: "X" },
      { offset: 0, length: 1, content: "" },
      { offset: 4, length: 0, content: "+" },
    ]),
    "123+4567X",
  );
  assert.equal(applySplices(text, []), text);
});

Deno.test("applySplices() keeps the list order of insertions at one offset", () => {
  assert.equal(
    applySplices("ab", [{ offset: 1, length: 0, content: "1" }, {
      offset: 1,
      length: 0,
      content: "2",
    }]),
    "a12b",
  );
});

Deno.test("applySplices() refuses overlapping edits", () => {
  assert.throws(
    () =>
      applySplices("0123456789", [
        { offset: 2, length: 4, content: "x" },
        { offset: 5, length: 1, content: "y" },
      ]),
    { name: "RangeError", message: "Cannot apply overlapping edits" },
  );
});

Deno.test("lineStart() and lineEndAfter() find the edges of a line", () => {
  const text = "ab\n  cd\nef";
  assert.equal(lineStart(text, 0), 0);
  assert.equal(lineStart(text, 5), 3);
  assert.equal(lineStart(text, 3), 3, "the first character of a line starts it");
  assert.equal(lineEndAfter(text, 4), 8, "through the newline");
  assert.equal(lineEndAfter(text, 3), 3, "a position right after a newline is a line end");
  assert.equal(lineEndAfter(text, 9), 10, "the last line ends at the end of the text");
});

Deno.test("indentAt() and startsLine() look only at the line's leading blanks", () => {
  const text = "x\n \t  key: 1\n";
  assert.equal(indentAt(text, 6), " \t  ");
  assert.equal(startsLine(text, 6), true);
  assert.equal(startsLine(text, 8), false);
  assert.equal(indentAt(text, 8), " \t  ");
});

Deno.test("detectEol() keeps CRLF files CRLF", () => {
  assert.equal(detectEol("a\r\nb\n"), "\r\n");
  assert.equal(detectEol("a\nb"), "\n");
  assert.equal(detectEol(""), "\n");
});

Deno.test("detectIndentUnit() follows the file's first indented line", () => {
  const cases: [string, string][] = [
    ["{}", "  "],
    ['{\n    "a": 1\n}', "    "],
    ['{\n\t"a": 1\n}', "\t"],
    ["{\n" + " ".repeat(20) + '"a": 1\n}', " ".repeat(8)],
    ["a:\n b: 1\n", " "],
  ];
  for (const [text, unit] of cases) {
    assert.equal(detectIndentUnit(text), unit, JSON.stringify(text));
  }
});

Deno.test("bomOf() returns the byte-order mark only when the text starts with one", () => {
  assert.equal(bomOf("\uFEFF{}"), "\uFEFF");
  assert.equal(bomOf("{}\uFEFF"), "");
});
