// The token, registration and revocation endpoints and the bearer check under attack, over real
// HTTP on loopback; each refusal beside its positive control.
import assert from "node:assert/strict";
import {
  authorizeUrl,
  callMcp,
  obtainTokens,
  REDIRECT,
  registerClient,
  serveAuthorizer,
  signIn,
  tokenRequest,
  VERIFIER,
} from "./_oauth_fixture.ts";
import { openOAuthAuthorizer } from "./authorization_server.ts";
import { MAX_CLIENT_METADATA_BYTES } from "./registration.ts";

async function status(res: Response | Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

async function freshCode(
  s: Awaited<ReturnType<typeof serveAuthorizer>>,
  clientId: string,
): Promise<string> {
  const location = await signIn(await authorizeUrl(s.e, clientId));
  return location.searchParams.get("code")!;
}

function codeGrant(clientId: string, code: string, extra: Record<string, string> = {}) {
  return {
    grant_type: "authorization_code",
    code,
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_verifier: VERIFIER,
    ...extra,
  };
}

Deno.test("openOAuthAuthorizer() refuses a replayed code and revokes the tokens issued from it", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const code = await freshCode(s, clientId);
    const first = await tokenRequest(s.e, codeGrant(clientId, code));
    assert.equal(first.status, 200, "positive control");
    assert.equal(first.headers.get("cache-control"), "no-store");
    const access = first.body.access_token as string;
    assert.equal(await status(callMcp(s.publicUrl, access)), 200);
    const replay = await tokenRequest(s.e, codeGrant(clientId, code));
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, "invalid_grant");
    assert.equal(await status(callMcp(s.publicUrl, access)), 401, "tokens of the code revoked");
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() refuses a code stolen by another client, and spends it", async () => {
  const s = await serveAuthorizer();
  try {
    const victim = await registerClient(s.e);
    const thief = await registerClient(s.e, { client_name: "Thief" });
    const code = await freshCode(s, victim);
    const stolen = await tokenRequest(s.e, codeGrant(thief, code));
    assert.equal(stolen.status, 400);
    assert.equal(stolen.body.error, "invalid_grant");
    const unknown = await tokenRequest(s.e, codeGrant("mcpr_client_unknown", code));
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, "invalid_client");
    const late = await tokenRequest(s.e, codeGrant(victim, code));
    assert.equal(late.status, 400, "the stolen code is spent: the victim's later use fails too");
    assert.equal(late.body.error, "invalid_grant");
    const ok = await tokenRequest(s.e, codeGrant(victim, await freshCode(s, victim)));
    assert.equal(ok.status, 200, "positive control: the client the code was issued to");
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() refuses a PKCE verifier that does not match", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    for (const verifier of ["x".repeat(43), "short", ""]) {
      const res = await tokenRequest(
        s.e,
        codeGrant(clientId, await freshCode(s, clientId), { code_verifier: verifier }),
      );
      assert.equal(res.status, 400, verifier);
      assert.equal(res.body.error, "invalid_grant");
    }
    const other = await tokenRequest(
      s.e,
      codeGrant(clientId, await freshCode(s, clientId), { redirect_uri: `${REDIRECT}/x` }),
    );
    assert.equal(other.body.error, "invalid_grant", "another redirect_uri");
    const ok = await tokenRequest(s.e, codeGrant(clientId, await freshCode(s, clientId)));
    assert.equal(ok.status, 200, "positive control");
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() issues tokens only for its own resource", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const wrong = await tokenRequest(
      s.e,
      codeGrant(clientId, await freshCode(s, clientId), { resource: "https://evil.example/mcp" }),
    );
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, "invalid_target");
    const { access_token } = await obtainTokens(s, clientId);
    // Another server sharing the state folder (a misconfiguration) still refuses the token.
    const other = await openOAuthAuthorizer({
      publicUrl: `${s.e.issuer}/other`,
      stateDir: s.stateDir,
      passphraseFile: s.passphraseFile,
      serverName: "other",
    });
    const request = () =>
      new Request(`${s.e.issuer}/other`, { headers: { Authorization: `Bearer ${access_token}` } });
    const refused = await other.check(request());
    assert.ok(refused instanceof Response);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate")!, /error="invalid_token"/);
    assert.match(refused.headers.get("www-authenticate")!, /oauth-protected-resource\/other/);
    assert.equal(typeof await s.auth.check(request()), "string", "positive control");
    await other.close();
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() check() refuses missing, malformed, unknown and expired tokens", async () => {
  let now = 1_000_000_000;
  const s = await serveAuthorizer({ now: () => now, accessTokenSeconds: 60 });
  try {
    const clientId = await registerClient(s.e);
    const { access_token, refresh_token } = await obtainTokens(s, clientId);
    const missing = await callMcp(s.publicUrl);
    await missing.body?.cancel();
    assert.equal(missing.status, 401);
    assert.equal(
      missing.headers.get("www-authenticate"),
      `Bearer resource_metadata="${s.e.resourceMetadata}"`,
    );
    for (const header of ["Basic abc", "Bearer", "Bearer a b", `Bearer ${refresh_token}`]) {
      const res = await fetch(s.publicUrl, { headers: { Authorization: header } });
      await res.body?.cancel();
      assert.equal(res.status, 401, header);
      assert.match(res.headers.get("www-authenticate")!, /error="invalid_token"/, header);
    }
    assert.equal(await status(callMcp(s.publicUrl, "mcpr_at_guessed")), 401);
    assert.equal(await status(callMcp(s.publicUrl, access_token)), 200, "positive control");
    now += 61_000;
    const expired = await callMcp(s.publicUrl, access_token);
    assert.equal(expired.status, 401);
    assert.match((await expired.json()).error_description, /expired/);
    const refreshed = await tokenRequest(s.e, {
      grant_type: "refresh_token",
      refresh_token,
      client_id: clientId,
    });
    assert.equal(refreshed.status, 200, "refresh after expiry");
    assert.equal(await status(callMcp(s.publicUrl, refreshed.body.access_token as string)), 200);
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() revokes the sign-in when a rotated refresh token is reused", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const { refresh_token } = await obtainTokens(s, clientId);
    const grant = { grant_type: "refresh_token", refresh_token, client_id: clientId };
    const next = await tokenRequest(s.e, grant);
    assert.equal(next.status, 200, "positive control");
    const reuse = await tokenRequest(s.e, grant);
    assert.equal(reuse.body.error, "invalid_grant");
    assert.equal(await status(callMcp(s.publicUrl, next.body.access_token as string)), 401);
    const noRefresh = await registerClient(s.e, { grant_types: ["authorization_code"] });
    const tokens = await obtainTokens(s, noRefresh);
    const refused = await tokenRequest(s.e, {
      grant_type: "refresh_token",
      refresh_token: tokens.refresh_token,
      client_id: noRefresh,
    });
    assert.equal(refused.body.error, "unauthorized_client");
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() refuses malformed token requests", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const json = await fetch(s.e.token, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ grant_type: "authorization_code" }),
    });
    assert.equal((await json.json()).error, "invalid_request");
    const repeated = await fetch(s.e.token, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `grant_type=refresh_token&client_id=${clientId}&client_id=${clientId}`,
    });
    assert.equal((await repeated.json()).error, "invalid_request");
    const grant = await tokenRequest(s.e, { grant_type: "password", client_id: clientId });
    assert.equal(grant.body.error, "unsupported_grant_type");
    assert.equal(await status(fetch(s.e.token)), 405);
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() refuses oversized and malformed registrations", async () => {
  const s = await serveAuthorizer();
  try {
    const post = (body: string) =>
      fetch(s.e.registration, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
    const big = JSON.stringify({
      redirect_uris: [REDIRECT],
      client_name: "x",
      padding: "x".repeat(MAX_CLIENT_METADATA_BYTES),
    });
    for (
      const [body, error] of [
        [big, "invalid_client_metadata"],
        ["{not json", "invalid_client_metadata"],
        ["[]", "invalid_client_metadata"],
        [JSON.stringify({ redirect_uris: ["https://a.example/cb#x"] }), "invalid_redirect_uri"],
        [JSON.stringify({ redirect_uris: ["http://evil.example/cb"] }), "invalid_redirect_uri"],
        [
          JSON.stringify({
            redirect_uris: [REDIRECT],
            token_endpoint_auth_method: "client_secret_basic",
          }),
          "invalid_client_metadata",
        ],
      ]
    ) {
      const res = await post(body);
      assert.equal(res.status, 400, body.slice(0, 60));
      assert.equal((await res.json()).error, error, body.slice(0, 60));
    }
    const ok = await post(JSON.stringify({ redirect_uris: [REDIRECT], client_name: "ok" }));
    assert.equal(ok.status, 201, "positive control");
    assert.equal(ok.headers.get("cache-control"), "no-store");
    const client = await ok.json();
    assert.deepEqual(client.redirect_uris, [REDIRECT]);
    assert.equal(client.token_endpoint_auth_method, "none");
    assert.equal(typeof client.client_id_issued_at, "number");
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() revocation answers alike for unknown tokens", async () => {
  const s = await serveAuthorizer();
  try {
    const revoke = (token: string) =>
      fetch(s.e.revocation, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }),
      });
    assert.equal(await status(revoke("mcpr_at_unknown")), 200);
    const clientId = await registerClient(s.e);
    const { access_token } = await obtainTokens(s, clientId);
    assert.equal(await status(callMcp(s.publicUrl, access_token)), 200, "positive control");
    assert.equal(await status(revoke(access_token)), 200);
    assert.equal(await status(callMcp(s.publicUrl, access_token)), 401);
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() answers 500 without details when its state is unreadable", async () => {
  const errors: Error[] = [];
  const s = await serveAuthorizer({ onError: (e) => errors.push(e) });
  try {
    const clientId = await registerClient(s.e);
    const location = await signIn(await authorizeUrl(s.e, clientId));
    await Deno.writeTextFile(`${s.stateDir}/tokens.json`, "garbage");
    const { status, body } = await tokenRequest(s.e, {
      grant_type: "authorization_code",
      code: location.searchParams.get("code")!,
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
    });
    assert.equal(status, 500);
    assert.equal(body.error, "server_error");
    assert.ok(!String(body.error_description).includes(s.stateDir));
    assert.match(errors[0].message, /token file/);
  } finally {
    await s.close();
  }
});
