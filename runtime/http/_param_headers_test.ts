import assert from "node:assert/strict";
import { headerParamsOf, paramHeaderMismatch } from "./_param_headers.ts";

const schema = {
  type: "object",
  properties: {
    region: { type: "string", "x-mcp-header": "Region" },
    limit: { type: "integer", "x-mcp-header": "Limit" },
    dry: { type: "boolean", "x-mcp-header": "Dry" },
    nested: { type: "object", properties: { zone: { type: "string", "x-mcp-header": "Zone" } } },
    list: { type: "array", items: { type: "string", "x-mcp-header": "Ignored" } },
    query: { type: "string" },
  },
};

Deno.test("headerParamsOf() finds parameters reached through properties only", () => {
  assert.deepEqual(headerParamsOf(schema), [
    { name: "Region", path: ["region"], type: "string" },
    { name: "Limit", path: ["limit"], type: "integer" },
    { name: "Dry", path: ["dry"], type: "boolean" },
    { name: "Zone", path: ["nested", "zone"], type: "string" },
  ]);
  assert.deepEqual(headerParamsOf({ type: "object" }), []);
  assert.deepEqual(headerParamsOf(undefined), []);
});

Deno.test("headerParamsOf() marks a tool with an invalid annotation invalid", () => {
  const invalid = [
    { properties: { a: { type: "number", "x-mcp-header": "A" } } },
    { properties: { a: { type: "object", "x-mcp-header": "A" } } },
    { properties: { a: { type: "string", "x-mcp-header": "" } } },
    { properties: { a: { type: "string", "x-mcp-header": "Bad Name" } } },
    { properties: { a: { type: "string", "x-mcp-header": "X\r\nInjected: 1" } } },
    {
      properties: {
        a: { type: "string", "x-mcp-header": "Dup" },
        b: { type: "string", "x-mcp-header": "dup" },
      },
    },
  ];
  for (const tool of invalid) assert.equal(headerParamsOf(tool), undefined, JSON.stringify(tool));
});

Deno.test("paramHeaderMismatch() requires each mirrored value to match the body", () => {
  const params = headerParamsOf(schema)!;
  const args = { region: "us-west1", limit: 42, dry: true, nested: { zone: "b" }, query: "q" };
  const ok = new Headers({
    "Mcp-Param-Region": "us-west1",
    "Mcp-Param-Limit": "42",
    "Mcp-Param-Dry": "true",
    "Mcp-Param-Zone": "b",
  });
  assert.equal(paramHeaderMismatch(ok, params, args), undefined);
  const encoded = new Headers(ok);
  encoded.set("Mcp-Param-Region", "=?base64?w7xiZXI=?="); // "über" in UTF-8
  assert.equal(paramHeaderMismatch(encoded, params, { ...args, region: "über" }), undefined);
  // Absent or null values: no header expected.
  assert.equal(paramHeaderMismatch(new Headers(), params, { query: "q", region: null }), undefined);
  const wrong: [string, string | null][] = [
    ["Mcp-Param-Region", "eu-central1"], // routed on one region, runs in another
    ["Mcp-Param-Region", null], // value in the body, header missing
    ["Mcp-Param-Limit", "42abc"],
    ["Mcp-Param-Limit", "43"],
    ["Mcp-Param-Limit", "0x2A"], // Number() reads hex and exponents: the header must not
    ["Mcp-Param-Limit", "4.2e1"],
    ["Mcp-Param-Limit", "+42"],
    ["Mcp-Param-Limit", "42."],
    ["Mcp-Param-Dry", "True"],
    ["Mcp-Param-Zone", "=?base64?!!?="],
  ];
  for (const [name, value] of wrong) {
    const headers = new Headers(ok);
    if (value === null) headers.delete(name);
    else headers.set(name, value);
    assert.match(paramHeaderMismatch(headers, params, args) ?? "", new RegExp(name), name);
  }
  assert.equal(
    paramHeaderMismatch(new Headers({ "Mcp-Param-Limit": "42.0" }), [params[1]], { limit: 42 }),
    undefined,
    "integers compare numerically",
  );
  assert.equal(
    paramHeaderMismatch(new Headers({ "Mcp-Param-Limit": "-7" }), [params[1]], { limit: -7 }),
    undefined,
  );
});

Deno.test("paramHeaderMismatch() refuses a header whose value the body lacks", () => {
  const params = headerParamsOf(schema)!;
  const routed = new Headers({ "Mcp-Param-Region": "us-west1" });
  // Routed on a region, but the call names none: the server would pick its own.
  assert.match(paramHeaderMismatch(routed, params, { query: "q" }) ?? "", /Mcp-Param-Region/);
  assert.match(paramHeaderMismatch(routed, params, { region: null }) ?? "", /Mcp-Param-Region/);
  assert.match(paramHeaderMismatch(routed, params, undefined) ?? "", /Mcp-Param-Region/);
  // Positive control: neither header nor value.
  assert.equal(paramHeaderMismatch(new Headers(), params, { query: "q" }), undefined);
});
