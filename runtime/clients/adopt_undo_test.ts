import assert from "node:assert/strict";
import { join } from "node:path";
import { recordAdoption, undoAdoption, undoRecordPath } from "./adopt_undo.ts";

const enc = new TextEncoder();

async function scene(name: string): Promise<{ file: string; dir: string; work: string }> {
  const work = await Deno.makeTempDir();
  await Deno.mkdir(join(work, "repo", ".vscode"), { recursive: true });
  return { file: join(work, "repo", ".vscode", name), dir: join(work, "state", "undo"), work };
}

Deno.test("undoAdoption() puts back the first original bytes, BOM and CRLF included", async () => {
  const { file, dir } = await scene("mcp.json");
  const original = enc.encode(
    '\uFEFF{\r\n  "mcpServers": {"a": {"env": {"T": "secret"}}}\r\n}\r\n',
  );
  const first = enc.encode('\uFEFF{\r\n  "mcpServers": {"a": {"command": "deno"}}\r\n}\r\n');
  const second = enc.encode(
    '\uFEFF{\r\n  "mcpServers": {"a": {"command": "deno", "x": 1}}\r\n}\r\n',
  );
  await Deno.writeFile(file, first);
  await recordAdoption(file, original, first, { dir });
  const record = await undoRecordPath(file, { dir });
  assert.equal((await Deno.stat(record)).mode! & 0o777, 0o600);
  // A second adoption of the unchanged file keeps the first original.
  await Deno.writeFile(file, second);
  await recordAdoption(file, first, second, { dir });
  const result = await undoAdoption(file, { dir });
  assert.equal(result.restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
  assert.equal(await Deno.stat(record).then(() => true, () => false), false);
});

Deno.test("recordAdoption() keeps the original's secret values out of the file's folder", async () => {
  const { file, dir, work } = await scene("mcp.json");
  const canary = `ghp_UNDOCANARY${crypto.randomUUID().replaceAll("-", "")}`;
  const original = enc.encode(`{"servers": {"a": {"env": {"T": "${canary}"}}}}`);
  const adopted = enc.encode('{"servers": {"a": {"env": {"T": "${input:T}"}}}}');
  await Deno.writeFile(file, adopted);
  const path = await recordAdoption(file, original, adopted, { dir });
  assert.ok(path.startsWith(dir + "/"), path);
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  // The canary is nowhere under the repository, and the record's name does not name the file.
  for await (const entry of Deno.readDir(join(work, "repo", ".vscode"))) {
    const text = await Deno.readTextFile(join(work, "repo", ".vscode", entry.name));
    assert.ok(!text.includes(canary), `${entry.name} holds the secret`);
  }
  assert.ok(!path.includes("mcp.json"));
  // Positive control: the record does hold the original (so undo can put it back).
  assert.ok(atob(JSON.parse(await Deno.readTextFile(path)).original).includes(canary));
  assert.equal((await undoAdoption(file, { dir })).restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
});

Deno.test("undoAdoption() takes over a record an older version kept beside the file", async () => {
  const { file, dir } = await scene("mcp.json");
  const original = enc.encode('{"servers": {"a": {"env": {"T": "old-secret"}}}}');
  const adopted = enc.encode('{"servers": {}}');
  await Deno.writeFile(file, adopted);
  const legacy = join(file, "..", ".mcp.json.mcp-run-adopt.json");
  const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", adopted))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  await Deno.writeTextFile(
    legacy,
    JSON.stringify({
      v: 1,
      file: await Deno.realPath(file),
      original: btoa(
        String.fromCharCode(...original),
      ),
      adopted: hash,
    }),
  );
  assert.equal((await undoAdoption(file, { dir })).restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
  assert.equal(await Deno.stat(legacy).then(() => true, () => false), false);
});

Deno.test("undoAdoption() writes back bytes that are not UTF-8 exactly as they were", async () => {
  const { file, dir } = await scene("config.yaml");
  const original = Uint8Array.from([...enc.encode("extensions: {}\n# caf"), 0xe9, 0x0a]);
  const adopted = enc.encode("extensions: {a: 1}\n");
  await Deno.writeFile(file, adopted);
  await recordAdoption(file, original, adopted, { dir });
  assert.equal((await undoAdoption(file, { dir })).restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
});

Deno.test("undoAdoption() refuses a file changed since, unless forced", async () => {
  const { file, dir } = await scene("config.yaml");
  const original = enc.encode("extensions: {}\n");
  const adopted = enc.encode("extensions: {a: 1}\n");
  await recordAdoption(file, original, adopted, { dir });
  await Deno.writeFile(file, enc.encode("extensions: {a: 2}\n"));
  const refused = await undoAdoption(file, { dir });
  assert.equal(refused.restored, false);
  assert.match(refused.reason!, /changed since adopt wrote it/);
  assert.equal(await Deno.readTextFile(file), "extensions: {a: 2}\n");
  assert.equal((await undoAdoption(file, { dir, force: true })).restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
  assert.match((await undoAdoption(file, { dir })).reason!, /has not rewritten it/);
});
