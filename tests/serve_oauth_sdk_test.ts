// `mcp-run serve --auth oauth` end to end, the way a person meets it: the real CLI as a
// subprocess, the MCP SDK clients' own OAuth support (discovery, registration, PKCE, refresh),
// headless Chromium as the browser on the consent page, and the owner's `mcp-run tokens`.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import {
  Client as ModernClient,
  type OAuthClientProvider as ModernProvider,
  StreamableHTTPClientTransport as ModernTransport,
  UnauthorizedError as ModernUnauthorizedError,
} from "@modelcontextprotocol/client";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { callText } from "./_bridge_helpers.ts";
import { modernCallText } from "./_modern_client.ts";
import { startServe } from "./_serve_cli.ts";
import {
  BrowserOAuthProvider,
  callbackServer,
  expireAccessTokens,
  freePort,
  setPassphrase,
} from "./_oauth_browser.ts";
import { hasChromium, openChromium } from "../runtime/auth/_chromium_fixture.ts";

const ignore = !hasChromium();
const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const SERVER = "bridge-fixture";
const PASSPHRASE = "correct horse battery staple";
const cache = tempDir("mcp-run-serve-oauth-cache-");

/** A running `serve --auth oauth` on a free loopback port, with its state root. */
async function serveOAuth(state: string, extra: string[] = []): Promise<{
  url: string;
  stop: () => Promise<void>;
  stderr: () => string;
}> {
  const port = freePort();
  const served = await startServe([
    MANIFEST,
    "--port",
    String(port),
    "--auth",
    "oauth",
    "--public-url",
    `http://127.0.0.1:${port}/mcp`,
    "--state-dir",
    state,
    "--cache",
    cache,
    ...extra,
  ]);
  return {
    url: served.url,
    stderr: served.stderr,
    async stop() {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    },
  };
}

/** A raw MCP initialize with a bearer token; returns the status and the challenge. */
async function initializeWith(url: string, token: string): Promise<[number, string | null]> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "raw", version: "1" },
      },
    }),
  });
  await response.body?.cancel();
  return [response.status, response.headers.get("www-authenticate")];
}

/** Everything one test needs: the passphrase set, serve running, a browser and a callback. */
async function scene(): Promise<{
  state: string;
  tokensFile: string;
  served: Awaited<ReturnType<typeof serveOAuth>>;
  provider: BrowserOAuthProvider;
  close: () => Promise<void>;
}> {
  const state = join(tempDir(), "state");
  await setPassphrase(state, PASSPHRASE);
  const served = await serveOAuth(state);
  const callback = callbackServer();
  const tab = await openChromium();
  return {
    state,
    tokensFile: join(state, "serve", SERVER, "tokens.json"),
    served,
    provider: new BrowserOAuthProvider(tab, callback.url, PASSPHRASE),
    async close() {
      await tab.close();
      await callback.close();
      await served.stop();
    },
  };
}

