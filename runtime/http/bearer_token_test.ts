import assert from "node:assert/strict";
import {
  BearerTokenAuthorizer,
  constantTimeEqual,
  readTokenFile,
  TokenVerifier,
} from "./bearer_token.ts";

const A = "a".repeat(32);
const B = "b0123456789abcdef";

Deno.test("TokenVerifier.verify() finds the matching token", () => {
  const verifier = new TokenVerifier([A, B]);
  const cases: [string | null, number][] = [
    [`Bearer ${A}`, 0],
    [`bearer ${B}`, 1],
    [`Bearer ${A} `, 0],
    [`Bearer ${A}x`, -1],
    [`Bearer ${A.slice(0, -1)}`, -1],
    [`Basic ${A}`, -1],
    [A, -1],
    ["Bearer", -1],
    ["Bearer ", -1],
    [`Bearer ${A} ${B}`, -1],
    [null, -1],
    ["", -1],
  ];
  for (const [header, expected] of cases) {
    assert.equal(verifier.verify(header), expected, String(header));
  }
});

Deno.test("TokenVerifier() refuses weak or missing tokens", () => {
  assert.throws(() => new TokenVerifier([]), RangeError);
  assert.throws(() => new TokenVerifier(["short"]), RangeError);
  assert.throws(() => new TokenVerifier(["has space in the token 123"]), RangeError);
});

Deno.test("constantTimeEqual() compares content and length", () => {
  const e = new TextEncoder();
  assert.equal(constantTimeEqual(e.encode("abc"), e.encode("abc")), true);
  assert.equal(constantTimeEqual(e.encode("abd"), e.encode("abc")), false);
  assert.equal(constantTimeEqual(e.encode("ab"), e.encode("abc")), false);
  assert.equal(constantTimeEqual(e.encode("abcd"), e.encode("abc")), false);
  assert.equal(constantTimeEqual(e.encode("ab\0"), e.encode("ab")), false);
  // A shorter value is zero-padded before comparing: the length check must still refuse it.
  assert.equal(constantTimeEqual(e.encode("ab"), e.encode("ab\0")), false);
  assert.equal(constantTimeEqual(e.encode(""), e.encode("")), true);
});

Deno.test("readTokenFile() reads tokens and refuses a file others can read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/token`;
    await Deno.writeTextFile(file, `# comment\n${A}\n\n  ${B}  \n`, { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    assert.deepEqual(await readTokenFile(file), [A, B]);
    await Deno.chmod(file, 0o644);
    await assert.rejects(() => readTokenFile(file), RangeError);
    await Deno.writeTextFile(`${dir}/empty`, "# nothing\n", { mode: 0o600 });
    await Deno.chmod(`${dir}/empty`, 0o600);
    await assert.rejects(() => readTokenFile(`${dir}/empty`), RangeError);
    await Deno.writeTextFile(`${dir}/weak`, "1234\n", { mode: 0o600 });
    await Deno.chmod(`${dir}/weak`, 0o600);
    await assert.rejects(() => readTokenFile(`${dir}/weak`), RangeError);
    await assert.rejects(() => readTokenFile(`${dir}/missing`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTokenFile() names a missing file and says how to create one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = `${dir}/token`;
    await assert.rejects(
      () => readTokenFile(missing),
      (error: Error) =>
        error instanceof Deno.errors.NotFound &&
        error.message.includes(`"${missing}": it does not exist`) &&
        error.message.includes("openssl rand -hex 32") && error.cause !== undefined,
    );
    await assert.rejects(
      () => readTokenFile(dir),
      (error: Error) => error instanceof RangeError && /it is not a file/.test(error.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BearerTokenAuthorizer.check() answers the token's principal or a 401 challenge", async () => {
  const auth = new BearerTokenAuthorizer([A, B]);
  const req = (authorization?: string) =>
    new Request("http://127.0.0.1/mcp", {
      headers: authorization === undefined ? {} : { authorization },
    });
  assert.equal(await auth.check(req(`Bearer ${B}`)), "token:1");
  assert.equal(await auth.check(req(`Bearer ${A}`)), "token:0");
  for (const header of [undefined, "", `Basic ${A}`, `Bearer ${A}x`]) {
    const refused = await auth.check(req(header));
    assert.ok(refused instanceof Response, String(header));
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="mcp-run"');
  }
  assert.equal(await auth.route(req(`Bearer ${A}`), { address: "127.0.0.1" }), null);
  assert.throws(() => new BearerTokenAuthorizer([]), RangeError);
});
