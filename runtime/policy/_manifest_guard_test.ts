import assert from "node:assert/strict";
import { type ManifestError, readManifest } from "./manifest.ts";

const BASE = `"name": "fs", "description": "Files", "package": "npm:fs-server@1.0.0"`;

Deno.test("readManifest() reads the tools section and the scan mode", async () => {
  const manifest = await readManifest(`{ ${BASE},
    "tools": { "allow": ["read_*", "list"], "deny": ["read_secret"], "readOnly": true },
    "scan": "warn" }`);
  assert.deepEqual(manifest.tools, {
    allow: ["read_*", "list"],
    deny: ["read_secret"],
    readOnly: true,
  });
  assert.equal(manifest.scan, "warn");
  const plain = await readManifest(`{ ${BASE} }`);
  assert.equal(plain.tools, undefined);
  assert.equal(plain.scan, undefined);
});

Deno.test("readManifest() names each wrong field of tools and scan", async () => {
  await assert.rejects(
    readManifest(`{ ${BASE},
      "tools": { "allow": ["a b", 3], "deny": "x", "readOnly": "yes", "only": [] },
      "scan": "off" }`),
    (error: ManifestError) => {
      assert.deepEqual(error.problems.map((p) => p.path), [
        "scan",
        "tools.only",
        "tools.allow[1]",
        "tools.allow[0]",
        "tools.deny",
        "tools.readOnly",
      ]);
      assert.match(error.message, /"off" is not a scan mode; use "warn" or "block"/);
      return true;
    },
  );
});
