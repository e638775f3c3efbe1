// The official MCP conformance suite (pinned) against servers/conformance natively over HTTP and
// over stdio behind the HTTP bridge: every scenario that passes natively passes through it.
import assert from "node:assert/strict";
import { compareNativeAndBridge, conformanceTable } from "./conformance_bridge.ts";

for (const jsonResponse of [false, true]) {
  Deno.test(
    `createHttpBridge()${
      jsonResponse ? " with JSON answers" : ""
    } passes every conformance scenario the server passes natively`,
    async () => {
      const { native, bridge } = await compareNativeAndBridge({ jsonResponse });
      assert.ok(native.size >= 30, `only ${native.size} scenarios ran`);
      const regressions = [...native].filter(([name, result]) =>
        result.failed === 0 && (bridge.get(name)?.failed ?? 1) > 0
      );
      assert.deepEqual(regressions, [], conformanceTable(native, bridge));
      // The fixture server itself passes the whole suite.
      assert.deepEqual([...native].filter(([, r]) => r.failed > 0), []);
    },
  );
}
