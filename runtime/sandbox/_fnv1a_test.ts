import assert from "node:assert/strict";
import { fnv1a32 } from "./_fnv1a.ts";

Deno.test("fnv1a32() matches the published FNV-1a test vectors for ASCII", () => {
  for (const encoding of ["utf-8", "char-code"] as const) {
    assert.equal(fnv1a32("", encoding), "811c9dc5");
    assert.equal(fnv1a32("a", encoding), "e40c292c");
    assert.equal(fnv1a32("foobar", encoding), "bf9cf968");
  }
});

Deno.test("fnv1a32() reads non-ASCII text as the chosen encoding", () => {
  // "é" is one code unit (0xe9) but two UTF-8 bytes; "😀" counts as its high surrogate alone.
  assert.equal(fnv1a32("é", "char-code"), fnv1a32("\u00e9", "char-code"));
  assert.notEqual(fnv1a32("é", "utf-8"), fnv1a32("é", "char-code"));
  assert.equal(fnv1a32("😀", "char-code"), fnv1a32("\ud83d", "char-code"));
  assert.notEqual(fnv1a32("😀", "utf-8"), fnv1a32("\ud83d", "utf-8"));
});
