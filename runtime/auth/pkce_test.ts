import assert from "node:assert/strict";
import { checkPkceChallenge, pkceChallenge, verifyPkce } from "./pkce.ts";
import { OAuthError } from "./oauth_error.ts";

// RFC 7636 Appendix B.
const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const isCode = (code: string) => (e: unknown) => e instanceof OAuthError && e.code === code;

Deno.test("pkceChallenge() matches the RFC 7636 example", async () => {
  assert.equal(await pkceChallenge(VERIFIER), CHALLENGE);
});

Deno.test("checkPkceChallenge() accepts S256 and refuses plain, missing and malformed", () => {
  assert.equal(checkPkceChallenge(CHALLENGE, "S256"), CHALLENGE);
  for (
    const [challenge, method] of [
      [CHALLENGE, "plain"],
      [CHALLENGE, undefined],
      [CHALLENGE, "s256"],
      [undefined, "S256"],
      [CHALLENGE.slice(1), "S256"],
      [CHALLENGE.slice(1) + "=", "S256"],
      [VERIFIER + "aaaa", "S256"],
    ] as const
  ) {
    assert.throws(() => checkPkceChallenge(challenge, method), isCode("invalid_request"));
  }
});

Deno.test("verifyPkce() accepts the right verifier and refuses a mismatch", async () => {
  await verifyPkce(VERIFIER, CHALLENGE);
  const other = VERIFIER.slice(0, -1) + "Y";
  await assert.rejects(verifyPkce(other, CHALLENGE), isCode("invalid_grant"));
  // The challenge itself sent as verifier (what "plain" would accept) is refused.
  await assert.rejects(verifyPkce(CHALLENGE, CHALLENGE), isCode("invalid_grant"));
});

Deno.test("verifyPkce() refuses missing, short, long and non-unreserved verifiers", async () => {
  for (const v of [undefined, "", "a".repeat(42), "a".repeat(129), "a".repeat(42) + " "]) {
    await assert.rejects(verifyPkce(v, CHALLENGE), isCode("invalid_grant"));
  }
  await verifyPkce("a".repeat(128), await pkceChallenge("a".repeat(128)));
});
