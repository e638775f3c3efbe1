import assert from "node:assert/strict";
import { describeGrantDiff, diffGrants, widensGrants } from "./grant_diff.ts";
import { parseManifest } from "./manifest_text.ts";

function m(pkg: string, extra: Record<string, unknown> = {}) {
  return parseManifest(JSON.stringify({ name: "x", description: "d", package: pkg, ...extra }));
}

Deno.test("diffGrants() lists added and removed grants, secrets and settings", () => {
  const v1 = m("npm:x@1.0.0", {
    permissions: { net: ["api.example.com"], read: ["/srv/data"] },
    secrets: { OLD_KEY: { description: "k", required: true } },
  });
  const v2 = m("npm:x@2.0.0", {
    permissions: { net: ["api.example.com", "telemetry.example.net"], sys: ["hostname"] },
    secrets: { NEW_KEY: { description: "k", required: true } },
    env: { REGION: { description: "r", required: false } },
  });
  const changes = diffGrants(v1, v2);
  assert.deepEqual(changes, [
    { change: "removed", kind: "package", value: "npm:x@1.0.0" },
    { change: "added", kind: "package", value: "npm:x@2.0.0" },
    { change: "removed", kind: "read", value: "/srv/data" },
    { change: "added", kind: "net", value: "telemetry.example.net" },
    { change: "added", kind: "sys", value: "hostname" },
    { change: "added", kind: "secret", value: "NEW_KEY" },
    { change: "removed", kind: "secret", value: "OLD_KEY" },
    { change: "added", kind: "setting", value: "REGION" },
  ]);
  assert.equal(widensGrants(changes), true);
  assert.deepEqual(describeGrantDiff(changes), [
    "package: npm:x@1.0.0 -> npm:x@2.0.0",
    "+ may now reach telemetry.example.net",
    "+ may now read system information hostname",
    "+ now receives the secret NEW_KEY",
    "+ now reads the setting REGION",
    "- no longer reads /srv/data",
    "- no longer receives the secret OLD_KEY",
  ]);
});

Deno.test("widensGrants() is false for a version bump or a narrowing", () => {
  const wide = m("npm:x@1.0.0", { permissions: { net: ["a.example.com", "b.example.com"] } });
  const bump = m("npm:x@1.0.1", { permissions: { net: ["a.example.com", "b.example.com"] } });
  const narrow = m("npm:x@1.0.2", { permissions: { net: ["a.example.com"] } });
  assert.equal(widensGrants(diffGrants(wide, bump)), false);
  assert.deepEqual(describeGrantDiff(diffGrants(wide, bump)).slice(1), [
    "No change in what it may touch",
  ]);
  assert.equal(widensGrants(diffGrants(wide, narrow)), false);
  assert.equal(widensGrants(diffGrants(narrow, wide)), true);
  assert.deepEqual(diffGrants(wide, wide), []);
});

Deno.test("diffGrants() counts a raised memory cap as a widening", () => {
  const base = `"name": "x", "description": "d", "package": "npm:x@1.0.0"`;
  const v1 = parseManifest(`{ ${base}, "limits": { "heapMb": 1024 } }`);
  const v2 = parseManifest(`{ ${base}, "limits": { "heapMb": 4096, "memoryMb": 8192 } }`);
  const raised = diffGrants(v1, v2);
  assert.ok(widensGrants(raised));
  assert.deepEqual(describeGrantDiff(raised), [
    "+ may now use memory up to heapMb 4096 MiB",
    "+ may now use memory up to memoryMb 8192 MiB",
  ]);
  const lowered = diffGrants(v2, v1);
  assert.ok(!widensGrants(lowered));
  assert.deepEqual(diffGrants(v1, v1), []);
});
