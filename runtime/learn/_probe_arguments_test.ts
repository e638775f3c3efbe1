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
    query: "mcp-run",
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
    tags: ["mcp-run", "mcp-run"],
    nested: { when: "2026-01-01T00:00:00Z" },
    either: 3,
    code: "mcp-run---",
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
