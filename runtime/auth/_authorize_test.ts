// The authorization endpoint under attack, over real HTTP on loopback; each refusal beside its
// positive control.
import assert from "node:assert/strict";
import {
  authorizeUrl,
  openConsent,
  PASSPHRASE,
  REDIRECT,
  registerClient,
  serveAuthorizer,
  signIn,
  submitConsent,
} from "./_oauth_fixture.ts";
import { openOAuthAuthorizer } from "./authorization_server.ts";
import { SignInLockout } from "./lockout.ts";
import { hashPassphrase, writePassphraseFile } from "./passphrase.ts";
import { totpCode, TotpVerifier } from "./totp.ts";
import { AuthorizeEndpoint } from "./_authorize.ts";
import { ClientStore } from "./client_store.ts";
import { AuthorizationCodes } from "./codes.ts";
import { authEndpoints } from "./metadata.ts";
import { parseRegistrationRequest } from "./registration.ts";

const TOTP_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

Deno.test("AuthorizeEndpoint.handle() shows an error page, never a redirect, for unregistered redirect URIs", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const ok = await openConsent(await authorizeUrl(s.e, clientId));
    assert.equal(ok.response.status, 200, "positive control: the exact URI");
    const port = await openConsent(
      await authorizeUrl(s.e, clientId, { redirect_uri: "http://127.0.0.1:51004/callback" }),
    );
    assert.equal(port.response.status, 200, "positive control: loopback on another port");
    for (
      const uri of [
        "https://evil.example/callback",
        `${REDIRECT}/x`, // prefix
        `${REDIRECT}x`,
        `${REDIRECT}#frag`,
        "http://localhost:33418/callback",
        null,
      ]
    ) {
      const res = await fetch(await authorizeUrl(s.e, clientId, { redirect_uri: uri }), {
        redirect: "manual",
      });
      const html = await res.text();
      assert.equal(res.status, 400, String(uri));
      assert.equal(res.headers.get("location"), null, String(uri));
      assert.match(html, /not one the client registered/);
    }
    const unknown = await fetch(await authorizeUrl(s.e, "mcpr_client_nope"), {
      redirect: "manual",
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.headers.get("location"), null);
    assert.match(await unknown.text(), /not registered here/);
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() sends validation errors to the redirect URI with state and iss", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const cases: [Record<string, string | null>, string][] = [
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge_method: null }, "invalid_request"],
      [{ code_challenge: null }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ resource: "https://other.example/mcp" }, "invalid_target"],
      [{ scope: "mcp admin" }, "invalid_scope"],
    ];
    for (const [params, error] of cases) {
      const res = await fetch(await authorizeUrl(s.e, clientId, params), { redirect: "manual" });
      await res.body?.cancel();
      assert.equal(res.status, 302, error);
      const location = new URL(res.headers.get("location")!);
      assert.equal(location.origin + location.pathname, REDIRECT);
      assert.equal(location.searchParams.get("error"), error, JSON.stringify(params));
      assert.equal(location.searchParams.get("state"), "st-1");
      assert.equal(location.searchParams.get("iss"), s.e.issuer);
      assert.equal(location.searchParams.get("code"), null);
    }
    const location = await signIn(await authorizeUrl(s.e, clientId, { resource: null }));
    assert.ok(location.searchParams.get("code"), "positive control: S256, no resource given");
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() answers the consent page with a strict CSP and a locked cookie", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e, { client_name: `"><script>alert(1)</script>` });
    const form = await openConsent(await authorizeUrl(s.e, clientId));
    const h = form.response.headers;
    assert.match(h.get("content-security-policy")!, /default-src 'none'/);
    assert.match(h.get("content-security-policy")!, /frame-ancestors 'none'/);
    assert.match(
      h.get("content-security-policy")!,
      /form-action 'self' http:\/\/127\.0\.0\.1:33418;/,
    );
    assert.equal(h.get("x-frame-options"), "DENY");
    assert.equal(h.get("referrer-policy"), "same-origin");
    assert.equal(h.get("cache-control"), "no-store");
    const cookie = h.get("set-cookie")!;
    assert.match(cookie, /^mcp-run-consent=/, "http loopback: no __Host- prefix");
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.ok(!form.html.includes("<script>"));
    assert.ok(form.html.includes("&quot;&gt;&lt;script&gt;"));
    assert.ok(form.html.includes("test-server"));
    assert.ok(form.html.includes(s.e.resource));
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() refuses a consent form without the matching CSRF cookie and token", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const form = await openConsent(url);
    const other = await openConsent(url); // another tab or an attacker's own page load
    for (
      const [why, o] of [
        ["no cookie", { cookie: null }],
        ["another page's cookie", { cookie: other.cookie }],
        ["a mismatched form token", { csrf: other.fields.csrf }],
        ["an empty form token", { csrf: "" }],
      ] as const
    ) {
      const res = await submitConsent(url, form, o);
      assert.equal(res.status, 403, why);
      assert.equal(res.headers.get("location"), null, why);
      assert.match(await res.text(), /CSRF check failed/, why);
    }
    const crossSite = await fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Origin: "https://evil.example",
        Cookie: form.cookie!,
      },
      body: new URLSearchParams({ ...form.fields, passphrase: PASSPHRASE, action: "approve" }),
      redirect: "manual",
    });
    await crossSite.body?.cancel();
    assert.equal(crossSite.status, 403);
    const res = await submitConsent(url, form);
    await res.body?.cancel();
    assert.equal(res.status, 303, "positive control");
    assert.ok(new URL(res.headers.get("location")!).searchParams.get("code"));
    const replay = await submitConsent(url, form);
    assert.equal(replay.status, 400, "a completed sign-in cannot be posted again");
    await replay.body?.cancel();
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() returns access_denied to the client when the owner denies", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const location = await signIn(await authorizeUrl(s.e, clientId), {
      action: "deny",
      passphrase: "",
    });
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get("error"), "access_denied");
    assert.equal(location.searchParams.get("state"), "st-1");
    assert.equal(location.searchParams.get("iss"), s.e.issuer);
    assert.equal(location.searchParams.get("code"), null);
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() locks out an address that keeps guessing the passphrase", async () => {
  let now = 1_000_000;
  const lockout = new SignInLockout({ threshold: 3, baseMs: 60_000, now: () => now });
  const s = await serveAuthorizer({ lockout, now: () => now });
  try {
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const form = await openConsent(url);
    for (let i = 0; i < 2; i++) {
      const res = await submitConsent(url, form, { passphrase: `wrong guess number ${i}` });
      assert.equal(res.status, 403);
      assert.match(await res.text(), /Wrong passphrase/);
    }
    const third = await submitConsent(url, form, { passphrase: "wrong guess number 3" });
    assert.equal(third.status, 429);
    await third.body?.cancel();
    const right = await submitConsent(url, form);
    assert.equal(right.status, 429, "locked out even with the right passphrase");
    assert.equal(right.headers.get("retry-after"), "60");
    assert.match(await right.text(), /Too many failed sign-ins/);
    now += 61_000;
    const later = await submitConsent(url, form);
    await later.body?.cancel();
    assert.equal(later.status, 303, "positive control: after the lockout");
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() asks for a TOTP code when configured and refuses its replay", async () => {
  const now = 1_700_000_000_000;
  const dir = await Deno.makeTempDir();
  const totpFile = `${dir}/totp`;
  await Deno.writeTextFile(totpFile, TOTP_SECRET, { mode: 0o600 });
  const s = await serveAuthorizer({ totpFile, now: () => now });
  try {
    const secret = new TextEncoder().encode("12345678901234567890");
    const code = await totpCode(secret, now);
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const form = await openConsent(url);
    assert.match(form.html, /name="totp"/);
    const missing = await submitConsent(url, form);
    assert.equal(missing.status, 403, "passphrase alone is not enough");
    await missing.body?.cancel();
    const wrong = await submitConsent(url, form, { totp: code === "000000" ? "111111" : "000000" });
    assert.equal(wrong.status, 403);
    await wrong.body?.cancel();
    const guess = await submitConsent(url, form, { passphrase: "a wrong guess", totp: code });
    assert.equal(guess.status, 403, "the right code does not help a wrong passphrase");
    await guess.body?.cancel();
    const location = await signIn(url, { totp: code });
    assert.ok(location.searchParams.get("code"), "positive control: the code was not spent");
    const replayForm = await openConsent(url);
    const replay = await submitConsent(url, replayForm, { totp: code });
    assert.equal(replay.status, 403, "the same code again");
    await replay.body?.cancel();
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuthorizeEndpoint.handle() tells the owner to set a passphrase when none is set", async () => {
  const s = await serveAuthorizer();
  try {
    await Deno.remove(s.passphraseFile);
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const res = await submitConsent(url, await openConsent(url));
    assert.equal(res.status, 503);
    assert.match(await res.text(), /--set-passphrase/);
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() refuses a sign-in while the passphrase or TOTP file is open to others", async () => {
  const errors: Error[] = [];
  const dir = await Deno.makeTempDir();
  const totpFile = `${dir}/totp`;
  const s = await serveAuthorizer({ totpFile, onError: (error) => errors.push(error) });
  try {
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    await Deno.chmod(s.passphraseFile, 0o644);
    const open = await submitConsent(url, await openConsent(url));
    assert.equal(open.status, 500);
    await open.body?.cancel();
    assert.match(errors.at(-1)!.message, /readable or writable by other users; run `chmod 600 /);
    await Deno.chmod(s.passphraseFile, 0o600);
    assert.ok((await signIn(url)).searchParams.get("code"), "positive control: 0600");
    await Deno.writeTextFile(totpFile, TOTP_SECRET, { mode: 0o604 });
    await Deno.chmod(totpFile, 0o604);
    const page = await fetch(url, { redirect: "manual" });
    assert.equal(page.status, 500, "no consent page with a TOTP file others can read");
    await page.body?.cancel();
    assert.match(errors.at(-1)!.message, new RegExp(`chmod 600 ${totpFile}`));
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuthorizeEndpoint.handle() checks one passphrase at a time per address", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const forms = await Promise.all(Array.from({ length: 6 }, () => openConsent(url)));
    const answers = await Promise.all(
      forms.map((form, i) => submitConsent(url, form, { passphrase: `parallel guess ${i}` })),
    );
    const statuses = await Promise.all(answers.map(async (r) => {
      await r.body?.cancel();
      return r.status;
    }));
    assert.ok(statuses.includes(429), `parallel guesses are turned away: ${statuses}`);
    assert.ok(statuses.filter((n) => n === 403).length < 6, String(statuses));
    const location = await signIn(url);
    assert.ok(location.searchParams.get("code"), "positive control: one at a time");
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() binds the form to a __Host- Secure cookie on https", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const passphraseFile = `${dir}/passphrase`;
    await writePassphraseFile(
      passphraseFile,
      await hashPassphrase(PASSPHRASE, { iterations: 1e5 }),
    );
    const publicUrl = "https://mcp.example.com/mcp";
    const auth = await openOAuthAuthorizer({
      publicUrl,
      stateDir: `${dir}/state`,
      passphraseFile,
      serverName: "docs",
    });
    const client = { address: "203.0.113.5" };
    const call = async (req: Request) => (await auth.route(req, client))!;
    const registered = await (await call(
      new Request("https://mcp.example.com/oauth/register", {
        method: "POST",
        body: JSON.stringify({ redirect_uris: ["https://claude.ai/api/mcp/auth_callback"] }),
      }),
    )).json();
    const url = new URL("https://mcp.example.com/oauth/authorize");
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: registered.client_id,
      redirect_uri: "https://claude.ai/api/mcp/auth_callback",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      state: "s",
    }).toString();
    const page = await call(new Request(url));
    const setCookie = page.headers.get("set-cookie")!;
    assert.match(
      setCookie,
      /^__Host-mcp-run-consent=[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/,
    );
    assert.match(
      page.headers.get("content-security-policy")!,
      /form-action 'self' https:\/\/claude\.ai;/,
    );
    const html = await page.text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1];
    const post = (cookie: string) =>
      call(
        new Request(url, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Origin: "https://mcp.example.com",
            Cookie: cookie,
          },
          body: new URLSearchParams({
            request: field("request"),
            csrf: field("csrf"),
            passphrase: PASSPHRASE,
            action: "approve",
          }),
        }),
      );
    const value = setCookie.split(";")[0].split("=")[1];
    const plain = await post(`mcp-run-consent=${value}`);
    assert.equal(plain.status, 403, "the unprefixed cookie does not count on https");
    const res = await post(`__Host-mcp-run-consent=${value}`);
    assert.equal(res.status, 303, "positive control");
    const location = new URL(res.headers.get("location")!);
    assert.equal(location.origin, "https://claude.ai");
    assert.equal(location.searchParams.get("iss"), "https://mcp.example.com");
    await auth.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuthorizeEndpoint.handle() refuses an oversized state at the redirect URI without echoing it", async () => {
  const s = await serveAuthorizer();
  try {
    const clientId = await registerClient(s.e);
    const big = await fetch(await authorizeUrl(s.e, clientId, { state: "x".repeat(1025) }), {
      redirect: "manual",
    });
    await big.body?.cancel();
    assert.equal(big.status, 302);
    const location = new URL(big.headers.get("location")!);
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get("error"), "invalid_request");
    assert.equal(location.searchParams.get("state"), null);
    const location2 = await signIn(await authorizeUrl(s.e, clientId, { state: "y".repeat(1024) }));
    assert.equal(location2.searchParams.get("state"), "y".repeat(1024), "positive control");
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() shows a private-use redirect as an app on this device and sends the code there", async () => {
  const s = await serveAuthorizer();
  try {
    const app = "cursor://anysphere.cursor-retrieval/oauth/callback";
    const clientId = await registerClient(s.e, { redirect_uris: [app] });
    const url = await authorizeUrl(s.e, clientId, { redirect_uri: app });
    const form = await openConsent(url);
    assert.equal(form.response.status, 200);
    assert.match(form.html, /the code goes to an app on this device/);
    assert.match(form.html, /<code>cursor:<\/code>/);
    assert.match(
      form.response.headers.get("content-security-policy")!,
      /form-action 'self' cursor:;/,
    );
    const res = await submitConsent(url, form);
    await res.body?.cancel();
    assert.equal(res.status, 303);
    const location = new URL(res.headers.get("location")!);
    assert.equal(`${location.protocol}//${location.host}${location.pathname}`, app);
    assert.ok(location.searchParams.get("code"));
    // Positive control: an https redirect is still shown as a web origin.
    const web = await openConsent(await authorizeUrl(s.e, await registerClient(s.e)));
    assert.doesNotMatch(web.html, /an app on this device/);
  } finally {
    await s.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() checks the TOTP code whatever the passphrase, spending it only with the right one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const passphraseFile = `${dir}/passphrase`;
    await writePassphraseFile(
      passphraseFile,
      await hashPassphrase(PASSPHRASE, { iterations: 1e5 }),
    );
    const totpFile = `${dir}/totp`;
    await Deno.writeTextFile(totpFile, TOTP_SECRET, { mode: 0o600 });
    const checks: boolean[] = [];
    class SpyVerifier extends TotpVerifier {
      override verify(secret: Uint8Array, code: string, spend = true): Promise<boolean> {
        checks.push(spend);
        return super.verify(secret, code, spend);
      }
    }
    const endpoints = authEndpoints("https://mcp.example.com/mcp");
    const clients = new ClientStore(`${dir}/clients.json`, {
      fetchDocument: () => Promise.reject(new Error("no network")),
    });
    const client = await clients.register(
      parseRegistrationRequest(JSON.stringify({ redirect_uris: [REDIRECT] })),
    );
    const endpoint = new AuthorizeEndpoint({
      endpoints,
      serverName: "docs",
      clients,
      codes: new AuthorizationCodes(),
      lockout: new SignInLockout(),
      passphraseFile,
      totpFile,
      totp: new SpyVerifier(),
      now: Date.now,
    });
    const url = await authorizeUrl(endpoints, client.client_id);
    const page = await endpoint.handle(new Request(url), "192.0.2.1");
    const html = await page.text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1];
    const post = async (passphrase: string) => {
      const res = await endpoint.handle(
        new Request(url, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Cookie: page.headers.get("set-cookie")!.split(";")[0],
          },
          body: new URLSearchParams({
            request: field("request"),
            csrf: field("csrf"),
            passphrase,
            totp: await totpCode(new TextEncoder().encode("12345678901234567890"), Date.now()),
            action: "approve",
          }),
        }),
        "192.0.2.1",
      );
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await post("a wrong guess"), 403);
    assert.deepEqual(checks, [false], "checked with a wrong passphrase, not spent");
    assert.equal(await post(PASSPHRASE), 303, "positive control: the code is still good");
    assert.deepEqual(checks, [false, true]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuthorizeEndpoint.handle() reads the TOTP file at each sign-in: added, it is asked; removed, it is not", async () => {
  const now = 1_700_000_000_000;
  const dir = await Deno.makeTempDir();
  const totpFile = `${dir}/totp`;
  const s = await serveAuthorizer({ totpFile, now: () => now });
  try {
    const clientId = await registerClient(s.e);
    const url = await authorizeUrl(s.e, clientId);
    const before = await openConsent(url);
    assert.doesNotMatch(before.html, /name="totp"/, "no TOTP file yet: no code asked");
    // Added while serving: the next sign-in needs the code, the passphrase alone is refused.
    await Deno.writeTextFile(totpFile, TOTP_SECRET, { mode: 0o600 });
    const stale = await submitConsent(url, before);
    assert.equal(stale.status, 403, "a form opened before the TOTP file needs its code too");
    await stale.body?.cancel();
    const form = await openConsent(url);
    assert.match(form.html, /name="totp"/);
    const code = await totpCode(new TextEncoder().encode("12345678901234567890"), now);
    const location = await signIn(url, { totp: code });
    assert.ok(location.searchParams.get("code"), "positive control: passphrase and code");
    // Removed while serving: no code is asked, the passphrase alone signs in.
    await Deno.remove(totpFile);
    const after = await openConsent(url);
    assert.doesNotMatch(after.html, /name="totp"/);
    assert.ok((await signIn(url)).searchParams.get("code"), "the passphrase alone");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});
