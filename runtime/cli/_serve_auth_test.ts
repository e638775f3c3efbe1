import assert from "node:assert/strict";
import {
  cancelledAllowlistWarning,
  checkStatePrivacy,
  proxyWarning,
  publicToolAllowlist,
  serveAuthChoice,
  type ServeAuthFlags,
  serveStatePaths,
  stateRoot,
  UnsafeStateError,
} from "./_serve_auth.ts";
import { UsageError } from "./context.ts";

Deno.test("serveAuthChoice() picks the mode from --auth, --public and --token-file", () => {
  const cases: [ServeAuthFlags, string][] = [
    [{}, "none"],
    [{ "token-file": "t" }, "token"],
    [{ auth: "token", "token-file": "t" }, "token"],
    [{ public: true }, "public"],
    [{ auth: "none" }, "none"],
    [{ auth: "oauth", "public-url": "https://mcp.example.com/mcp" }, "oauth"],
    [{ auth: "oauth", "public-url": "http://127.0.0.1:8808/mcp" }, "oauth"],
    [{ auth: "oauth", "public-url": "https://mcp.example.com/team/mcp" }, "oauth"],
  ];
  for (const [flags, mode] of cases) assert.equal(serveAuthChoice(flags).mode, mode);
  assert.deepEqual(serveAuthChoice({ "token-file": "t" }), { mode: "token", tokenFile: "t" });
  assert.equal(
    serveAuthChoice({ auth: "oauth", "public-url": "https://mcp.example.com/mcp" }).publicUrl,
    "https://mcp.example.com/mcp",
  );
});

