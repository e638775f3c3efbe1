// The real CLI as a subprocess: serve's state folder kept private, proxy trust, the dry run's
// authentication, usage errors that point at --help, and the tokens command's refusals.
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { JsonFileTokenStore } from "../runtime/auth/token_file_store.ts";
import { TokenService } from "../runtime/auth/tokens.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const cache = tempDir("mcp-run-serve-auth-cli-cache-");
const PASSPHRASE = "correct horse battery staple";
const PUBLIC_URL = "https://mcp.example.com/mcp";

/** A state root (0700) with the owner's passphrase set through the CLI. */
async function stateWithPassphrase(): Promise<string> {
  const state = join(tempDir(), "state");
  const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\n`,
  });
  assert.equal(set.code, 0, set.stderr);
  return state;
}

/** `serve <fixture> --auth oauth --public-url … --state-dir state --dry-run` plus `extra`. */
function oauthDryRun(state: string, ...extra: string[]): Promise<Awaited<ReturnType<typeof cli>>> {
  return cli([
    "serve",
    MANIFEST,
    "--auth",
    "oauth",
    "--public-url",
    PUBLIC_URL,
    "--state-dir",
    state,
    "--cache",
    cache,
    "--dry-run",
    ...extra,
  ]);
}

Deno.test("mcp-run serve refuses a state folder or file others could read or replace, naming the chmod", async () => {
  const state = await stateWithPassphrase();
  const ok = await oauthDryRun(state);
  assert.equal(ok.code, 0, `positive control: ${ok.stderr}`);
  const passphrase = join(state, "passphrase");
  Deno.chmodSync(passphrase, 0o644);
  const readable = await oauthDryRun(state);
  assert.equal(readable.code, 2, readable.stderr);
  assert.match(
    readable.stderr,
    new RegExp(`readable or writable by other users; run \`chmod 600 ${passphrase}\``),
  );
  Deno.chmodSync(passphrase, 0o600);
  Deno.chmodSync(state, 0o777);
  const open = await oauthDryRun(state);
  assert.equal(open.code, 2, open.stderr);
  assert.match(open.stderr, new RegExp(`writable by other users.*\`chmod 700 ${state}\``));
  // Setting the passphrase into that folder is refused before anything is asked.
  const set = await cli(["serve", "--set-passphrase", "--state-dir", state], {
    stdin: `${PASSPHRASE}\n`,
  });
  assert.equal(set.code, 2, set.stderr);
  assert.match(set.stderr, /chmod 700/);
  Deno.chmodSync(state, 0o700);
  // A file given as --state-dir is named as one, by serve and by --set-passphrase.
  const file = passphrase;
  const serveFile = await oauthDryRun(file);
  assert.equal(serveFile.code, 2, serveFile.stderr);
  assert.match(serveFile.stderr, /it is a file, not a folder; pass --state-dir DIR/);
  const setFile = await cli(["serve", "--set-passphrase", "--state-dir", file], {
    stdin: `${PASSPHRASE}\n`,
  });
  assert.equal(setFile.code, 2, setFile.stderr);
  assert.match(setFile.stderr, /it is a file, not a folder/);
});

Deno.test("mcp-run serve --dry-run shows the authentication and warns of a proxy or allowlist that fails", async () => {
  const state = await stateWithPassphrase();
  const r = await oauthDryRun(state);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^auth: oauth, public URL ${PUBLIC_URL}$`, "m"));
  assert.match(r.stderr, /no --trust-proxy is given: .*sign-in lockout .* see one client/);
  assert.match(r.stderr, /--trust-proxy 127\.0\.0\.1/);
  const trusted = await oauthDryRun(state, "--trust-proxy", "127.0.0.1");
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.doesNotMatch(trusted.stderr, /no --trust-proxy/);
  for (const range of ["0.0.0.0/0", "::/0", "10.0.0.0/4"]) {
    const wide = await oauthDryRun(state, "--trust-proxy", range);
    assert.equal(wide.code, 2, wide.stderr);
    assert.match(wide.stderr, new RegExp(`--trust-proxy ${range} is too wide: any client in it`));
  }
  const open = await cli([
    "serve",
    MANIFEST,
    "--public",
    "--tools",
    "echo",
    "--exclude-tools",
    "echo",
    "--cache",
    cache,
    "--dry-run",
  ]);
  assert.equal(open.code, 0, open.stderr);
  assert.match(open.stdout, /^auth: none, public: anyone may call the allowed tools$/m);
  assert.match(open.stdout, /^tools allowed: echo$/m);
  assert.match(open.stderr, /every tool allowed \(echo\) is also excluded .* clients see no tool/);
  const token = await cli(["serve", MANIFEST, "--cache", cache, "--dry-run"]);
  assert.equal(token.code, 0, token.stderr);
  assert.match(token.stdout, /^auth: none: loopback clients only$/m);
});

Deno.test("mcp-run serve usage errors exit 2 with the synopsis and a pointer to --help", async () => {
  const origin = await cli([
    "serve",
    MANIFEST,
    "--allowed-origin",
    "*",
    "--cache",
    cache,
    "--dry-run",
  ]);
  assert.equal(origin.code, 2, origin.stderr);
  assert.match(origin.stderr, /--allowed-origin: Cannot allow origin "\*": wildcards/);
  assert.match(origin.stderr, /^See mcp-run serve --help for every option\.$/m);
  assert.doesNotMatch(origin.stderr, /Serves the server over MCP/, "not the whole help");
  const host = await cli(["serve", MANIFEST, "--host", "0.0.0.0", "--cache", cache]);
  assert.equal(host.code, 2, host.stderr);
  assert.match(host.stderr, /--host: cannot listen on "0\.0\.0\.0" without authentication/);
});

Deno.test("mcp-run tokens refuses an unknown server or action, naming what exists", async () => {
  const state = join(tempDir(), "state");
  const resource = PUBLIC_URL;
  Deno.mkdirSync(join(state, "serve", "docs"), { recursive: true, mode: 0o700 });
  const store = new TokenService(
    new JsonFileTokenStore(join(state, "serve", "docs", "tokens.json")),
  );
  await store.issue({ clientId: "client-one", resource, scope: "mcp" });
  const [grant] = await store.grants();
  for (
    const args of [["list", "nosuchserver"], ["revoke", "nosuchserver", "--all"], [
      "revoke",
      "nosuchserver",
      grant.family,
    ]]
  ) {
    const r = await cli(["tokens", ...args, "--state-dir", state]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /no sign-ins for "nosuchserver" in .*; servers with sign-ins: docs$/m);
  }
  const frob = await cli(["tokens", "frobnicate", "--state-dir", state]);
  assert.equal(frob.code, 2);
  assert.match(frob.stderr, /unknown action "frobnicate": give list or revoke/);
  // The JSON names the ID as the table does, under "id".
  const json = await cli(["tokens", "list", "--state-dir", state, "--format", "json"]);
  assert.equal(json.code, 0, json.stderr);
  const [row] = JSON.parse(json.stdout);
  assert.equal(row.id, grant.family);
  assert.equal(row.family, undefined);
  const text = await cli(["tokens", "list", "docs", "--state-dir", state]);
  assert.match(text.stdout, new RegExp(`^docs +${row.id} +client-one`, "m"));
  // A tokens.json others can read is refused like serve refuses it.
  Deno.chmodSync(join(state, "serve", "docs", "tokens.json"), 0o644);
  const open = await cli(["tokens", "list", "--state-dir", state]);
  assert.equal(open.code, 2, open.stderr);
  assert.match(
    open.stderr,
    /tokens\.json": it is readable or writable by other users; run `chmod 600/,
  );
});
