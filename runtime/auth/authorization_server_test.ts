// The authorizer over real HTTP on loopback, driven by the MCP SDK client's own auth() flow.
import assert from "node:assert/strict";
import { auth, type OAuthClientProvider } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import {
  callMcp,
  obtainTokens,
  openConsent,
  REDIRECT,
  registerClient,
  serveAuthorizer,
  signIn,
  tokenRequest,
} from "./_oauth_fixture.ts";
import { openOAuthAuthorizer } from "./authorization_server.ts";

/** An SDK client provider whose "browser" signs in on the consent page. */
class BrowserProvider implements OAuthClientProvider {
  clientMetadataUrl?: string;
  #client?: OAuthClientInformationMixed;
  #tokens?: OAuthTokens;
  #verifier = "";
  location?: URL;
  consentHtml = "";

  constructor(clientMetadataUrl?: string) {
    this.clientMetadataUrl = clientMetadataUrl;
  }
  get redirectUrl(): string {
    return REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      redirect_uris: [REDIRECT],
      client_name: "SDK <b>client</b>",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state(): string {
    return "sdk-state";
  }
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }
  async redirectToAuthorization(url: URL): Promise<void> {
    this.consentHtml = (await openConsent(url)).html;
    this.location = await signIn(url);
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    return this.#verifier;
  }
}

async function challengeUrl(publicUrl: string): Promise<URL> {
  const res = await callMcp(publicUrl);
  await res.body?.cancel();
  assert.equal(res.status, 401);
  const header = res.headers.get("www-authenticate") ?? "";
  return new URL(/resource_metadata="([^"]+)"/.exec(header)![1]);
}

Deno.test("openOAuthAuthorizer() serves the SDK client's auth() flow: discovery, registration, code, refresh, revocation", async () => {
  const s = await serveAuthorizer();
  try {
    const provider = new BrowserProvider();
    const resourceMetadataUrl = await challengeUrl(s.publicUrl);
    assert.equal(resourceMetadataUrl.href, s.e.resourceMetadata);
    const serverUrl = s.publicUrl;
    assert.equal(await auth(provider, { serverUrl, resourceMetadataUrl }), "REDIRECT");
    const clientId = provider.clientInformation()!.client_id;
    assert.match(clientId, /^mcpr_client_/);
    assert.ok(provider.consentHtml.includes("SDK &lt;b&gt;client&lt;/b&gt;"));
    assert.ok(provider.consentHtml.includes("registered dynamically, unverified"));
    const back = provider.location!;
    assert.equal(back.origin + back.pathname, REDIRECT);
    assert.equal(back.searchParams.get("state"), "sdk-state");
    assert.equal(back.searchParams.get("iss"), s.e.issuer);
    const code = back.searchParams.get("code")!;
    assert.equal(
      await auth(provider, { serverUrl, resourceMetadataUrl, authorizationCode: code }),
      "AUTHORIZED",
    );
    const first = provider.tokens()!;
    const called = await callMcp(s.publicUrl, first.access_token);
    assert.equal(called.status, 200);
    const { principal } = await called.json();

    // Refresh: the SDK rotates the refresh token; the principal (the sign-in) is unchanged.
    assert.equal(await auth(provider, { serverUrl, resourceMetadataUrl }), "AUTHORIZED");
    const second = provider.tokens()!;
    assert.notEqual(second.refresh_token, first.refresh_token);
    const again = await callMcp(s.publicUrl, second.access_token);
    assert.equal((await again.json()).principal, principal);

    // Revocation: the whole sign-in is refused afterwards.
    const revoked = await fetch(s.e.revocation, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: second.refresh_token!, client_id: clientId }),
    });
    await revoked.body?.cancel();
    assert.equal(revoked.status, 200);
    const refused = await callMcp(s.publicUrl, second.access_token);
    await refused.body?.cancel();
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate")!, /error="invalid_token"/);
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() accepts a client ID metadata document through the injected fetch", async () => {
  const docUrl = "https://client.example.com/oauth/metadata.json";
  const fetched: string[] = [];
  const s = await serveAuthorizer({
    fetchClientMetadata: (url) => {
      fetched.push(url.href);
      return Promise.resolve(JSON.stringify({
        client_id: docUrl,
        client_name: "Example Client",
        redirect_uris: [REDIRECT],
        grant_types: ["authorization_code", "refresh_token"],
      }));
    },
  });
  try {
    const provider = new BrowserProvider(docUrl);
    const serverUrl = s.publicUrl;
    assert.equal(await auth(provider, { serverUrl }), "REDIRECT");
    assert.equal(provider.clientInformation()!.client_id, docUrl);
    assert.ok(provider.consentHtml.includes("described by <code>client.example.com</code>"));
    const code = provider.location!.searchParams.get("code")!;
    assert.equal(await auth(provider, { serverUrl, authorizationCode: code }), "AUTHORIZED");
    const res = await callMcp(s.publicUrl, provider.tokens()!.access_token);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    assert.deepEqual([...new Set(fetched)], [docUrl]);
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() serves discovery documents with CORS and leaves other paths alone", async () => {
  const s = await serveAuthorizer();
  try {
    const origin = { Origin: "https://claude.ai" };
    for (const path of ["/.well-known/oauth-protected-resource/mcp"]) {
      const res = await fetch(new URL(path, s.e.issuer), { headers: origin });
      const doc = await res.json();
      assert.equal(doc.resource, s.e.resource);
      assert.deepEqual(doc.authorization_servers, [s.e.issuer]);
      assert.equal(res.headers.get("access-control-allow-origin"), "https://claude.ai");
      assert.equal(res.headers.get("access-control-allow-credentials"), null);
    }
    for (
      const path of [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
      ]
    ) {
      const doc = await (await fetch(new URL(path, s.e.issuer))).json();
      assert.equal(doc.issuer, s.e.issuer);
      assert.deepEqual(doc.code_challenge_methods_supported, ["S256"]);
      assert.equal(doc.authorization_response_iss_parameter_supported, true);
    }
    const preflight = await fetch(s.e.token, { method: "OPTIONS", headers: origin });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
    assert.equal(
      await s.auth.route(new Request(`${s.e.issuer}/mcp`), { address: "127.0.0.1" }),
      null,
    );
    assert.equal(
      await s.auth.route(new Request(`${s.e.issuer}/.well-known/other`), { address: "x" }),
      null,
    );
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() keeps registrations and tokens across a restart", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const location = await signIn(
      new URL(
        `${s.e.authorization}?response_type=code&client_id=${clientId}&redirect_uri=${
          encodeURIComponent(REDIRECT)
        }&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`,
      ),
    );
    const { body } = await tokenRequest(s.e, {
      grant_type: "authorization_code",
      code: location.searchParams.get("code")!,
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    });
    const reopened = await openOAuthAuthorizer({
      publicUrl: s.publicUrl,
      stateDir: s.stateDir,
      passphraseFile: s.passphraseFile,
      serverName: "test-server",
    });
    const request = new Request(s.publicUrl, {
      headers: { Authorization: `Bearer ${body.access_token}` },
    });
    assert.equal(typeof await reopened.check(request), "string");
    const mode = (await Deno.stat(`${s.stateDir}/tokens.json`)).mode! & 0o777;
    assert.equal(mode, 0o600);
    assert.equal((await Deno.stat(`${s.stateDir}/clients.json`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(s.stateDir)).mode! & 0o777, 0o700);
    await reopened.close();
  } finally {
    await s.close();
  }
});