Deno.test("serveAuthChoice() refuses contradictions and unsafe public URLs", () => {
  const cases: [ServeAuthFlags, RegExp][] = [
    [{ auth: "basic" }, /--auth must be oauth, token or none/],
    [{ auth: "oauth" }, /needs --public-url/],
    [{ auth: "oauth", "public-url": "not a url" }, /it is not a URL/],
    [{ auth: "oauth", "public-url": "http://mcp.example.com/mcp" }, /needs https/],
    [{ auth: "oauth", "public-url": "https://u:p@mcp.example.com/mcp" }, /credentials/],
    [{ auth: "oauth", "public-url": "https://mcp.example.com/mcp?x=1" }, /a query/],
    [{ auth: "oauth", "public-url": "https://mcp.example.com/" }, /must end with the MCP path/],
    [{ auth: "oauth", "public-url": "https://mcp.example.com/mcp/x" }, /must end with/],
    [{ "public-url": "https://mcp.example.com/mcp" }, /--public-url is for --auth oauth/],
    [{ auth: "token" }, /needs --token-file/],
    [{ auth: "oauth", "token-file": "t", "public-url": "https://a.example/mcp" }, /--token-file/],
    [{ public: true, auth: "oauth" }, /cannot be combined/],
    [{ public: true, "token-file": "t" }, /cannot be combined/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(() => serveAuthChoice(flags), UsageError, JSON.stringify(flags));
    assert.throws(() => serveAuthChoice(flags), message, JSON.stringify(flags));
  }
});

Deno.test("publicToolAllowlist() takes the manifest's and --tools' patterns, never * alone", () => {
  assert.deepEqual(publicToolAllowlist(["search"], undefined), ["search"]);
  assert.deepEqual(publicToolAllowlist(undefined, ["a, b", "c"]), ["a", "b", "c"]);
  assert.deepEqual(publicToolAllowlist(["read_*"], ["read_doc"]), ["read_*", "read_doc"]);
  for (
    const [manifest, tools] of [[undefined, undefined], [[], []], [["*"], undefined], [
      undefined,
      ["a,**"],
    ], [undefined, [" , "]]] as const
  ) {
    assert.throws(
      () => publicToolAllowlist(manifest, tools),
      /--public needs a tool allowlist/,
      `${manifest} ${tools}`,
    );
  }
});

Deno.test("stateRoot() prefers --state-dir, then XDG_STATE_HOME, then HOME", () => {
  assert.equal(stateRoot({ HOME: "/h", XDG_STATE_HOME: "/x" }, "/given"), "/given");
  assert.equal(stateRoot({ HOME: "/h", XDG_STATE_HOME: "/x" }), "/x/mcp-run");
  assert.equal(stateRoot({ HOME: "/h", XDG_STATE_HOME: "relative" }), "/h/.local/state/mcp-run");
  assert.equal(stateRoot({ HOME: "/h" }), "/h/.local/state/mcp-run");
  assert.ok(stateRoot({}, "rel").startsWith("/"), "a relative --state-dir is made absolute");
  assert.throws(() => stateRoot({}), /HOME is not set; pass --state-dir DIR/);
  assert.throws(() => stateRoot({ HOME: "/h" }, " "), /--state-dir must name a folder/);
});

Deno.test("serveStatePaths() keeps each server in its own folder and refuses odd names", () => {
  assert.deepEqual(serveStatePaths("/s", "docs"), {
    passphrase: "/s/passphrase",
    totp: "/s/totp",
    totpStep: "/s/totp-step",
    serverDir: "/s/serve/docs",
    tokens: "/s/serve/docs/tokens.json",
    clients: "/s/serve/docs/clients.json",
  });
  for (const name of ["", "..", "../x", "a/b", ".hidden", "a..b", "x\n"]) {
    assert.throws(() => serveStatePaths("/s", name), UsageError, JSON.stringify(name));
  }
});

Deno.test("checkStatePrivacy() refuses state others could read or replace, naming the exact chmod", async () => {
  const root = await Deno.makeTempDir();
  try {
    await checkStatePrivacy(root, "docs"); // positive control: nothing there yet
    const server = `${root}/serve/docs`;
    await Deno.mkdir(server, { recursive: true, mode: 0o700 });
    await Deno.chmod(`${root}/serve`, 0o700);
    for (const file of [`${root}/passphrase`, `${root}/totp`, `${server}/tokens.json`]) {
      await Deno.writeTextFile(file, "{}", { mode: 0o600 });
      await Deno.chmod(file, 0o600);
    }
    await checkStatePrivacy(root, "docs"); // positive control: all private
    // The group counts as others unless it is the user's own private group (gid = uid).
    const privateGroup = Deno.uid() === Deno.gid() && Deno.statSync(root).gid === Deno.gid();
    const refusals: [string, number, RegExp][] = [
      [root, 0o777, new RegExp(`"${root}": it is writable by other users.*chmod 700 ${root}\``)],
      [server, 0o757, new RegExp(`writable by other users.*chmod 700 ${server}\``)],
      [`${root}/passphrase`, 0o644, new RegExp(`readable .* run \`chmod 600 ${root}/passphrase`)],
      [`${root}/totp`, 0o602, /chmod 600 .*\/totp`/],
      [`${server}/tokens.json`, 0o604, /chmod 600 .*tokens\.json`/],
    ];
    if (!privateGroup) {
      refusals.push([server, 0o770, /chmod 700/], [`${root}/totp`, 0o640, /chmod 600/]);
    }
    for (const [path, mode, message] of refusals) {
      const before = (await Deno.stat(path)).mode! & 0o777;
      await Deno.chmod(path, mode);
      await assert.rejects(checkStatePrivacy(root, "docs"), UnsafeStateError, path);
      await assert.rejects(checkStatePrivacy(root, "docs"), message);
      await Deno.chmod(path, before);
    }
    if (privateGroup) {
      // The user's own group may have access (a pod's fsGroup volume is group-writable).
      await Deno.chmod(server, 0o2770);
      await Deno.chmod(`${server}/tokens.json`, 0o660);
      await checkStatePrivacy(root, "docs");
      await Deno.chmod(server, 0o700);
      await Deno.chmod(`${server}/tokens.json`, 0o600);
    }
    // A server's folder is checked only with its server.
    await Deno.chmod(server, 0o777);
    await checkStatePrivacy(root);
    await Deno.chmod(server, 0o700);
    const file = `${root}/passphrase`;
    await assert.rejects(checkStatePrivacy(file), /it is a file, not a folder; pass --state-dir/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("proxyWarning() warns of a proxied public URL without --trust-proxy, naming the flag", () => {
  const oauth = (publicUrl: string) => ({ mode: "oauth" as const, publicUrl });
  const warning = proxyWarning(oauth("https://mcp.example.com/mcp"), "127.0.0.1", []);
  assert.match(warning!, /sign-in lockout and per-client limits see one client/);
  assert.match(warning!, /--trust-proxy 127\.0\.0\.1/);
  assert.ok(proxyWarning(oauth("http://mcp.lan:8808/mcp"), "0.0.0.0", []), "another host");
  assert.equal(proxyWarning(oauth("https://mcp.example.com/mcp"), "127.0.0.1", ["::1"]), undefined);
  assert.equal(proxyWarning(oauth("http://127.0.0.1:8808/mcp"), "127.0.0.1", []), undefined);
  assert.equal(proxyWarning(oauth("http://[::1]:8808/mcp"), "::1", []), undefined);
  assert.equal(proxyWarning({ mode: "token", tokenFile: "t" }, "0.0.0.0", []), undefined);
});

Deno.test("cancelledAllowlistWarning() warns only when every allowed tool is excluded too", () => {
  assert.match(cancelledAllowlistWarning(["search"], ["search,write"])!, /clients see no tool/);
  assert.ok(cancelledAllowlistWarning(["search", "read_*"], ["read_*", "search"]));
  assert.ok(cancelledAllowlistWarning(["search", "read_doc"], ["*"]));
  assert.ok(cancelledAllowlistWarning(["read_doc"], ["read_*"]), "a glob excludes a name");
  assert.equal(cancelledAllowlistWarning(["search", "read"], ["search"]), undefined);
  assert.equal(cancelledAllowlistWarning(["read_*"], ["read_secret"]), undefined, "a glob");
  assert.equal(cancelledAllowlistWarning(["search"], []), undefined);
});
