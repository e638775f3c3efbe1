import assert from "node:assert/strict";
import { lineColumn } from "./_text_position.ts";

Deno.test("lineColumn() counts lines and columns from 1", () => {
  const text = "ab\ncd\r\n\nef";
  const cases: [number, { line: number; column: number }][] = [
    [0, { line: 1, column: 1 }],
    [2, { line: 1, column: 3 }],
    [3, { line: 2, column: 1 }],
    [5, { line: 2, column: 3 }],
    [7, { line: 3, column: 1 }],
    [8, { line: 4, column: 1 }],
    [9, { line: 4, column: 2 }],
    [100, { line: 4, column: 93 }],
  ];
  for (const [offset, expected] of cases) {
    assert.deepEqual(lineColumn(text, offset), expected, `offset ${offset}`);
  }
});
