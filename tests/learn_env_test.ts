// learn's environment rule: a name is drafted when the user names it, or when the server failed
// to start without it and started with a placeholder; names it only probes are left out.
import assert from "node:assert/strict";
import { fileURLToPath as fromFileUrl } from "node:url";
import { LEARN_PLACEHOLDER, learnServer } from "../runtime/learn/learn_server.ts";
import { assertDraftValid, assertGrantsExercised, LEARN_CACHE } from "./_learn_helpers.ts";
import { toolEnv } from "./_helpers.ts";

const MANIFEST = fromFileUrl(new URL("./testdata/learn/needs_env/learn.jsonc", import.meta.url));
const home = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-learn-home-" }));

Deno.test("learnServer() drafts the one variable a server cannot start without, not those it probes", async () => {
  const learned = await learnServer(MANIFEST, {
    cacheRoot: LEARN_CACHE,
    // The user's real value never reaches the server: learn gives it a placeholder.
    source: { ...toolEnv(), NEEDS_ENV_API_KEY: "real-user-value" },
    home,
    timeoutMs: 60_000,
  });
  assert.ok(learned.initialized, learned.failure);
  assert.deepEqual(learned.offering.tools, ["ping"]);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.deepEqual(Object.keys(draft.secrets), ["NEEDS_ENV_API_KEY"]);
  assert.deepEqual(Object.keys(draft.env), []);
  assert.ok(learned.checks.some((c) => c.value === "NEEDS_ENV_REGION"));
  assert.equal(LEARN_PLACEHOLDER, "mcp-run-learn-placeholder");
});

Deno.test("learnServer() drafts every name the user gives, even one the server only probes", async () => {
  const learned = await learnServer(MANIFEST, {
    cacheRoot: LEARN_CACHE,
    source: toolEnv(),
    home,
    env: ["NEEDS_ENV_API_KEY", "NEEDS_ENV_LOG_LEVEL"],
    timeoutMs: 60_000,
  });
  assert.ok(learned.initialized, learned.failure);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned, ["NEEDS_ENV_API_KEY", "NEEDS_ENV_LOG_LEVEL"]);
  assert.deepEqual(Object.keys(draft.secrets), ["NEEDS_ENV_API_KEY"]);
  assert.deepEqual(Object.keys(draft.env), ["NEEDS_ENV_LOG_LEVEL"]);
});

globalThis.addEventListener("unload", () => Deno.removeSync(home, { recursive: true }));
