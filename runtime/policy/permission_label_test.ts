import assert from "node:assert/strict";
import { loadManifest } from "../registry/load.ts";
import { permissionLabel, permissionSummary } from "./permission_label.ts";
import { parseManifest } from "./manifest_text.ts";
import { searchManifests } from "../registry/search.ts";

Deno.test("permissionLabel() says what a registry entry may touch in plain words", async () => {
  const cases: [string, string[], string][] = [
    ["time", ["Reads no files", "Writes no files", "No network access"], "no permissions"],
    [
      "filesystem",
      [
        "Reads: the folders you choose (dirs)",
        "Writes: the folders you choose (dirs)",
        "No network access",
      ],
      "read: the folders you choose · write: the folders you choose",
    ],
    [
      "github",
      [
        "Reads no files",
        "Writes no files",
        "Reaches: api.github.com",
        "Receives secrets: GITHUB_PERSONAL_ACCESS_TOKEN",
      ],
      "net: api.github.com · 1 secret",
    ],
    [
      "gitlab",
      [
        "Reads no files",
        "Writes no files",
        "Reaches: the hosts you choose (gitlab_host) (default gitlab.com)",
        "Reads settings: GITLAB_API_URL",
        "Receives secrets: GITLAB_PERSONAL_ACCESS_TOKEN",
      ],
      "net: the hosts you choose · 1 secret",
    ],
    [
      "notion",
      [
        "Reads: its own package files",
        "Writes no files",
        "Reaches: api.notion.com",
        "Receives secrets: NOTION_TOKEN",
      ],
      "read: its own package files · net: api.notion.com · 1 secret",
    ],
  ];
  for (const [name, label, summary] of cases) {
    const { manifest } = await loadManifest(name);
    assert.deepEqual(permissionLabel(manifest), label, name);
    assert.equal(permissionSummary(manifest), summary, name);
  }
});

Deno.test("permissionLabel() puts programs and native libraries first, in capitals", () => {
  const m = parseManifest(JSON.stringify({
    name: "b",
    description: "d",
    package: "npm:b@1.0.0",
    permissions: { run: ["chromium"], sys: ["hostname"] },
  }));
  assert.equal(permissionLabel(m)[0], "STARTS PROGRAMS (docker and --trust only): chromium");
  assert.equal(permissionLabel(m).at(-1), "Reads system information: hostname");
  assert.equal(permissionSummary(m), "RUNS PROGRAMS/LIBRARIES");
});

Deno.test("searchManifests() needs every word and ranks name matches first", () => {
  const make = (name: string, description: string, net: string[] = []) =>
    parseManifest(JSON.stringify({
      name,
      description,
      package: `npm:${name}@1.0.0`,
      permissions: { net },
    }));
  const all = [
    make("notion", "Pages and databases"),
    make("postgres", "SQL on one PostgreSQL database"),
    make("github", "Repositories and issues", ["api.github.com"]),
  ];
  const names = (words: string[]) => searchManifests(all, words).map((m) => m.name);
  assert.deepEqual(names(["database"]), ["notion", "postgres"]);
  assert.deepEqual(names(["postgres"]), ["postgres"]);
  assert.deepEqual(names(["SQL", "database"]), ["postgres"]);
  assert.deepEqual(names(["api.github.com"]), ["github"]);
  assert.deepEqual(names(["database", "github"]), []);
  assert.equal(names([]).length, 3);
});

Deno.test("permissionLabel() and permissionSummary() say that a pypi: or oci: server runs only in a container", () => {
  const pypi = parseManifest(
    `{"name": "f", "description": "d", "package": "pypi:mcp-server-fetch@2026.10.24",
      "permissions": {"net": ["example.com"]}}`,
  );
  assert.equal(
    permissionLabel(pypi)[0],
    "Runs only in a container: a Python package from PyPI, network through mcp-run's proxy",
  );
  assert.equal(permissionSummary(pypi), "container · net: example.com");
  const oci = parseManifest(
    `{"name": "t", "description": "d", "package": "oci:mcp/time@sha256:${"c".repeat(64)}"}`,
  );
  assert.equal(permissionLabel(oci)[0], "Runs only in a container: an image pinned by digest");
  const npm = parseManifest(`{"name": "t", "description": "d", "package": "npm:t@1.0.0"}`);
  assert.ok(!permissionLabel(npm).some((line) => line.includes("container")));
});
