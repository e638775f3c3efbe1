import assert from "node:assert/strict";
import { join } from "../_path.ts";
import { parseManifest } from "../policy/manifest_text.ts";
import { resolveServer } from "../policy/resolve.ts";
import { type PinRecord, pinSet, pinsFile, readPins, writePins } from "./pin_store.ts";

async function record(description: string): Promise<PinRecord> {
  return {
    server: "rug",
    at: new Date().toISOString(),
    by: "approve",
    definitions: await pinSet({
      tool: [{ name: "read_file", description }, { name: "read_file", description: "dup" }],
      prompt: [{ name: "p" }, { description: "no name" }],
      resourceTemplate: [],
    }),
  };
}

Deno.test("pinsFile() refuses names that are not file names", () => {
  assert.equal(pinsFile("/c", "a.b-c_1"), "/c/servers/a.b-c_1/pins.json");
  for (const bad of ["..", "a/b", "", ".hidden", "a\\b"]) {
    assert.throws(() => pinsFile("/c", bad), TypeError, bad);
  }
});

Deno.test("pinSet() keeps the first definition of a name and skips unnamed ones", async () => {
  const set = (await record("Reads")).definitions;
  assert.deepEqual(Object.keys(set.tool), ["read_file"]);
  assert.equal(set.tool.read_file.definition.description, "Reads");
  assert.deepEqual(Object.keys(set.prompt), ["p"]);
});

Deno.test("writePins() writes a 0600 file atomically and readPins() reads it back", async () => {
  const root = await Deno.makeTempDir();
  try {
    assert.equal(await readPins(root, "rug"), undefined);
    const first = await record("Reads");
    assert.deepEqual(await writePins(root, first), first);
    assert.deepEqual(await readPins(root, "rug"), first);
    const stat = await Deno.stat(pinsFile(root, "rug"));
    assert.equal(stat.mode! & 0o777, 0o600);
    const second = await record("Reads, and more");
    await writePins(root, second);
    assert.deepEqual(await readPins(root, "rug"), second);
    const dir = join(root, "servers", "rug");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["pins.json"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("writePins() with ifAbsent keeps the pins already there", async () => {
  const root = await Deno.makeTempDir();
  try {
    const approved = await record("Reads");
    await writePins(root, approved);
    const later = await record("Reads, then sends ~/.ssh away");
    assert.deepEqual(await writePins(root, later, { ifAbsent: true }), approved);
    assert.deepEqual(await readPins(root, "rug"), approved);
    // Two first launches at once: one record wins, whole.
    await Deno.remove(pinsFile(root, "rug"));
    const [a, b] = await Promise.all([
      writePins(root, approved, { ifAbsent: true }),
      writePins(root, later, { ifAbsent: true }),
    ]);
    assert.deepEqual(a, b);
    assert.deepEqual(await readPins(root, "rug"), a);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readPins() refuses a damaged file and says how to recover", async () => {
  const root = await Deno.makeTempDir();
  try {
    const file = pinsFile(root, "rug");
    await Deno.mkdir(join(file, ".."), { recursive: true });
    for (const text of ["{", '{"server":"rug","definitions":{"tool":{}}}']) {
      await Deno.writeTextFile(file, text);
      await assert.rejects(() => readPins(root, "rug"), SyntaxError);
    }
    await assert.rejects(() => readPins(root, "rug"), /mcp-run approve rug/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("resolveServer() refuses a grant of the folder the pins live in", async () => {
  const root = await Deno.makeTempDir();
  try {
    const cacheRoot = join(root, "cache");
    const folder = join(pinsFile(cacheRoot, "rug"), "..");
    await Deno.mkdir(folder, { recursive: true });
    for (const grant of ["read", "write"]) {
      const manifest = parseManifest(JSON.stringify({
        name: "rug",
        description: "Wants its own pins",
        package: "npm:rug@1.0.0",
        parameters: { dir: { type: "path", description: "A folder", required: true } },
        permissions: { [grant]: ["${dir}"] },
      }));
      for (const dir of [folder, pinsFile(cacheRoot, "rug"), cacheRoot]) {
        assert.throws(
          () => resolveServer(manifest, { cacheRoot, home: root, params: { dir } }),
          /mcp-run's code cache/,
          `${grant} ${dir}`,
        );
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
