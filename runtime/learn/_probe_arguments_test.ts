import assert from "node:assert/strict";
import { probeArguments } from "./_probe_arguments.ts";

const context = { path: "/scratch/data" };

Deno.test("probeArguments() fills only the required properties, with the schema's own values first", () => {
  const schema = {
    type: "object",
    properties: {
      query: { type: "string" },
      mode: { type: "string", enum: ["fast", "slow"] },
      limit: { type: "integer", default: 5 },
      city: { type: "string", examples: ["Paris"] },
      optional: { type: "string" },
    },
    required: ["query", "mode", "limit", "city"],
  };
  assert.deepEqual(probeArguments(schema, context), {
    query: "mcprun1",
    mode: "fast",
    limit: 5,
    city: "Paris",
  });
});

Deno.test("probeArguments() gives paths, URLs, numbers and nested objects plain valid values", () => {
  const schema = {
    type: "object",
    properties: {
      path: { type: "string" },
      source_url: { type: "string" },
      count: { type: "number", exclusiveMinimum: 0 },
      flag: { type: "boolean" },
      paths: { type: "array", items: { type: "string" } },
      tags: { type: "array", items: { type: "string" }, minItems: 2 },
      nested: {
        type: "object",
        properties: { when: { type: "string", format: "date-time" } },
        required: ["when"],
      },
      either: { anyOf: [{ type: "integer", minimum: 3 }, { type: "string" }] },
      code: { type: "string", minLength: 10 },
    },
    required: ["path", "source_url", "count", "flag", "paths", "tags", "nested", "either", "code"],
  };
  assert.deepEqual(probeArguments(schema, context), {
    path: "/scratch/data",
    source_url: "https://example.com/",
    count: 1,
    flag: false,
    paths: ["/scratch/data"],
    tags: ["mcprun1", "mcprun1"],
    nested: { when: "2026-01-01T00:00:00Z" },
    either: 3,
    code: "mcprun1000",
  });
});

Deno.test("probeArguments() answers an empty object for what is not an object schema", () => {
  for (const schema of [undefined, null, "x", { type: "string" }, { type: "array" }]) {
    assert.deepEqual(probeArguments(schema, context), {});
  }
});

Deno.test("probeArguments() stops at a bounded depth on self-referencing schemas", () => {
  const node: Record<string, unknown> = { type: "object", required: ["child"] };
  node.properties = { child: node };
  const out = JSON.stringify(probeArguments(node, context));
  assert.ok(out.length < 200, out);
});

Deno.test("probeArguments() stays small whatever lengths and counts the schema asks for", () => {
  const args = probeArguments({
    type: "object",
    properties: {
      text: { type: "string", minLength: 300_000_000 },
      list: { type: "array", minItems: 1_000_000, items: { type: "string", minLength: 1e9 } },
      n: { type: "number", minimum: "5" },
      __proto__: { type: "string" },
    },
    required: ["text", "list", "n", "__proto__"],
  }, { path: "/tmp/x" });
  assert.equal((args.text as string).length, 256);
  assert.equal((args.list as string[]).length, 3);
  assert.equal((args.list as string[])[0].length, 256);
  assert.equal(args.n, 1);
  assert.ok(Object.hasOwn(args, "__proto__"));
  assert.equal(Object.getPrototypeOf(args), Object.prototype);
  // `required` that is not a list of names is ignored.
  assert.deepEqual(probeArguments({ type: "object", required: "text" }, { path: "/x" }), {});
  assert.deepEqual(
    probeArguments({ type: "object", required: { length: 1e9 } }, { path: "/x" }),
    {},
  );
});
