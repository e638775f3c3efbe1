/** `config` and `install` resolve a server exactly as `run` does, npm mirror included. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { startNpmRegistry } from "./npm_registry.ts";

const MANIFEST = join(ROOT, "tests", "testdata", "clients", "package_dir.jsonc");

Deno.test("mcp-run config and install grant ${package_dir} under the --npm-registry mirror", async () => {
  const registry = await startNpmRegistry();
  try {
    await registry.add("mcp-run-package-dir-fixture", "1.0.0", { "index.js": "export {};\n" });
    const work = tempDir("mcp-run-resolve-");
    const home = join(work, "home");
    Deno.mkdirSync(home);
    const cache = join(work, "cache");
    const common = ["--cache", cache, "--npm-registry", registry.url];
    const port = new URL(registry.url).port;
    const readFlag = (args: string[]) => args.find((a) => a.startsWith("--allow-read="));

    // run --dry-run is the reference.
    const run = await cli(["run", MANIFEST, "--dry-run", "--format", "json", ...common], {
      env: { HOME: home },
    });
    assert.equal(run.code, 0, run.stderr);
    const expected = readFlag(JSON.parse(run.stdout).args);
    assert.ok(expected?.includes(`/npm/${port}/mcp-run-package-dir-fixture/1.0.0`), expected);

    const plain = await cli(["config", MANIFEST, "--form", "deno", ...common], {
      env: { HOME: home },
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(readFlag(JSON.parse(plain.stdout).args), expected);

    const cursor = await cli(["config", MANIFEST, "--client", "cursor", ...common], {
      env: { HOME: home },
    });
    assert.equal(cursor.code, 0, cursor.stderr);
    const entry = JSON.parse(cursor.stdout).mcpServers["package-dir"];
    assert.equal(readFlag(entry.args), expected);

    const file = join(work, "mcp.json");
    const install = await cli(
      ["install", MANIFEST, "--client", "cursor", "--file", file, ...common],
      { env: { HOME: home } },
    );
    assert.equal(install.code, 0, install.stderr);
    const installed = JSON.parse(Deno.readTextFileSync(file)).mcpServers["package-dir"];
    assert.equal(readFlag(installed.args), expected);
    // The code came from the mirror.
    assert.ok(
      registry.requests.includes("GET /mcp-run-package-dir-fixture"),
      registry.requests.join(),
    );
  } finally {
    await registry.close();
  }
});
