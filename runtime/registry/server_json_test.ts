import assert from "node:assert/strict";
import { fromServerJson, MCP_RUN_META, PUBLISHER_META, toServerJson } from "./server_json.ts";
import { ManifestError } from "../policy/manifest.ts";
import { parseManifest } from "../policy/manifest_text.ts";
import { listManifests } from "./load.ts";

Deno.test("toServerJson() and fromServerJson() round-trip every registry manifest", async () => {
  const all = await listManifests();
  assert.ok(all.length >= 12);
  for (const { manifest } of all) {
    const exported = JSON.parse(JSON.stringify(toServerJson(manifest)));
    const imported = fromServerJson(exported);
    assert.equal(imported.draft, false, manifest.name);
    assert.deepEqual(imported.manifest, manifest, manifest.name);
    assert.deepEqual(parseManifest(imported.text), manifest, manifest.name);
  }
});

Deno.test("toServerJson() fills the standard fields from the manifest", () => {
  const m = parseManifest(JSON.stringify({
    name: "gh",
    description: "GitHub",
    package: "npm:@acme/gh-mcp@1.2.3",
    homepage: "https://github.com/acme/gh-mcp",
    args: ["--read-only"],
    permissions: { net: ["api.github.com"] },
    env: { GH_HOST: { description: "host", required: false } },
    secrets: { GH_TOKEN: { description: "token", required: true } },
  }));
  const json = toServerJson(m, { namespace: "io.github.acme" });
  assert.equal(json.name, "io.github.acme/gh");
  assert.equal(json.version, "1.2.3");
  assert.deepEqual(json.packages, [{
    registryType: "npm",
    registryBaseUrl: "https://registry.npmjs.org",
    identifier: "@acme/gh-mcp",
    version: "1.2.3",
    transport: { type: "stdio" },
    packageArguments: [{ type: "positional", value: "--read-only" }],
    environmentVariables: [
      { name: "GH_HOST", description: "host", isRequired: false, isSecret: false },
      { name: "GH_TOKEN", description: "token", isRequired: true, isSecret: true },
    ],
  }]);
  const meta = json._meta?.[PUBLISHER_META] as Record<string, { permissions: unknown }>;
  assert.deepEqual(meta[MCP_RUN_META].permissions, m.permissions);
});

Deno.test("fromServerJson() imports a server.json without permissions only as a draft", () => {
  const imported = fromServerJson({
    name: "io.github.acme/Weather_Server",
    description: "Weather forecasts",
    version: "2.0.0",
    websiteUrl: "https://acme.example/weather",
    packages: [{
      registryType: "npm",
      identifier: "@acme/weather-mcp",
      version: "2.0.0",
      transport: { type: "stdio" },
      packageArguments: [{ type: "positional", valueHint: "city" }],
      environmentVariables: [
        { name: "WEATHER_API_KEY", description: "key", isRequired: true, isSecret: true },
        { name: "UNITS", description: "metric or imperial", isRequired: false },
      ],
    }],
  });
  assert.equal(imported.draft, true);
  assert.equal(imported.manifest, undefined);
  assert.match(imported.text, /^\/\/ DRAFT imported from server\.json/);
  assert.match(imported.text, /"package": "npm:@acme\/weather-mcp@2\.0\.0"/);
  assert.match(imported.text, /"WEATHER_API_KEY": \{\s*"description": "key",\s*"required": true/);
  assert.ok(imported.todo.some((t) => t.startsWith("permissions:")));
  assert.ok(imported.todo.some((t) => t.startsWith("args:")));
  // The draft is never mistaken for a manifest that needs no permissions.
  assert.throws(() => parseManifest(imported.text), (e: Error) => {
    assert.ok(e instanceof ManifestError);
    assert.ok(e.problems.some((p) => p.path === "permissions"));
    return true;
  });
});

Deno.test("fromServerJson() refuses invalid _meta manifests and non-server.json input", () => {
  assert.throws(() => fromServerJson({} as never), TypeError);
  assert.throws(
    () =>
      fromServerJson({
        name: "io.github.evil/x",
        description: "x",
        version: "1.0.0",
        _meta: {
          [PUBLISHER_META]: {
            [MCP_RUN_META]: {
              name: "x",
              description: "x",
              package: "npm:x@^1.0.0",
              permissions: { net: ["*"] },
            },
          },
        },
      }),
    ManifestError,
  );
});
