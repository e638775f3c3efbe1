// The consent page in a real browser: headless Chromium loads it, the owner's passphrase is
// typed in, and the browser must end up at the client's redirect URI with the code (or the
// denial), which the MCP SDK client then exchanges.
import assert from "node:assert/strict";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { hasChromium, openChromium, type Tab } from "./_chromium_fixture.ts";
import { authorizeUrl, PASSPHRASE, registerClient, serveAuthorizer } from "./_oauth_fixture.ts";

const ignore = !hasChromium();

/** A loopback listener standing in for the client's redirect URI. */
function callbackServer(): {
  url: string;
  hits: { url: string; referer: string | null }[];
  close(): Promise<void>;
} {
  const hits: { url: string; referer: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hits.push({ url: req.url, referer: req.headers.get("referer") });
    return new Response("signed in", { headers: { "Content-Type": "text/plain" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/callback`,
    hits,
    close: () => server.shutdown(),
  };
}

async function approve(tab: Tab, url: string, action: "approve" | "deny"): Promise<void> {
  await tab.navigate(url);
  await tab.evaluate(
    `document.querySelector('[name=passphrase]').value = ${JSON.stringify(PASSPHRASE)};
     document.querySelector('button[value=${action}]').click()`,
  );
}

Deno.test({
  name: "renderConsentPage() signs in from Chromium and the browser lands on the redirect URI",
  ignore,
  async fn() {
    const s = await serveAuthorizer();
    const callback = callbackServer();
    const tab = await openChromium();
    try {
      const clientId = await registerClient(s.e, { redirect_uris: [callback.url] });
      const url = await authorizeUrl(s.e, clientId, { redirect_uri: callback.url });
      await approve(tab, url.href, "approve");
      const landed = new URL(await tab.waitForUrl(callback.url));
      assert.ok(landed.searchParams.get("code"));
      assert.equal(landed.searchParams.get("state"), "st-1");
      assert.equal(landed.searchParams.get("iss"), s.e.issuer);
      assert.equal(callback.hits[0].referer, null, "no Referer leaks the page");

      const denied = await authorizeUrl(s.e, clientId, { redirect_uri: callback.url });
      await approve(tab, denied.href, "deny");
      await tab.waitForUrl(`${callback.url}?error=access_denied`);
    } finally {
      await tab.close();
      await callback.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "openOAuthAuthorizer() completes the SDK client's auth() flow with Chromium as the browser",
  ignore,
  async fn() {
    const s = await serveAuthorizer();
    const callback = callbackServer();
    const tab = await openChromium();
    try {
      let verifier = "";
      let client: Record<string, unknown> | undefined;
      let tokens: Record<string, unknown> | undefined;
      let landed = "";
      const provider = {
        redirectUrl: callback.url,
        clientMetadata: {
          redirect_uris: [callback.url],
          client_name: "SDK client in Chromium",
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
        },
        clientInformation: () => client,
        saveClientInformation: (c: Record<string, unknown>) => void (client = c),
        tokens: () => tokens,
        saveTokens: (t: Record<string, unknown>) => void (tokens = t),
        saveCodeVerifier: (v: string) => void (verifier = v),
        codeVerifier: () => verifier,
        async redirectToAuthorization(url: URL) {
          await approve(tab, url.href, "approve");
          landed = await tab.waitForUrl(callback.url);
        },
      };
      // deno-lint-ignore no-explicit-any
      const p = provider as any;
      assert.equal(await auth(p, { serverUrl: s.publicUrl }), "REDIRECT");
      const code = new URL(landed).searchParams.get("code")!;
      assert.equal(
        await auth(p, { serverUrl: s.publicUrl, authorizationCode: code }),
        "AUTHORIZED",
      );
      const res = await fetch(s.publicUrl, {
        headers: { Authorization: `Bearer ${tokens!.access_token}` },
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
    } finally {
      await tab.close();
      await callback.close();
      await s.close();
    }
  },
});
