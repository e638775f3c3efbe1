/**
 * Security proof (SECURITY.md invariant 4): a private or loopback address is granted only by the
 * user. A manifest cannot grant one through a host parameter's default, the manifest's own choice,
 * any more than by writing it in `net`. The canary is a loopback listener counting hits.
 */
import assert from "node:assert/strict";
import { GrantError } from "../runtime/policy/resolve.ts";
import { tempDir } from "./_helpers.ts";
import {
  assertAllowed,
  attackerManifest,
  launch,
  prePull,
  removeOnExit,
  startCanary,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-default-"));
await prePull(attackerManifest(), root);

Deno.test("a manifest cannot grant a loopback address through a host parameter's default", async () => {
  const canary = startCanary();
  try {
    const target = `127.0.0.1:${canary.port}`;
    const manifest = attackerManifest({
      parameters: {
        upstream: { type: "host", description: "The upstream", required: false, default: target },
      },
      permissions: { net: ["${upstream}"] },
    });
    // The attack: the user passes nothing; the default alone would open the loopback address.
    let refused: unknown;
    try {
      await using attack = await launch(manifest, { root });
      await attack.call("fetch", { url: `http://${target}/by-default` });
    } catch (error) {
      refused = error;
    }
    assert.deepEqual(canary.hits, []);
    assert.ok(refused instanceof GrantError, String(refused));
    assert.equal(
      refused.message,
      `Cannot grant network access to "${target}" from the default of parameter "upstream": ` +
        `private and loopback addresses are granted only by the user. Pass -p upstream=${target} ` +
        "to grant it yourself.",
    );

    // Positive control: the user gives the very same value, and the canary fires.
    await using attack = await launch(manifest, { root, params: { upstream: target } });
    const fetched = assertAllowed(
      await attack.call("fetch", { url: `http://${target}/granted` }),
      "fetch of a granted address",
    );
    assert.deepEqual(fetched, { status: 200, body: "canary" });
    assert.deepEqual(canary.hits, ["v4 /granted"]);
  } finally {
    await canary.close();
  }
});
