import assert from "node:assert/strict";
import { npmPackageDir } from "./package_dir.ts";

Deno.test("npmPackageDir() mirrors Deno's npm cache layout", () => {
  const cases: [string, string | undefined, string][] = [
    [
      "npm:@notionhq/notion-mcp-server@2.5.2",
      undefined,
      "/d/npm/registry.npmjs.org/@notionhq/notion-mcp-server/2.5.2",
    ],
    ["npm:tavily-mcp@0.2.22", undefined, "/d/npm/registry.npmjs.org/tavily-mcp/0.2.22"],
    [
      "npm:@bytebase/dbhub@1.4.0/dbhub",
      undefined,
      "/d/npm/registry.npmjs.org/@bytebase/dbhub/1.4.0",
    ],
    [
      "npm:x@1.0.0",
      "http://npm.corp.example:8080/mirror/npm/",
      "/d/npm/npm.corp.example_8080/mirror/npm/x/1.0.0",
    ],
    ["npm:x@1.0.0", "http://127.0.0.1:4873/", "/d/npm/4873/x/1.0.0"],
  ];
  for (const [specifier, registry, want] of cases) {
    assert.equal(npmPackageDir(specifier, "/d", registry), want, specifier);
  }
});

Deno.test("npmPackageDir() refuses what has no npm package folder", () => {
  for (const bad of ["jsr:@sandboxed/time@0.1.0", "/srv/mod.ts", "npm:Upper@1.0.0", "npm:x"]) {
    assert.throws(() => npmPackageDir(bad, "/d"), TypeError, bad);
  }
});
