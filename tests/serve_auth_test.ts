// End-to-end tests of serve's authentication: the real CLI as a subprocess (flags, exit codes,
// the owner's passphrase, public mode, bearer tokens through the authorizer interface, the
// tokens command), a local fixture server, the MCP SDK client over loopback HTTP.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { callText, connectClient } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { parsePassphraseRecord, verifyPassphrase } from "../runtime/auth/passphrase.ts";
import { JsonFileTokenStore } from "../runtime/auth/token_file_store.ts";
import { TokenService } from "../runtime/auth/tokens.ts";
import { authEndpoints } from "../runtime/auth/metadata.ts";
import {
  authorizeUrl,
  REDIRECT,
  registerClient,
  signIn,
  tokenRequest,
  VERIFIER,
} from "../runtime/auth/_oauth_fixture.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
/** The same fixture, with `"tools": {"allow": ["echo"]}` in its manifest. */
const ALLOW_MANIFEST = join(ROOT, "tests/testdata/serve_public_fixture.jsonc");
const cache = tempDir("mcp-run-serve-auth-cache-");
const TOKEN = "serve-auth-token-0123456789abcdef";
const PASSPHRASE = "correct horse battery staple";

/** A token file of mode 0600 holding {@linkcode TOKEN}. */
function tokenFile(): string {
  const file = join(tempDir(), "token");
  Deno.writeTextFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  Deno.chmodSync(file, 0o600);
  return file;
}

