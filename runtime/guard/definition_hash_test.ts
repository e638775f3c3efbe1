import assert from "node:assert/strict";
import { canonicalJson, definitionHash, pinnedFields } from "./definition_hash.ts";

Deno.test("canonicalJson() sorts keys at every depth and keeps array order", () => {
  const cases: [unknown, string][] = [
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ z: [3, 1, { y: 1, x: 2 }] }, '{"z":[3,1,{"x":2,"y":1}]}'],
    [{ a: undefined, b: null }, '{"b":null}'],
    ["\u202e", '"\u202e"'],
    [[undefined, NaN], "[null,null]"],
    [{ "é": 1, "e": 2 }, '{"e":2,"é":1}'],
  ];
  for (const [value, text] of cases) assert.equal(canonicalJson(value), text);
});

Deno.test("canonicalJson() refuses what JSON cannot hold", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalJson(cyclic), TypeError);
  assert.throws(() => canonicalJson({ f: () => 1 }), TypeError);
  assert.throws(() => canonicalJson(1n), TypeError);
});

Deno.test("pinnedFields() keeps each kind's model-facing fields only", () => {
  const tool = {
    name: "t",
    title: "T",
    description: "d",
    inputSchema: { type: "object" },
    outputSchema: { type: "object" },
    annotations: { readOnlyHint: true },
    icons: [{ src: "x" }],
    _meta: { a: 1 },
  };
  assert.deepEqual(Object.keys(pinnedFields("tool", tool)), [
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
  ]);
  assert.deepEqual(pinnedFields("prompt", { name: "p", arguments: [{ name: "a" }], x: 1 }), {
    name: "p",
    arguments: [{ name: "a" }],
  });
  assert.deepEqual(
    pinnedFields("resourceTemplate", { name: "r", uriTemplate: "file:///{p}", mimeType: "a/b" }),
    { name: "r", uriTemplate: "file:///{p}", mimeType: "a/b" },
  );
});

Deno.test("definitionHash() is the same for reordered keys and differs for any pinned change", async () => {
  const base = {
    name: "read_file",
    description: "Reads a file",
    inputSchema: { type: "object", properties: { path: { type: "string" } } },
  };
  const hash = await definitionHash("tool", base);
  assert.match(hash, /^[0-9a-f]{64}$/);
  const reordered = {
    inputSchema: { properties: { path: { type: "string" } }, type: "object" },
    description: "Reads a file",
    name: "read_file",
  };
  assert.equal(await definitionHash("tool", reordered), hash);
  assert.equal(await definitionHash("tool", { ...base, icons: [{ src: "i" }] }), hash);
  const changed = [
    { ...base, description: "Reads a file\u200b" },
    { ...base, title: "Read" },
    { ...base, inputSchema: { type: "object", properties: { path: { type: "number" } } } },
    { ...base, outputSchema: { type: "object" } },
    { ...base, annotations: { destructiveHint: true } },
    { ...base, name: "read_files" },
  ];
  for (const definition of changed) {
    assert.notEqual(await definitionHash("tool", definition), hash, JSON.stringify(definition));
  }
});
