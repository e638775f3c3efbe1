import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildRegistryIndex, BUILTIN_MANIFESTS, loadManifest, readRegistryIndex } from "./load.ts";

function tempDir(): string {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-index-" }));
  globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  return dir;
}

Deno.test("buildRegistryIndex() of manifests/ is the committed manifests/index.json", async () => {
  const committed = JSON.parse(await Deno.readTextFile(new URL("index.json", BUILTIN_MANIFESTS)));
  const built = await buildRegistryIndex(fileURLToPath(BUILTIN_MANIFESTS));
  assert.deepEqual(built, committed);
});

Deno.test("readRegistryIndex() reads what buildRegistryIndex() writes, and nothing when absent", async () => {
  const dir = tempDir();
  const source = pathToFileURL(dir + "/");
  assert.equal((await readRegistryIndex(source)).size, 0);
  const manifest = { name: "alpha", description: "A", package: "npm:alpha@1.0.0" };
  await Deno.writeTextFile(join(dir, "alpha.jsonc"), JSON.stringify(manifest));
  const index = await buildRegistryIndex(dir);
  assert.deepEqual(index.servers.map((s) => s.name), ["alpha"]);
  await Deno.writeTextFile(join(dir, "index.json"), JSON.stringify(index));
  assert.deepEqual([...await readRegistryIndex(source)], [["alpha", index.servers[0].sha256]]);
  const loaded = await loadManifest("alpha", { sources: [source] });
  assert.equal(loaded.manifest.name, "alpha");
});

Deno.test("readRegistryIndex() refuses an index that is not JSON, not a list, lacks a digest or names a path", async () => {
  const dir = tempDir();
  const source = pathToFileURL(dir + "/");
  const cases: [string, RegExp][] = [
    ["{", /not JSON/],
    ['{"servers": {}}', /expected \{"servers"/],
    ['{"servers": [{"name": "a"}]}', /needs a registry name .* and a 64-digit hex sha256/],
    ['{"servers": [{"name": "a", "sha256": "ABC"}]}', /and a 64-digit hex sha256/],
    // Names that loadManifest() would take for a local file path.
    [`{"servers": [{"name": "../../etc/passwd", "sha256": "${"a".repeat(64)}"}]}`, /registry name/],
    [`{"servers": [{"name": "secret.json", "sha256": "${"a".repeat(64)}"}]}`, /registry name/],
  ];
  for (const [text, message] of cases) {
    await Deno.writeTextFile(join(dir, "index.json"), text);
    await assert.rejects(() => readRegistryIndex(source), (error: Error) => {
      assert.ok(error instanceof SyntaxError, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});