/** `mcp-run tokens revoke <server> --all` against the state root. */
async function revokeAll(state: string): Promise<void> {
  const r = await cli(["tokens", "revoke", SERVER, "--all", "--state-dir", state]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test({
  name: "mcp-run serve --auth oauth signs the v1 SDK client in through Chromium, refreshes, and " +
    "sends it back to sign-in after tokens revoke",
  ignore,
  async fn() {
    const s = await scene();
    const headers = { Cookie: "session=cookie-canary-51d2" };
    const transport = () =>
      new StreamableHTTPClientTransport(new URL(s.served.url), {
        authProvider: s.provider,
        requestInit: { headers },
      });
    const newClient = () => new Client({ name: "oauth-e2e", version: "1.0.0" });
    try {
      // Unauthenticated, the SDK discovers the server, registers, and sends the person to sign in.
      const first = transport();
      await assert.rejects(newClient().connect(first), UnauthorizedError);
      assert.equal(s.provider.signIns, 1);
      await first.finishAuth(s.provider.code());
      const client = newClient();
      const session = transport();
      await client.connect(session);
      assert.equal(await callText(client, "echo", { text: "signed in" }), "signed in");
      const token = s.provider.tokens()!.access_token;
      const seen = await callText(client, "observe", { x: "arg-canary-0d4e" });
      assert.match(seen, /arg-canary-0d4e/, "positive control: the fixture reports its input");
      assert.ok(!seen.includes(token), "the access token never reaches the server");
      assert.doesNotMatch(seen, /cookie-canary-51d2/, "nor the client's cookies");

      // An hour later: the access token has expired; the SDK refreshes on the 401 by itself, in
      // the same session (bound to the sign-in, which refresh keeps).
      assert.equal(await expireAccessTokens(s.tokensFile), 1);
      const [expired] = await initializeWith(s.served.url, token);
      assert.equal(expired, 401);
      assert.equal(await callText(client, "echo", { text: "refreshed" }), "refreshed");
      assert.equal(s.provider.saved.length, 2, "a refresh saved new tokens");
      assert.notEqual(s.provider.tokens()!.access_token, token);
      assert.equal(s.provider.signIns, 1, "no second sign-in for a refresh");
      assert.ok(session.sessionId);

      // The owner revokes every sign-in: the refresh token is dead too, so the next call is
      // refused and the SDK sends the person back to sign in.
      const refreshed = s.provider.tokens()!.access_token;
      await revokeAll(s.state);
      const [revoked, challenge] = await initializeWith(s.served.url, refreshed);
      assert.equal(revoked, 401);
      assert.match(challenge!, /resource_metadata=/);
      await assert.rejects(callText(client, "echo", { text: "revoked" }), UnauthorizedError);
      assert.equal(s.provider.signIns, 2, "the SDK asked for a new sign-in");
      await session.finishAuth(s.provider.code());
      await client.close();
      const again = newClient();
      await again.connect(transport());
      assert.equal(await callText(again, "echo", { text: "again" }), "again");
      await again.close();
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "mcp-run serve --auth oauth signs the v2 SDK client in on 2026-07-28, refreshes, and " +
    "sends it back to sign-in after tokens revoke",
  ignore,
  async fn() {
    const s = await scene();
    const provider = s.provider as unknown as ModernProvider;
    const transport = () =>
      new ModernTransport(new URL(s.served.url), {
        authProvider: provider,
        requestInit: { headers: { Cookie: "session=cookie-canary-7b3f" } },
      });
    const newClient = () =>
      new ModernClient({ name: "oauth-e2e-modern", version: "1.0.0" }, {
        versionNegotiation: { mode: { pin: "2026-07-28" } },
      });
    try {
      const first = transport();
      await assert.rejects(newClient().connect(first), ModernUnauthorizedError);
      assert.equal(s.provider.signIns, 1);
      await first.finishAuth(s.provider.landed!.searchParams);
      const client = newClient();
      const live = transport();
      await client.connect(live);
      assert.equal(live.protocolVersion, "2026-07-28");
      assert.equal(live.sessionId, undefined, "2026-07-28 is stateless: no session");
      assert.equal(await modernCallText(client, "echo", { text: "modern" }), "modern");
      const token = s.provider.tokens()!.access_token;
      const seen = await modernCallText(client, "observe", { x: "arg-canary-a1c9" });
      assert.match(seen, /arg-canary-a1c9/, "positive control: the fixture reports its input");
      assert.ok(!seen.includes(token), "the access token never reaches the server");
      assert.doesNotMatch(seen, /cookie-canary-7b3f/, "nor the client's cookies");

      assert.equal(await expireAccessTokens(s.tokensFile), 1);
      assert.equal(await modernCallText(client, "echo", { text: "refreshed" }), "refreshed");
      assert.equal(s.provider.saved.length, 2, "a refresh saved new tokens");
      assert.notEqual(s.provider.tokens()!.access_token, token);
      assert.equal(s.provider.signIns, 1, "no second sign-in for a refresh");

      await revokeAll(s.state);
      const [revoked] = await initializeWith(s.served.url, s.provider.tokens()!.access_token);
      assert.equal(revoked, 401);
      await assert.rejects(
        modernCallText(client, "echo", { text: "revoked" }),
        ModernUnauthorizedError,
      );
      assert.equal(s.provider.signIns, 2, "the SDK asked for a new sign-in");
      await client.close();
      const resigned = transport();
      await resigned.finishAuth(s.provider.landed!.searchParams);
      const again = newClient();
      await again.connect(transport());
      assert.equal(await modernCallText(again, "echo", { text: "again" }), "again");
      await again.close();
    } finally {
      await s.close();
    }
  },
});
