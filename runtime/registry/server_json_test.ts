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

Deno.test("toServerJson() lists PyPI and OCI packages with the official registry types", () => {
  const digest = "a".repeat(64);
  const base = `"name": "t", "description": "T", "permissions": {}`;
  const pypi = toServerJson(
    parseManifest(`{${base}, "package": "pypi:mcp-server-time[tz]@2026.10.19/mcp-server-time"}`),
  );
  assert.deepEqual(pypi.packages?.[0], {
    registryType: "pypi",
    registryBaseUrl: "https://pypi.org",
    identifier: "mcp-server-time",
    version: "2026.10.19",
    transport: { type: "stdio" },
  });
  assert.equal(pypi.version, "2026.10.19");
  const oci = toServerJson(parseManifest(`{${base}, "package": "oci:mcp/time@sha256:${digest}"}`));
  assert.deepEqual(oci.packages?.[0], {
    registryType: "oci",
    identifier: `mcp/time@sha256:${digest}`,
    transport: { type: "stdio" },
  });
});

Deno.test("fromServerJson() drafts pypi: and oci: packages, and asks for a digest for a tag", () => {
  const digest = "b".repeat(64);
  const draft = (pkg: Record<string, unknown>) =>
    fromServerJson({
      name: "io.github.acme/x",
      description: "X",
      version: "1.0.0",
      packages: [{ transport: { type: "stdio" }, ...pkg } as never],
    });
  assert.match(
    draft({ registryType: "pypi", identifier: "mcp-server-fetch", version: "2026.10.24" }).text,
    /"package": "pypi:mcp-server-fetch@2026\.10\.24"/,
  );
  assert.match(
    draft({ registryType: "oci", identifier: `ghcr.io/acme/x@sha256:${digest}` }).text,
    new RegExp(`"package": "oci:ghcr\\.io/acme/x@sha256:${digest}"`),
  );
  assert.match(
    draft({ registryType: "pypi", identifier: "x-mcp", version: ">=1.0" }).todo.join("\n"),
    /give the exact version of the PyPI package x-mcp/,
  );
  const tagged = draft({ registryType: "oci", identifier: "ghcr.io/acme/x:1.0.0" });
  assert.match(tagged.todo.join("\n"), /pin the image ghcr\.io\/acme\/x:1\.0\.0 by digest/);
  assert.match(
    draft({ registryType: "nuget", identifier: "Acme.Mcp", version: "1.0.0" }).todo.join("\n"),
    /only npm, jsr, pypi and oci packages run under mcp-run/,
  );
});
