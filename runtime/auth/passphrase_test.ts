import assert from "node:assert/strict";
import { join } from "node:path";
import {
  hashPassphrase,
  parsePassphraseRecord,
  PASSPHRASE_ITERATIONS,
  readPassphraseFile,
  verifyPassphrase,
  writePassphraseFile,
} from "./passphrase.ts";

const P = "correct horse battery staple";

Deno.test("hashPassphrase() salts a slow hash that verifyPassphrase() accepts", async () => {
  const a = await hashPassphrase(P);
  assert.equal(a.alg, "PBKDF2-SHA-256");
  assert.equal(a.iterations, PASSPHRASE_ITERATIONS);
  assert.ok(!JSON.stringify(a).includes("horse"));
  assert.ok(await verifyPassphrase(P, a));
  assert.ok(!(await verifyPassphrase(P + " ", a)));
  assert.ok(!(await verifyPassphrase("", a)));
  const b = await hashPassphrase(P, { iterations: 100_000 });
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.hash, b.hash);
  assert.ok(await verifyPassphrase(P, b));
});

Deno.test("hashPassphrase() normalises Unicode so composed and decomposed forms match", async () => {
  const r = await hashPassphrase("caf\u00e9 au lait noir", { iterations: 100_000 });
  assert.ok(await verifyPassphrase("cafe\u0301 au lait noir", r));
});

Deno.test("hashPassphrase() refuses short passphrases and weak iteration counts", async () => {
  await assert.rejects(hashPassphrase("short"), RangeError);
  await assert.rejects(hashPassphrase("x".repeat(1025)), RangeError);
  await assert.rejects(hashPassphrase(P, { iterations: 1000 }), RangeError);
  await assert.rejects(hashPassphrase(P, { iterations: 1.5e5 + 0.5 }), RangeError);
});

Deno.test("parsePassphraseRecord() refuses malformed and weakened records", async () => {
  const good = await hashPassphrase(P, { iterations: 100_000 });
  assert.deepEqual(parsePassphraseRecord(JSON.stringify(good)), good);
  for (
    const bad of [
      "nope",
      "null",
      JSON.stringify({ ...good, alg: "plain" }),
      JSON.stringify({ ...good, salt: "short" }),
      JSON.stringify({ ...good, hash: good.hash + "AA" }),
      JSON.stringify({ ...good, iterations: "600000" }),
    ]
  ) assert.throws(() => parsePassphraseRecord(bad), SyntaxError, bad);
  assert.throws(
    () => parsePassphraseRecord(JSON.stringify({ ...good, iterations: 1 })),
    RangeError,
  );
});

Deno.test("writePassphraseFile() writes a 0600 file that readPassphraseFile() reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "conf", "passphrase.json");
    assert.equal(await readPassphraseFile(file), null);
    const record = await hashPassphrase(P, { iterations: 100_000 });
    await writePassphraseFile(file, record);
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.deepEqual(await readPassphraseFile(file), record);
    // An existing, wider file is narrowed on rewrite, and no backup of the old hash is left.
    if (Deno.build.os !== "windows") Deno.chmodSync(file, 0o644);
    await writePassphraseFile(file, await hashPassphrase(P, { iterations: 100_000 }));
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.deepEqual(
      [...Deno.readDirSync(join(dir, "conf"))].map((e) => e.name).filter((n) =>
        !n.endsWith(".lock")
      ),
      ["passphrase.json"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
