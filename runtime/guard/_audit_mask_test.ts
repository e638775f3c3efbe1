import assert from "node:assert/strict";
import { MASKED, maskText } from "./_audit_mask.ts";

Deno.test("maskText() masks URL passwords, token user names and secret-named parameters", () => {
  const cases: [string, string][] = [
    ["postgres://ada:hunter2@host?token=abc", `postgres://ada:${MASKED}@host?token=${MASKED}`],
    ["redis://:p@ss@cache:6379/0", `redis://:${MASKED}@cache:6379/0`],
    [`https://${"t".repeat(40)}@github.com/o/r`, `https://${MASKED}@github.com/o/r`],
    ["https://h/cb#access_token=abc&state=1", `https://h/cb#access_token=${MASKED}&state=1`],
    ["https://acct.blob/c?sv=1&sig=abc", `https://acct.blob/c?sv=1&sig=${MASKED}`],
    ["https://s3/x?X-Amz-Signature=abc", `https://s3/x?X-Amz-Signature=${MASKED}`],
    ["db://h/t?Token=abc;mode=ro", `db://h/t?Token=${MASKED};mode=ro`],
    [`said "https://u:p@h/x" twice`, `said "https://u:${MASKED}@h/x" twice`],
  ];
  for (const [text, expected] of cases) assert.equal(maskText(text), expected, text);
});

Deno.test("maskText() masks token-shaped values whatever surrounds them", () => {
  const tokens = [
    `ghp_${"a1B2".repeat(9)}`,
    `github_pat_${"x1".repeat(20)}`,
    `sk-${"Ab3".repeat(12)}`,
    `sk_live_${"q9".repeat(12)}`,
    "xoxb-1234567890-abcdefghij",
    `glpat-${"z8".repeat(10)}`,
    `AIza${"B".repeat(35)}`,
    "AKIAIOSFODNN7EXAMPLE",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
  ];
  for (const token of tokens) {
    assert.equal(maskText(`key is ${token}, ok`), `key is ${MASKED}, ok`, token);
  }
  assert.equal(maskText("Authorization: Bearer abcdefgh12345"), `Authorization: Bearer ${MASKED}`);
});

Deno.test("maskText() leaves ordinary text and URLs as they are", () => {
  const plain = [
    "ordinary value",
    "https://example.com/a?q=1&page=2#top",
    "ssh://git@github.com/o/r.git",
    "file:///home/ada/notes.md",
    "task-force desk-lamp sketch eyJ-not.a",
    "https://h/x?design=1&page=2",
  ];
  for (const text of plain) assert.equal(maskText(text), text);
});
