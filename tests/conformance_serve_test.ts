// The official MCP conformance suite (pinned) through a real `mcp-run serve` process, without
// authentication and with `--auth oauth` (a signed-in token on every request): every scenario
// that passes natively passes through both.
import assert from "node:assert/strict";
import { compareNativeAndServe, regressions, serveConformanceTable } from "./conformance_serve.ts";

Deno.test("mcp-run serve, with and without --auth oauth, passes every conformance scenario the server passes natively", async () => {
  const runs = await compareNativeAndServe();
  const table = serveConformanceTable(runs);
  assert.ok(runs.native.size >= 30, `only ${runs.native.size} scenarios ran`);
  assert.deepEqual(regressions(runs.native, runs.none), [], table);
  assert.deepEqual(regressions(runs.native, runs.oauth), [], table);
  assert.equal(runs.oauth.size, runs.native.size, table);
});
