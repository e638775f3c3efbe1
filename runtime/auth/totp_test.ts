import assert from "node:assert/strict";
import { parseTotpSecret, readTotpFile, totpCode, TotpVerifier } from "./totp.ts";

// RFC 6238 appendix B, SHA-1 seed; the expected codes are the last 6 of the RFC's 8 digits.
const SEED = new TextEncoder().encode("12345678901234567890");
const VECTORS: [number, string][] = [
  [59, "287082"],
  [1111111109, "081804"],
  [1111111111, "050471"],
  [1234567890, "005924"],
  [2000000000, "279037"],
  [20000000000, "353130"],
];

Deno.test("totpCode() matches the RFC 6238 SHA-1 test vectors", async () => {
  for (const [seconds, code] of VECTORS) {
    assert.equal(await totpCode(SEED, seconds * 1000), code, `at ${seconds} s`);
  }
});

Deno.test("parseTotpSecret() reads base32 and otpauth URIs, refuses anything else", () => {
  const b32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // base32 of the RFC seed
  assert.deepEqual(parseTotpSecret(b32), SEED);
  assert.deepEqual(parseTotpSecret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n"), SEED);
  assert.deepEqual(parseTotpSecret(`otpauth://totp/mcp-run:owner?secret=${b32}&issuer=x`), SEED);
  for (
    const bad of [
      "not base32!",
      "GEZDGNBV", // 40 bits
      `otpauth://hotp/x?secret=${b32}`,
      `otpauth://totp/x?secret=${b32}&algorithm=SHA256`,
      "otpauth://totp/x",
    ]
  ) {
    assert.throws(() => parseTotpSecret(bad), SyntaxError, bad);
  }
});

Deno.test("TotpVerifier.verify() accepts ±1 step and refuses replay and older codes", async () => {
  let now = 1111111111_000;
  const verifier = new TotpVerifier({ now: () => now });
  assert.equal(await verifier.verify(SEED, "000000"), false);
  assert.equal(await verifier.verify(SEED, "12a456"), false);
  const previous = await totpCode(SEED, now - 30_000);
  const current = await totpCode(SEED, now);
  assert.equal(await verifier.verify(SEED, current.slice(0, 3) + " " + current.slice(3)), true);
  assert.equal(await verifier.verify(SEED, current), false, "replayed code");
  assert.equal(await verifier.verify(SEED, previous), false, "older than the last used");
  now += 30_000;
  assert.equal(await verifier.verify(SEED, await totpCode(SEED, now + 30_000)), true, "+1 step");
  now += 120_000;
  assert.equal(await verifier.verify(SEED, await totpCode(SEED, now - 60_000)), false, "too old");
});

Deno.test("readTotpFile() names the file when it holds no secret", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n");
    assert.deepEqual(await readTotpFile(file), SEED);
    await Deno.writeTextFile(file, "nope");
    await assert.rejects(readTotpFile(file), (e: Error) => e.message.includes(file));
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("TotpVerifier.verify() keeps spent steps in its state file across a restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stateFile = `${dir}/totp-step`;
    let now = 1111111111_000;
    const code = await totpCode(SEED, now);
    const first = new TotpVerifier({ now: () => now, stateFile });
    assert.equal(await first.verify(SEED, code, false), true, "checked, not spent");
    await assert.rejects(Deno.stat(stateFile), Deno.errors.NotFound);
    assert.equal(await first.verify(SEED, code), true);
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(stateFile).mode! & 0o777, 0o600);
    const restarted = new TotpVerifier({ now: () => now, stateFile });
    assert.equal(await restarted.verify(SEED, code), false, "the used code stays used");
    now += 30_000;
    assert.equal(await restarted.verify(SEED, await totpCode(SEED, now)), true, "the next one");
    await Deno.writeTextFile(stateFile, "garbage");
    await assert.rejects(
      new TotpVerifier({ stateFile }).verify(SEED, code),
      (e: Error) => e instanceof SyntaxError && e.message.includes(stateFile),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TotpVerifier.verify() spends a code once for every verifier sharing the state file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const stateFile = `${dir}/totp-step`;
    const now = 1111111111_000;
    const code = await totpCode(SEED, now);
    const one = new TotpVerifier({ now: () => now, stateFile });
    const other = new TotpVerifier({ now: () => now, stateFile });
    // Both read the file before either spends: only one of them may accept the code.
    const answers = await Promise.all([one.verify(SEED, code), other.verify(SEED, code)]);
    assert.deepEqual(answers.filter(Boolean).length, 1);
    assert.equal(await one.verify(SEED, code), false);
    assert.equal(await other.verify(SEED, code), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
