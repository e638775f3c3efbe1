import assert from "node:assert/strict";
import { listManifests } from "../registry/load.ts";
import type { AdoptPackage } from "./adopt_entry.ts";
import { findManifest, looksSecret, mapToManifest } from "./adopt_plan.ts";
import { parseManifest } from "../policy/manifest_text.ts";

const catalogue = (await listManifests()).map((l) => ({
  target: l.manifest.name,
  manifest: l.manifest,
}));

function pkg(p: Partial<AdoptPackage> & Pick<AdoptPackage, "kind" | "name">): AdoptPackage {
  return { args: [], env: {}, passEnv: [], via: "test", ...p };
}

function mapped(p: AdoptPackage) {
  const found = findManifest(p, catalogue);
  assert.ok(found, `no catalogue entry for ${p.name}`);
  return mapToManifest(p, found);
}

Deno.test("mapToManifest() turns filesystem's folder arguments into -p dirs", () => {
  const m = mapped(pkg({
    kind: "npm",
    name: "@modelcontextprotocol/server-filesystem",
    args: ["/home/a/docs", "/home/a/src"],
  }));
  assert.equal(m.target, "filesystem");
  assert.deepEqual(m.params, { dirs: ["/home/a/docs", "/home/a/src"] });
  assert.deepEqual(m.extraArgs, []);
  assert.match(m.notes.join("\n"), /no version: the newest.*pins 2026\.8\.31/);
  assert.equal(m.problem, undefined);
});

Deno.test("mapToManifest() makes an env token a secret and notes a version difference", () => {
  const m = mapped(pkg({
    kind: "npm",
    name: "@modelcontextprotocol/server-github",
    version: "2025.1.1",
    env: { GITHUB_PERSONAL_ACCESS_TOKEN: "ghp_secret", DEBUG: "1" },
  }));
  assert.equal(m.target, "github");
  assert.deepEqual(m.secrets, ["GITHUB_PERSONAL_ACCESS_TOKEN"]);
  assert.deepEqual(m.dropped, ["DEBUG"]);
  assert.match(
    m.notes.join("\n"),
    /ran @modelcontextprotocol\/server-github 2025\.1\.1; github pins/,
  );
});

Deno.test("mapToManifest() reads a parameter from an argument of the manifest's shape", () => {
  const m = mapped(pkg({
    kind: "pypi",
    name: "mcp_server_time",
    args: ["--local-timezone=Europe/Paris", "--verbose"],
  }));
  assert.equal(m.target, "mcp-server-time");
  assert.deepEqual(m.params, { timezone: ["Europe/Paris"] });
  assert.deepEqual(m.extraArgs, ["--verbose"]);
});

Deno.test("mapToManifest() reads a parameter back from a variable the manifest sets", () => {
  const m = mapped(pkg({
    kind: "npm",
    name: "@modelcontextprotocol/server-memory",
    env: { MEMORY_FILE_PATH: "/home/a/mem/memory.jsonl" },
  }));
  assert.deepEqual(m.params, { dir: ["/home/a/mem"] });
  assert.equal(m.problem, undefined);
});

Deno.test("mapToManifest() says which required parameter the entry does not give", () => {
  const m = mapped(pkg({ kind: "npm", name: "@modelcontextprotocol/server-memory" }));
  assert.match(m.problem ?? "", /memory needs dir \(Folder that holds memory\.jsonl\)/);
});

Deno.test("findManifest() matches an image by name whatever its tag, and no other kind", () => {
  assert.equal(
    findManifest(pkg({ kind: "oci", name: "mcp/time", wanted: "latest" }), catalogue)
      ?.target,
    "time-image",
  );
  assert.equal(findManifest(pkg({ kind: "npm", name: "mcp/time" }), catalogue), undefined);
  assert.equal(
    findManifest(
      pkg({ kind: "npm", name: "@modelcontextprotocol/server-brave-search" }),
      catalogue,
    ),
    undefined,
  );
});

Deno.test("looksSecret() flags URL passwords and tokens, not ordinary settings", () => {
  for (
    const secret of [
      "postgres://app:hunter2@db.internal:5432/app",
      "https://user:pw@hooks.example.com/x",
      "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
      "xoxb-2614289134-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ]
  ) assert.ok(looksSecret(secret), secret);
  for (
    const plain of [
      "Europe/Paris",
      "https://db.example.com:5432/app",
      "/home/alice/projects/my-server-2024",
      "info",
      "my-organisation-workspace-name",
      "1",
    ]
  ) assert.ok(!looksSecret(plain), plain);
});

Deno.test("mapToManifest() leaves an entry whose plain variable holds a secret-looking value", () => {
  const manifest = parseManifest(JSON.stringify({
    name: "db",
    description: "db",
    package: "npm:db-server@1.0.0",
    env: {
      DATABASE_URL: { description: "connection string" },
      LOG_LEVEL: { description: "log level" },
    },
  }));
  const canary = "postgres://app:CANARYpw@db.internal/app";
  const bad = mapToManifest(
    pkg({ kind: "npm", name: "db-server", env: { DATABASE_URL: canary, LOG_LEVEL: "info" } }),
    { target: "db", manifest },
  );
  assert.match(bad.problem ?? "", /DATABASE_URL holds what looks like a secret/);
  // Positive control: a URL without a password is a plain setting and is kept.
  const good = mapToManifest(
    pkg({ kind: "npm", name: "db-server", env: { DATABASE_URL: "postgres://db.internal/app" } }),
    { target: "db", manifest },
  );
  assert.equal(good.problem, undefined);
  assert.equal(good.env.DATABASE_URL, "postgres://db.internal/app");
});

Deno.test("findManifest() matches an npx -p bin only with a manifest of that bin", () => {
  const manifest = (spec: string) =>
    parseManifest(JSON.stringify({ name: "x", description: "x", package: spec }));
  const plainSrv = { target: "plain", manifest: manifest("npm:@a/srv@1.0.0") };
  const toolBin = { target: "tool", manifest: manifest("npm:@a/srv@1.0.0/srv-tool") };
  const run = (bin?: string) => pkg({ kind: "npm", name: "@a/srv", ...(bin ? { bin } : {}) });
  assert.equal(findManifest(run("srv-tool"), [plainSrv, toolBin])?.target, "tool");
  assert.equal(findManifest(run("srv-tool"), [plainSrv]), undefined);
  // The bin named like the package is the one npm runs without a bin.
  assert.equal(findManifest(run("srv"), [toolBin, plainSrv])?.target, "plain");
  assert.equal(findManifest(run(), [toolBin, plainSrv])?.target, "plain");
});