Deno.test("openOAuthAuthorizer() refuses unusable public URLs, lifetimes and state files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = {
      publicUrl: "https://mcp.example.com/mcp",
      stateDir: `${dir}/state`,
      passphraseFile: `${dir}/passphrase`,
      serverName: "x",
    };
    await assert.rejects(
      openOAuthAuthorizer({ ...base, publicUrl: "http://mcp.example.com/mcp" }),
      TypeError,
    );
    await assert.rejects(openOAuthAuthorizer({ ...base, accessTokenSeconds: 0 }), RangeError);
    await assert.rejects(
      openOAuthAuthorizer({ ...base, accessTokenSeconds: 7 * 86400 }),
      RangeError,
    );
    await assert.rejects(
      openOAuthAuthorizer({ ...base, accessTokenSeconds: 3600, refreshTokenSeconds: 60 }),
      RangeError,
    );
    await Deno.writeTextFile(base.passphraseFile, "not a record");
    await assert.rejects(openOAuthAuthorizer(base), SyntaxError);
    await Deno.remove(base.passphraseFile);
    await Deno.writeTextFile(`${dir}/totp`, "not a secret");
    await assert.rejects(openOAuthAuthorizer({ ...base, totpFile: `${dir}/totp` }), SyntaxError);
    // A missing TOTP file is none yet: read again at each sign-in.
    await (await openOAuthAuthorizer({ ...base, totpFile: `${dir}/missing` })).close();
    const ok = await openOAuthAuthorizer(base);
    assert.equal((await Deno.stat(base.stateDir)).mode! & 0o777, 0o700, "positive control");
    await ok.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openOAuthAuthorizer() tells the owner once of a corrupt tokens.json and answers 500", async () => {
  const errors: Error[] = [];
  const s = await serveAuthorizer({ onError: (error) => errors.push(error) });
  try {
    const clientId = await registerClient(s.e);
    const { access_token } = await obtainTokens(s, clientId);
    const ok = await callMcp(s.publicUrl, access_token);
    assert.equal(ok.status, 200, "positive control");
    await ok.body?.cancel();
    await Deno.writeTextFile(`${s.stateDir}/tokens.json`, "{ not json");
    for (let i = 0; i < 2; i++) {
      const failed = await callMcp(s.publicUrl, access_token);
      assert.equal(failed.status, 500);
      assert.equal((await failed.json()).error.message, "Internal error");
    }
    assert.equal(errors.length, 1, "one line, not one per request");
    assert.match(errors[0].message, /tokens\.json": it is not JSON; delete it/);
  } finally {
    await s.close();
  }
});
