import assert from "node:assert/strict";
import { findId } from "./_jsonrpc_ids.ts";

Deno.test("findId() finds an open request's id near either end of a dropped line", () => {
  const pending = new Set<string | number>([7, "abc"]);
  assert.equal(findId('{"jsonrpc":"2.0","id":7,"result":"xxx', "", pending), 7);
  assert.equal(findId('{"jsonrpc":"2.0","result":"', 'xx","id":"abc"}', pending), "abc");
});

Deno.test("findId() prefers the tail, where a serialiser puts id after a large result", () => {
  // An "id" field inside the result (here of an open request's id too) must not win.
  const pending = new Set<string | number>([1, 2]);
  assert.equal(findId('{"result":{"items":[{"id":1,"text":"', '...","id":2}', pending), 2);
});

Deno.test("findId() matches only ids that are open, keeping strings and numbers apart", () => {
  const pending = new Set<string | number>(["5", -3]);
  assert.equal(findId('"id":5', "", pending), undefined, '5 is not the string "5"');
  assert.equal(findId('"id":"5"', "", pending), "5");
  assert.equal(findId('"id" : -3', "", pending), -3);
  assert.equal(findId('"id":42', '"id":null', pending), undefined);
  assert.equal(findId("", "", pending), undefined);
});

Deno.test("findId() decodes escapes in string ids", () => {
  const pending = new Set<string | number>(['a"b', "é"]);
  assert.equal(findId('"id":"a\\"b"', "", pending), 'a"b');
  assert.equal(findId('"id":"\\u00e9"', "", pending), "é");
});

Deno.test("findId() copes with a cut-off id at the edge", () => {
  const pending = new Set<string | number>(["abcdef"]);
  // The head ends mid-string: no closing quote, so nothing is matched and nothing throws.
  assert.equal(findId('{"id":"abc', "", pending), undefined);
});
