// learn on a jsr: package, pulled from a local JSR registry (JSR_URL) like any other.
import assert from "node:assert/strict";
import { join } from "../runtime/_path.ts";
import { learnServer } from "../runtime/learn/learn_server.ts";
import {
  assertDraftValid,
  assertGrantsExercised,
  inspectDraft,
  LEARN_CACHE,
} from "./_learn_helpers.ts";
import { ROOT, toolEnv } from "./_helpers.ts";
import { startJsrRegistry } from "./jsr_registry.ts";

Deno.test("learnServer() learns a jsr: package from the registry JSR_URL names", async () => {
  const home = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-learn-home-" }));
  const registry = await startJsrRegistry();
  try {
    await registry.publish(join(ROOT, "servers/time"));
    const registries = { JSR_URL: registry.url };
    const learned = await learnServer("jsr:@sandboxed/time@0.1.0", {
      cacheRoot: LEARN_CACHE,
      registries,
      source: toolEnv(),
      home,
      args: ["--local-timezone=Asia/Tokyo"],
      calls: [{ tool: "get_current_time", arguments: {} }],
      timeoutMs: 60_000,
    });
    assert.ok(learned.initialized, `${learned.failure} ${JSON.stringify(learned.checks)}`);
    assert.equal(learned.calls[0].ok, true, learned.calls[0].text);
    assert.match(learned.calls[0].text, /Asia\/Tokyo/);
    const draft = assertDraftValid(learned, home);
    assertGrantsExercised(learned);
    assert.equal(draft.package, "jsr:@sandboxed/time@0.1.0");
    assert.deepEqual(draft.args, ["--local-timezone=Asia/Tokyo"]);
    assert.deepEqual(await inspectDraft(draft, { home, registries }), learned.offering.tools);
  } finally {
    await registry.close();
    Deno.removeSync(home, { recursive: true });
  }
});
