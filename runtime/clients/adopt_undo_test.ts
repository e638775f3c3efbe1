import assert from "node:assert/strict";
import { join } from "node:path";
import { recordAdoption, undoAdoption, undoRecordPath } from "./adopt_undo.ts";

const enc = new TextEncoder();

Deno.test("undoAdoption() puts back the first original bytes, BOM and CRLF included", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "mcp.json");
  const original = enc.encode(
    '\uFEFF{\r\n  "mcpServers": {"a": {"env": {"T": "secret"}}}\r\n}\r\n',
  );
  const first = enc.encode('\uFEFF{\r\n  "mcpServers": {"a": {"command": "deno"}}\r\n}\r\n');
  const second = enc.encode(
    '\uFEFF{\r\n  "mcpServers": {"a": {"command": "deno", "x": 1}}\r\n}\r\n',
  );
  await Deno.writeFile(file, first);
  await recordAdoption(file, original, first);
  assert.equal((await Deno.stat(undoRecordPath(file))).mode! & 0o777, 0o600);
  // A second adoption of the unchanged file keeps the first original.
  await Deno.writeFile(file, second);
  await recordAdoption(file, first, second);
  const result = await undoAdoption(file);
  assert.equal(result.restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
  assert.equal(await Deno.stat(undoRecordPath(file)).then(() => true, () => false), false);
});

Deno.test("undoAdoption() refuses a file changed since, unless forced", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "config.yaml");
  const original = enc.encode("extensions: {}\n");
  const adopted = enc.encode("extensions: {a: 1}\n");
  await recordAdoption(file, original, adopted);
  await Deno.writeFile(file, enc.encode("extensions: {a: 2}\n"));
  const refused = await undoAdoption(file);
  assert.equal(refused.restored, false);
  assert.match(refused.reason!, /changed since adopt wrote it/);
  assert.equal(await Deno.readTextFile(file), "extensions: {a: 2}\n");
  assert.equal((await undoAdoption(file, { force: true })).restored, true);
  assert.deepEqual(await Deno.readFile(file), original);
  assert.match((await undoAdoption(file)).reason!, /has not rewritten it/);
});
