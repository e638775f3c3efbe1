// The official MCP conformance suite (pinned) through a real `mcp-run serve` process, without
// authentication and with `--auth oauth` (a signed-in token on every request): every scenario
// that passes natively passes through both; and the 2026-07-28 scenarios (a newer suite) that
// pass through serve pass with OAuth too.
import assert from "node:assert/strict";
import {
  compareNativeAndServe,
  serveConformanceTable,
  serveRegressions,
} from "./conformance_serve.ts";

Deno.test("mcp-run serve, with and without --auth oauth, passes every conformance scenario the server passes natively", async () => {
  const runs = await compareNativeAndServe();
  const table = serveConformanceTable(runs);
  assert.ok(runs.native.size >= 30, `only ${runs.native.size} scenarios ran`);
  assert.deepEqual(serveRegressions(runs), [], table);
  assert.equal(runs.oauth.legacy.size, runs.native.size, table);
  // Positive control for 2026-07-28: serve passes a good share of that revision's scenarios.
  const modernPasses = [...runs.none.modern.values()].filter((r) => r.failed === 0).length;
  assert.ok(modernPasses >= 25, `only ${modernPasses} 2026-07-28 scenarios pass:\n${table}`);
  assert.equal(runs.oauth.modern.size, runs.none.modern.size, table);
});
