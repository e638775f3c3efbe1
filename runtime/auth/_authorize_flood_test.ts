// The authorization endpoint against guessing and flooding from many addresses, driven through
// route() so each request can come from any client address.
import assert from "node:assert/strict";
import { PASSPHRASE } from "./_oauth_fixture.ts";
import { openOAuthAuthorizer } from "./authorization_server.ts";
import { SignInLockout } from "./lockout.ts";
import { hashPassphrase, writePassphraseFile } from "./passphrase.ts";

/** An authorizer on an https public URL, driven through route() from any client address. */
async function routedAuthorizer(lockout: SignInLockout) {
  const dir = await Deno.makeTempDir();
  const passphraseFile = `${dir}/passphrase`;
  await writePassphraseFile(passphraseFile, await hashPassphrase(PASSPHRASE, { iterations: 1e5 }));
  const auth = await openOAuthAuthorizer({
    publicUrl: "https://mcp.example.com/mcp",
    stateDir: `${dir}/state`,
    passphraseFile,
    serverName: "docs",
    lockout,
  });
  const callback = "https://claude.ai/api/mcp/auth_callback";
  const call = async (req: Request, address: string) => (await auth.route(req, { address }))!;
  const registered = await (await call(
    new Request("https://mcp.example.com/oauth/register", {
      method: "POST",
      body: JSON.stringify({ redirect_uris: [callback] }),
    }),
    "203.0.113.1",
  )).json();
  const url = new URL("https://mcp.example.com/oauth/authorize");
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: registered.client_id,
    redirect_uri: callback,
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
    state: "s",
  }).toString();
  /** Open the consent page from `address`; the result posts the form with a passphrase. */
  const open = async (address: string) => {
    const page = await call(new Request(url), address);
    const html = await page.text();
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)![1];
    const cookie = page.headers.get("set-cookie")!.split(";")[0];
    const [request, csrf] = [field("request"), field("csrf")];
    return async (passphrase: string): Promise<number> => {
      const res = await call(
        new Request(url, {
          method: "POST",
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            Origin: "https://mcp.example.com",
            Cookie: cookie,
          },
          body: new URLSearchParams({ request, csrf, passphrase, action: "approve" }),
        }),
        address,
      );
      await res.body?.cancel();
      return res.status;
    };
  };
  return {
    open,
    async close() {
      await auth.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("AuthorizeEndpoint.handle() checks the owner's sign-in while a few addresses keep every slot busy", async () => {
  const lockout = new SignInLockout({ threshold: 1e6, globalThreshold: 1e6 });
  const a = await routedAuthorizer(lockout);
  try {
    let stop = false;
    const attackers = await Promise.all(
      ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"].map(async (address) => {
        const submit = await a.open(address);
        const done = (async () => {
          const statuses = new Set<number>();
          while (!stop) statuses.add(await submit("a wrong guess, again and again"));
          return statuses;
        })();
        return { done };
      }),
    );
    await new Promise((r) => setTimeout(r, 300)); // every slot is now taken, again and again
    const owner = await a.open("192.0.2.50");
    const status = await owner(PASSPHRASE);
    stop = true;
    const seen = await Promise.all(attackers.map((x) => x.done));
    assert.equal(status, 303, "the owner's turn comes");
    assert.ok(seen.every((s) => s.has(403)), "the attackers' guesses were checked too");
  } finally {
    await a.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() paces guesses from many addresses, and the owner still signs in", async () => {
  const lockout = new SignInLockout({ globalThreshold: 5, globalBaseMs: 20, globalMaxMs: 80 });
  const a = await routedAuthorizer(lockout);
  try {
    const forms = await Promise.all(
      Array.from({ length: 24 }, (_, i) => a.open(`198.51.100.${i + 10}`)),
    );
    const started = Date.now();
    const statuses = await Promise.all(forms.map((submit, i) => submit(`wrong guess ${i}`)));
    const elapsed = Date.now() - started;
    assert.deepEqual(new Set(statuses), new Set([403]), "one guess each: no address is locked");
    assert.ok(lockout.pace() === 80, "the global budget is spent");
    // 18 checks past the budget, each at least 20-80 ms after the previous one.
    assert.ok(elapsed >= 18 * 20, `guesses were paced (${elapsed} ms)`);
    const owner = await a.open("2001:db8:99::1");
    assert.equal(await owner(PASSPHRASE), 303, "the owner is slowed, not locked out");
  } finally {
    await a.close();
  }
});

Deno.test("AuthorizeEndpoint.handle() keeps the owner's sign-in through a flood of started ones", async () => {
  const a = await routedAuthorizer(new SignInLockout());
  try {
    const owner = await a.open("192.0.2.50");
    for (let i = 0; i < 1100; i++) await a.open(`198.51.${100 + (i >> 8)}.${i & 255}`);
    assert.equal(await owner(PASSPHRASE), 303, "the owner's form still signs in");
  } finally {
    await a.close();
  }
});