/** A loopback port free right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("mcp-run serve refuses contradictory or incomplete authentication flags with exit 2", async () => {
  const token = tokenFile();
  const cases: [string[], RegExp][] = [
    [["--auth", "basic"], /--auth must be oauth, token or none, got "basic"/],
    [["--auth", "oauth"], /--auth oauth needs --public-url URL/],
    [
      ["--auth", "oauth", "--public-url", "http://mcp.example.com/mcp"],
      /--public-url: .*OAuth needs https \(plain http only on loopback\)/,
    ],
    [
      ["--auth", "oauth", "--public-url", "https://mcp.example.com/other"],
      /--public-url must end with the MCP path \/mcp/,
    ],
    [["--public-url", "https://mcp.example.com/mcp"], /--public-url is for --auth oauth/],
    [["--auth", "token"], /--auth token needs --token-file F/],
    [["--auth", "none", "--token-file", token], /--token-file is for --auth token/],
    [["--public", "--auth", "none"], /--public serves without authentication: it cannot be/],
    [["--public", "--token-file", token], /cannot be combined with --auth or --token-file/],
  ];
  for (const [flags, message] of cases) {
    const r = await cli(["serve", MANIFEST, "--cache", cache, ...flags]);
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, flags.join(" "));
    assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
  }
  // Beyond loopback, no authentication is refused before anything is read or started.
  const open = await cli(["serve", MANIFEST, "--host", "0.0.0.0", "--auth", "none"]);
  assert.equal(open.code, 2, open.stderr);
  assert.match(open.stderr, /"0\.0\.0\.0" without authentication: pass --auth oauth/);
  assert.match(open.stderr, /--token-file/);
  assert.match(open.stderr, /--public/);
});

Deno.test("mcp-run serve --set-passphrase stores a slow hash, mode 0600, from one line of stdin", async () => {
  const state = join(tempDir(), "state");
  const short = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: "too short\n",
  });
  assert.equal(short.code, 1, short.stderr);
  assert.match(short.stderr, /has 9 characters; choose at least 12/);
  assert.equal(existsSync(join(state, "passphrase")), false, "nothing written");
  const empty = await cli(["serve", "--set-passphrase", "--state-dir", state], { stdin: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no passphrase on stdin/);
  const withServer = await cli(["serve", MANIFEST, "--set-passphrase", "--state-dir", state]);
  assert.equal(withServer.code, 2);
  assert.match(withServer.stderr, /--set-passphrase takes no server/);

  const r = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\r\nsecond line is ignored\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /passphrase set in .*passphrase; running servers use it at the next/);
  const file = join(state, "passphrase");
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
  assert.equal(Deno.statSync(state).mode! & 0o777, 0o700);
  const text = Deno.readTextFileSync(file);
  assert.doesNotMatch(text, /horse/, "never the passphrase itself");
  const record = parsePassphraseRecord(text);
  assert.equal(await verifyPassphrase(PASSPHRASE, record), true);
  assert.equal(await verifyPassphrase("correct horse battery stapler", record), false);
});

Deno.test("mcp-run serve --auth oauth without a passphrase names the command that sets one", async () => {
  const state = join(tempDir(), "state");
  const r = await cli([
    "serve",
    MANIFEST,
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    state,
    "--cache",
    cache,
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `no owner passphrase is set .*; set one with: mcp-run serve --set-passphrase ` +
        `--state-dir ${state}$`,
      "m",
    ),
  );
  // Without --state-dir, the default root is named by the command alone.
  const home = tempDir();
  const plain = await cli([
    "serve",
    MANIFEST,
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--cache",
    cache,
  ], { env: { HOME: home } });
  assert.equal(plain.code, 2, plain.stderr);
  assert.match(plain.stderr, new RegExp(`\\(${home}/\\.local/state/mcp-run/passphrase\\)`));
  assert.match(plain.stderr, /set one with: mcp-run serve --set-passphrase$/m);
});

Deno.test("mcp-run serve --auth oauth signs a client in, strips its token, and honours tokens revoke", async () => {
  const state = join(tempDir(), "state");
  const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\n`,
  });
  assert.equal(set.code, 0, set.stderr);
  const port = freePort();
  const publicUrl = `http://127.0.0.1:${port}/mcp`;
  const served = await startServe([
    MANIFEST,
    "--port",
    String(port),
    "--auth",
    "oauth",
    "--public-url",
    publicUrl,
    "--state-dir",
    state,
    "--cache",
    cache,
  ]);
  try {
    assert.match(served.stderr(), new RegExp(`auth: oauth, public URL ${publicUrl}`));
    assert.equal(Deno.statSync(join(state, "serve/bridge-fixture")).mode! & 0o777, 0o700);
    // Discovery: the 401 points at the metadata, which names this resource.
    const refused = await fetch(served.url, { method: "POST", body: "{}" });
    assert.equal(refused.status, 401);
    const endpoints = authEndpoints(publicUrl);
    assert.match(
      refused.headers.get("www-authenticate")!,
      new RegExp(`resource_metadata="${endpoints.resourceMetadata}"`),
    );
    await refused.body?.cancel();
    const metadata = await fetch(endpoints.resourceMetadata);
    assert.equal((await metadata.json()).resource, publicUrl);
    // Registration, the owner's sign-in on the consent page, the code for tokens (PKCE).
    const clientId = await registerClient(endpoints);
    const location = await signIn(await authorizeUrl(endpoints, clientId));
    const { status, body } = await tokenRequest(endpoints, {
      grant_type: "authorization_code",
      code: location.searchParams.get("code")!,
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_verifier: VERIFIER,
      resource: publicUrl,
    });
    assert.equal(status, 200, JSON.stringify(body));
    const token = String(body.access_token);
    const { client } = await connectClient({
      url: served.url,
      token,
      headers: { Cookie: "session=cookie-canary-0c3e" },
    });
    try {
      const seen = await callText(client, "observe", { x: "arg-canary-5f21" });
      assert.match(seen, /arg-canary-5f21/, "positive control");
      assert.ok(!seen.includes(token), "the access token never reaches the server");
      assert.doesNotMatch(seen, /cookie-canary-0c3e/);
      // The owner lists the sign-in (never its tokens) and revokes it; the running serve refuses
      // the token at the next request.
      const listed = await cli(["tokens", "list", "--state-dir", state]);
      assert.equal(listed.code, 0, listed.stderr);
      // The client's name is the one it registered with (registerClient: "Test client").
      assert.match(
        listed.stdout,
        new RegExp(`^bridge-fixture +\\S+ +${clientId} +Test client +\\d{4}-`, "m"),
      );
      assert.ok(!listed.stdout.includes(token));
      const revoked = await cli([
        "tokens",
        "revoke",
        "bridge-fixture",
        "--all",
        "--state-dir",
        state,
      ]);
      assert.equal(revoked.code, 0, revoked.stderr);
      await assert.rejects(callText(client, "echo", { text: "after revoke" }));
    } finally {
      await client.close().catch(() => {});
    }
    const after = await fetch(served.url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
      body: "{}",
    });
    assert.equal(after.status, 401);
    await after.body?.cancel();
  } finally {
    served.child.kill("SIGTERM");
    assert.equal((await served.child.status).code, 0, served.stderr());
  }
});

Deno.test("mcp-run serve --public needs a tool allowlist, and * is not one", async () => {
  for (const extra of [[], ["--tools", "*"], ["--tools", "echo,*"]]) {
    const r = await cli(["serve", MANIFEST, "--public", "--cache", cache, ...extra]);
    assert.equal(r.code, 2, `${extra}: ${r.stderr}`);
    assert.match(r.stderr, /--public needs a tool allowlist/);
  }
  // With an allowlist (the manifest's), a public bind beyond loopback is accepted: the plan is
  // printed instead of a refusal.
  const planned = await cli([
    "serve",
    ALLOW_MANIFEST,
    "--public",
    "--host",
    "0.0.0.0",
    "--port",
    "9",
    "--dry-run",
    "--cache",
    cache,
  ]);
  assert.equal(planned.code, 0, planned.stderr);
  assert.match(planned.stdout, /listen: http:\/\/0\.0\.0\.0:9\/mcp/);
});

Deno.test("mcp-run serve --public offers only the allowed tools, with stricter limits", async () => {
  const served = await startServe([
    MANIFEST,
    "--public",
    "--tools",
    "echo",
    "--port",
    "0",
    "--cache",
    cache,
  ]);
  try {
    assert.match(served.stderr(), /auth: none, public: anyone may call the allowed tools/);
    assert.match(served.stderr(), /tools allowed: echo/);
    const { client } = await connectClient({ url: served.url });
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool: { name: string }) => tool.name), ["echo"]);
      assert.equal(await callText(client, "echo", { text: "public" }), "public");
      await assert.rejects(callText(client, "observe"), /observe/);
    } finally {
      await client.close();
    }
    // The public rate limit: 10 per second, a burst of 20 (the default is 50 and 100).
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const response = await fetch(served.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.ok(statuses.includes(429), `no 429 in ${statuses}`);
    assert.ok(statuses.slice(0, 15).every((status) => status === 400), "the burst is served");
  } finally {
    served.child.kill("SIGTERM");
    assert.equal((await served.child.status).code, 0, served.stderr());
  }
});

Deno.test("mcp-run serve --token-file authenticates through the bearer authorizer and strips credentials", async () => {
  const served = await startServe([
    MANIFEST,
    "--port",
    "0",
    "--token-file",
    tokenFile(),
    "--cache",
    cache,
  ]);
  try {
    assert.match(served.stderr(), /auth: bearer token \(1 token\)/);
    const refused = await fetch(served.url, { method: "POST", body: "{}" });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="mcp-run"');
    await refused.body?.cancel();
    const { client } = await connectClient({
      url: served.url,
      token: TOKEN,
      headers: { Cookie: "session=cookie-canary-4e1d", "X-Canary": "header-canary-9a0b" },
    });
    try {
      // Positive control: the fixture reports what it receives (its arguments and messages).
      const seen = await callText(client, "observe", { x: "arg-canary-77aa" });
      assert.match(seen, /arg-canary-77aa/);
      assert.doesNotMatch(seen, new RegExp(TOKEN));
      assert.doesNotMatch(seen, /cookie-canary-4e1d|header-canary-9a0b/);
    } finally {
      await client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    assert.equal((await served.child.status).code, 0, served.stderr());
  }
});

Deno.test("mcp-run tokens lists sign-ins without token values and revokes them for a running store", async () => {
  const state = join(tempDir(), "state");
  const resource = "https://mcp.example.com/mcp";
  const store = join(state, "serve", "docs", "tokens.json");
  Deno.mkdirSync(join(state, "serve", "docs"), { recursive: true });
  // The running serve's view of the store, opened before any revocation.
  const running = new TokenService(new JsonFileTokenStore(store));
  const first = await running.issue({ clientId: "client-one", resource, scope: "mcp" });
  const second = await running.issue({ clientId: "client-two", resource, scope: "mcp" });
  const [one, two] = (await running.grants()).sort((a, b) => a.clientId.localeCompare(b.clientId));

  const listed = await cli(["tokens", "list", "--state-dir", state]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(
    listed.stdout,
    /^SERVER +ID +CLIENT +NAME +SIGNED IN +REFRESHED +ACCESS EXPIRES +SIGN-IN EXPIRES$/m,
  );
  assert.match(listed.stdout, new RegExp(`^docs +${one.family} +client-one +- +\\d{4}-`, "m"));
  assert.match(listed.stdout, new RegExp(`^docs +${two.family} +client-two `, "m"));
  for (const token of [first.access_token, first.refresh_token, second.access_token]) {
    assert.ok(!listed.stdout.includes(token), "never a token value");
  }
  const json = await cli(["tokens", "list", "docs", "--state-dir", state, "--format", "json"]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout);
  assert.deepEqual(rows.map((row: { server: string }) => row.server), ["docs", "docs"]);

  // Revoking by the start of an ID; the running store refuses its token at once.
  const revoke = await cli([
    "tokens",
    "revoke",
    "docs",
    one.family.slice(0, 8),
    "--state-dir",
    state,
  ]);
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.match(revoke.stderr, /revoked 1 sign-in of docs/);
  await assert.rejects(running.verifyAccess(first.access_token, resource), /unknown or revoked/);
  assert.equal((await running.verifyAccess(second.access_token, resource)).clientId, "client-two");
  const unknown = await cli(["tokens", "revoke", "docs", one.family, "--state-dir", state]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no sign-in ".*" for docs; see mcp-run tokens list docs/);

  const all = await cli(["tokens", "revoke", "docs", "--all", "--state-dir", state]);
  assert.equal(all.code, 0, all.stderr);
  await assert.rejects(running.verifyAccess(second.access_token, resource), /unknown or revoked/);
  const empty = await cli(["tokens", "list", "--state-dir", state]);
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, "");
  assert.match(empty.stderr, /no sign-ins/);

  const bad = await cli(["tokens", "revoke", "docs", "--state-dir", state]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /give a server and an ID, or --all/);
  const traversal = await cli(["tokens", "list", "../etc", "--state-dir", state]);
  assert.equal(traversal.code, 2);
  assert.match(traversal.stderr, /Cannot keep sign-ins for a server named "\.\.\/etc"/);
});

Deno.test("mcp-run serve --help documents the authentication options", async () => {
  const r = await cli(["serve", "--help"]);
  assert.equal(r.code, 0);
  for (
    const flag of ["--auth oauth", "--public-url", "--set-passphrase", "--state-dir", "--public"]
  ) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  const tokens = await cli(["tokens", "--help"]);
  assert.equal(tokens.code, 0);
  assert.match(tokens.stdout, /mcp-run tokens revoke <server> <ID>\|--all/);
});

const scriptMissing = !(await new Deno.Command("script", { args: ["--version"] }).output()
  .then((out) => out.success, () => false));

Deno.test({
  name: "mcp-run serve --set-passphrase asks twice on a terminal without echoing the passphrase",
  ignore: scriptMissing,
  fn: async () => {
    const state = join(tempDir(), "state");
    const command = [Deno.execPath(), "run", "-A", "--quiet", `${ROOT}/mod.ts`, "serve"];
    // `script` gives the CLI a terminal; what it shows is what a person would see.
    const child = new Deno.Command("script", {
      args: ["-qec", [...command, "--set-passphrase", "--state-dir", state].join(" "), "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let shown = "";
    const waitFor = async (text: string) => {
      while (!shown.includes(text)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the terminal never showed "${text}":\n${shown}`);
        shown += value;
      }
    };
    await waitFor("New passphrase");
    await writer.write(new TextEncoder().encode(`${PASSPHRASE}\r`));
    await waitFor("Repeat it");
    await writer.write(new TextEncoder().encode(`${PASSPHRASE}\r`));
    await waitFor("passphrase set in");
    await writer.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      shown += value;
    }
    await child.stderr.cancel();
    assert.equal((await child.status).code, 0, shown);
    assert.ok(!shown.includes("horse"), `the passphrase was echoed:\n${shown}`);
    const record = parsePassphraseRecord(Deno.readTextFileSync(join(state, "passphrase")));
    assert.equal(await verifyPassphrase(PASSPHRASE, record), true);
  },
});
