import assert from "node:assert/strict";
import { ManifestError } from "./manifest.ts";
import { parseManifest } from "./manifest_text.ts";
import { MANIFEST_FIELDS, MANIFEST_PATTERNS, manifestSchema } from "./manifest_schema.ts";

const SCHEMA_FILE = new URL("../../manifests/manifest.schema.json", import.meta.url);

Deno.test("manifestSchema() is what manifests/manifest.schema.json holds (run `deno task schema`)", async () => {
  const committed = JSON.parse(await Deno.readTextFile(SCHEMA_FILE));
  // Compared as text so that a change of field order counts too.
  assert.equal(JSON.stringify(committed, null, 2), JSON.stringify(manifestSchema(), null, 2));
});

function accepts(fields: Record<string, unknown>): boolean {
  const manifest = { name: "demo", description: "A demo", package: "npm:demo@1.0.0", ...fields };
  try {
    parseManifest(JSON.stringify(manifest));
    return true;
  } catch (error) {
    if (error instanceof ManifestError) return false;
    throw error;
  }
}

function schemaAcceptsPackage(pkg: string): boolean {
  const { npmPackage, jsrPackage, localPackage } = MANIFEST_PATTERNS;
  return [npmPackage, jsrPackage, localPackage].some((p) => new RegExp(p, "u").test(pkg));
}

Deno.test("manifestSchema() package patterns agree with parseManifest()", () => {
  const cases = [
    "npm:demo@1.0.0",
    "npm:@scope/demo@1.2.3-beta.1+build.5/bin/cli",
    "npm:demo@^1.0.0",
    "npm:demo@latest",
    "npm:Demo@1.0.0",
    "jsr:@scope/name@0.1.0",
    "jsr:@scope/name@0.1.0/export",
    "jsr:name@0.1.0",
    "jsr:@scope/name@~0.1",
    "./server.ts",
    "../up/server.mjs",
    "/abs/server.js",
    "server.ts",
    "./server.py",
    "./nul\0.ts",
    "./two\nlines.ts",
    "https://example.com/x.ts",
  ];
  for (const pkg of cases) {
    assert.equal(schemaAcceptsPackage(pkg), accepts({ package: pkg }), pkg);
  }
});

Deno.test("manifestSchema() name and environment patterns agree with parseManifest()", () => {
  for (const name of ["demo", "a-1", "Demo", "-x", "x_y", "a".repeat(64), "a".repeat(65)]) {
    assert.equal(new RegExp(MANIFEST_PATTERNS.name, "u").test(name), accepts({ name }), name);
  }
  for (const entry of ["GITHUB_TOKEN", "APP_*", "_X", "1X", "A-B", "APP*", "APP_**"]) {
    const schema = new RegExp(MANIFEST_PATTERNS.envEntry, "u").test(entry);
    assert.equal(schema, accepts({ permissions: { env: [entry] } }), entry);
  }
});

Deno.test("manifestSchema() allows exactly the fields parseManifest() allows", () => {
  const schema = manifestSchema() as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(schema.properties), [...MANIFEST_FIELDS.root]);
  for (const field of MANIFEST_FIELDS.root) {
    if (field === "package" || field === "name" || field === "description") continue;
    assert.ok(!accepts({ [`${field}x`]: "" }), `${field}x is refused`);
  }
  assert.ok(!accepts({ secrets: { TOKEN: { description: "t", value: "v" } } }));
  assert.ok(accepts({ env: { MODE: { description: "m", value: "v" } } }));
});
