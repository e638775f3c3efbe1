import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { denoCacheArgs, denoRunArgs, permissionFlags } from "./flags.ts";

const empty = serverFixture({ name: "t", denyNet: ["127.0.0.0/8", "[::1]"] });

Deno.test("permissionFlags() grants nothing for a server that declares nothing", () => {
  assert.deepEqual(permissionFlags(empty), ["--deny-net=127.0.0.0/8,[::1]", "--ignore-env"]);
});

Deno.test("permissionFlags() refuses values that would widen or break a flag", () => {
  for (const bad of ["", "/a,/b", "/a\0"]) {
    assert.throws(() => permissionFlags({ ...empty, read: [bad] }), RangeError);
  }
});

Deno.test("permissionFlags() denies the reserved names an env pattern matches", () => {
  const flags = permissionFlags({ ...empty, env: ["APP_TOKEN", "HTTP_*", "SSL_*", "https_*"] });
  assert.ok(flags.includes("--allow-env=APP_TOKEN,HTTP_*,SSL_*,https_*"), flags.join(" "));
  assert.ok(
    flags.includes("--deny-env=HTTP_PROXY,SSL_CERT_DIR,SSL_CERT_FILE,https_proxy"),
    flags.join(" "),
  );
  // Exact names and patterns that match no reserved name add no deny list.
  assert.ok(
    !permissionFlags({ ...empty, env: ["APP_*", "GITHUB_TOKEN"] }).some((f) =>
      f.startsWith("--deny-env")
    ),
  );
});

Deno.test("denoRunArgs() builds the hardened command in a fixed order", () => {
  const argv = denoRunArgs({ ...empty, args: ["--x", "y z"] }, { lockFile: "/c/deno.lock" });
  assert.deepEqual(argv, [
    "run",
    "--no-prompt",
    "--no-config",
    "--cached-only",
    "--frozen",
    "--lock=/c/deno.lock",
    "--v8-flags=--max-old-space-size=512",
    "--deny-import",
    "--deny-net=127.0.0.0/8,[::1]",
    "--ignore-env",
    "npm:demo@1.0.0",
    "--x",
    "y z",
  ]);
});

Deno.test("denoRunArgs() keeps server arguments after the specifier, never as Deno flags", () => {
  const argv = denoRunArgs({ ...empty, args: ["-A", "--allow-all"] }, { lockFile: "/l" });
  const at = argv.indexOf("npm:demo@1.0.0");
  assert.equal(argv.indexOf("-A"), at + 1);
  assert.ok(!argv.slice(0, at).some((a) => a === "-A" || a === "--allow-all"));
});

Deno.test("denoRunArgs() leaves import permission to the cache for jsr packages", () => {
  const argv = denoRunArgs({ ...empty, specifier: "jsr:@s/t@1.0.0" }, { lockFile: "/l" });
  assert.ok(!argv.includes("--deny-import"));
  assert.ok(argv.includes("--cached-only"));
});

Deno.test("denoCacheArgs() caches without running and writes the lockfile", () => {
  assert.deepEqual(denoCacheArgs(empty, { lockFile: "/c/deno.lock" }), [
    "cache",
    "--no-config",
    "--lock=/c/deno.lock",
    "npm:demo@1.0.0",
  ]);
});

Deno.test("denoRunArgs() caps the heap and denies writes to protected paths in write grants", () => {
  const argv = denoRunArgs({ ...empty, write: ["/w"] }, { lockFile: "/l" });
  assert.ok(argv.includes("--v8-flags=--max-old-space-size=512"));
  const deny = argv.find((a) => a.startsWith("--deny-write="))?.slice(13).split(",") ?? [];
  for (const p of ["/w/.git", "/w/.vscode", "/w/.mcp.json", "/w/.envrc", "/w/.bashrc"]) {
    assert.ok(deny.includes(p), p);
  }
  // The manifest's ask raises the heap cap; explicit caps and paths replace the defaults.
  const asked = { ...empty, manifest: { limits: { heapMb: 2048 } } } as typeof empty;
  assert.ok(
    denoRunArgs(asked, { lockFile: "/l" }).includes("--v8-flags=--max-old-space-size=2048"),
  );
  const given = denoRunArgs({ ...empty, write: ["/w"] }, {
    lockFile: "/l",
    limits: { heapMb: 100, memoryMb: 200 },
    denyWrite: ["/w/sub/.vscode"],
  });
  assert.ok(given.includes("--v8-flags=--max-old-space-size=100"));
  assert.ok(given.includes("--deny-write=/w/sub/.vscode"));
  // No write grant: nothing to protect.
  assert.ok(!denoRunArgs(empty, { lockFile: "/l" }).some((a) => a.startsWith("--deny-write")));
});
