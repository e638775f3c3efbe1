import assert from "node:assert/strict";
import { AuthorizationCodes, type CodeGrant } from "./codes.ts";
import { OAuthError } from "./oauth_error.ts";
import { MemoryTokenStore, TokenService } from "./tokens.ts";

const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const GRANT: CodeGrant = {
  clientId: "c",
  redirectUri: "http://127.0.0.1:3000/cb",
  codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  resource: "https://mcp.example.com/mcp",
  scope: "mcp",
};
const OK = { clientId: "c", redirectUri: GRANT.redirectUri, codeVerifier: VERIFIER };
const isCode = (code: string) => (e: unknown) => e instanceof OAuthError && e.code === code;

Deno.test("AuthorizationCodes.redeem() returns the grant once", async () => {
  const codes = new AuthorizationCodes();
  const code = await codes.issue(GRANT);
  const got = await codes.redeem(code, { ...OK, resource: GRANT.resource });
  assert.equal(got.clientId, "c");
  assert.equal(got.resource, GRANT.resource);
  assert.match(got.family, /^[A-Za-z0-9_-]{22}$/);
});

Deno.test("AuthorizationCodes.redeem() refuses a replayed code and revokes its tokens", async () => {
  const tokens = new TokenService(new MemoryTokenStore());
  const codes = new AuthorizationCodes({ onReplay: (f) => tokens.revokeFamily(f) });
  const code = await codes.issue(GRANT);
  const got = await codes.redeem(code, OK);
  const pair = await tokens.issue(got);
  await tokens.verifyAccess(pair.access_token, GRANT.resource);
  await assert.rejects(codes.redeem(code, OK), isCode("invalid_grant"));
  await assert.rejects(
    tokens.verifyAccess(pair.access_token, GRANT.resource),
    isCode("invalid_token"),
  );
});

Deno.test("AuthorizationCodes.redeem() refuses a PKCE mismatch and spends the code", async () => {
  const codes = new AuthorizationCodes();
  const code = await codes.issue(GRANT);
  const wrong = VERIFIER.slice(0, -1) + "Y";
  await assert.rejects(codes.redeem(code, { ...OK, codeVerifier: wrong }), /does not match/);
  await assert.rejects(codes.redeem(code, OK), /already used/);
  const again = await codes.issue(GRANT);
  await assert.rejects(
    codes.redeem(again, { ...OK, codeVerifier: undefined }),
    isCode("invalid_grant"),
  );
});

Deno.test("AuthorizationCodes.redeem() refuses a redirect URI that is not exactly equal", async () => {
  const codes = new AuthorizationCodes();
  for (
    const uri of [
      "http://127.0.0.1:3000/cb/",
      "http://127.0.0.1:3000/CB",
      "http://127.0.0.1:3001/cb",
      "http://localhost:3000/cb",
      "http://127.0.0.1:3000/cb?x=1",
      undefined,
    ]
  ) {
    const code = await codes.issue(GRANT);
    await assert.rejects(
      codes.redeem(code, { ...OK, redirectUri: uri }),
      /redirect_uri/,
      String(uri),
    );
  }
});

Deno.test("AuthorizationCodes.redeem() refuses another client, resource, unknown and expired codes", async () => {
  const clock = { t: 0 };
  const codes = new AuthorizationCodes({ ttlMs: 1000, now: () => clock.t });
  await assert.rejects(
    codes.redeem(await codes.issue(GRANT), { ...OK, clientId: "d" }),
    /another client/,
  );
  await assert.rejects(
    codes.redeem(await codes.issue(GRANT), { ...OK, resource: "https://evil.example/mcp" }),
    /resource/,
  );
  await assert.rejects(codes.redeem("guess", OK), /unknown or expired/);
  const code = await codes.issue(GRANT);
  clock.t = 1000;
  await assert.rejects(codes.redeem(code, OK), /unknown or expired/);
});
