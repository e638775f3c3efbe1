import assert from "node:assert/strict";
import { denialsFile, readDenials, writeDenials } from "./denials_store.ts";

Deno.test("writeDenials() stores the last run's record, readDenials() reads it back", async () => {
  const cacheRoot = await Deno.makeTempDir();
  assert.equal(await readDenials(cacheRoot, "time"), undefined);
  const denial = { permission: "sys", value: "homedir", asked: "sys homedir", count: 2 };
  await writeDenials(cacheRoot, {
    server: "time",
    at: "2026-11-30T00:00:00Z",
    command: "run",
    denials: [denial],
  });
  await writeDenials(cacheRoot, {
    server: "time",
    at: "2026-11-30T00:00:01Z",
    command: "call",
    denials: [],
  });
  const record = await readDenials(cacheRoot, "time");
  assert.equal(record?.command, "call");
  assert.deepEqual(record?.denials, []);
  // Written atomically: no temporary file is left beside it.
  assert.deepEqual([...Deno.readDirSync(`${cacheRoot}/servers/time`)].map((e) => e.name), [
    "denials.json",
  ]);
});

Deno.test("readDenials() refuses a damaged record, denialsFile() a name that is not a server's", async () => {
  const cacheRoot = await Deno.makeTempDir();
  Deno.mkdirSync(`${cacheRoot}/servers/time`, { recursive: true });
  Deno.writeTextFileSync(denialsFile(cacheRoot, "time"), '{"denials": "no"}');
  await assert.rejects(() => readDenials(cacheRoot, "time"), SyntaxError);
  Deno.writeTextFileSync(denialsFile(cacheRoot, "time"), "{");
  await assert.rejects(() => readDenials(cacheRoot, "time"), SyntaxError);
  assert.throws(() => denialsFile(cacheRoot, "../escape"), TypeError);
});
