import assert from "node:assert/strict";
import { parseManifest } from "./manifest_text.ts";
import { GrantError } from "./grant_error.ts";
import { netGrant, runFfiRefusal } from "./_grant_rules.ts";

Deno.test("netGrant() grants a private address only when the user gave it", () => {
  assert.deepEqual(netGrant("10.0.0.5:5432", "-p host", { kind: "user" }), {
    kind: "ipv4",
    host: "10.0.0.5",
    port: 5432,
  });
  assert.throws(
    () => netGrant("10.0.0.5", "permissions.net[0]", { kind: "manifest" }),
    /from a manifest: private and loopback/,
  );
  assert.throws(
    () => netGrant("127.0.0.1", "parameters.h.default", { kind: "default", param: "h" }),
    /Pass -p h=127.0.0.1 to grant it yourself/,
  );
  assert.equal(netGrant("example.com", "f", { kind: "manifest" }).host, "example.com");
  assert.throws(() => netGrant("a b", "f", { kind: "user" }), GrantError);
});

Deno.test("runFfiRefusal() refuses run and ffi natively, and in docker without trust", () => {
  const manifest = parseManifest(JSON.stringify({
    name: "tool",
    description: "d",
    package: "npm:tool@1.0.0",
    permissions: { run: ["git"] },
  }));
  assert.match(runFfiRefusal(manifest, "run", "deno", true)!.message, /in native mode/);
  assert.match(runFfiRefusal(manifest, "run", "docker", false)!.message, /pass --trust/);
  assert.equal(runFfiRefusal(manifest, "run", "docker", true), undefined);
  assert.equal(runFfiRefusal(manifest, "ffi", "deno", false), undefined);
});
