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
  assert.deepEqual(learned.offering.tools, ["ping", "region", "open_url"]);
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

Deno.test("learnServer() probes each tool once, in one final run after the environment runs", async () => {
  const stderr: string[] = [];
  const learned = await learnServer(MANIFEST, {
    cacheRoot: LEARN_CACHE,
    source: toolEnv(),
    home,
    probe: true,
    onStderr: (line) => stderr.push(line),
    timeoutMs: 60_000,
  });
  assert.ok(learned.initialized, learned.failure);
  // Six runs (the first, all placeholders, four narrowing runs, the final): tools called once.
  assert.deepEqual(stderr.filter((l) => l.startsWith("CALLED")).sort(), [
    "CALLED open_url",
    "CALLED ping",
    "CALLED region",
  ]);
  assert.deepEqual(learned.calls.map((c) => c.tool).sort(), ["open_url", "ping", "region"]);
  const draft = assertDraftValid(learned, home);
  assertGrantsExercised(learned);
  assert.deepEqual(Object.keys(draft.secrets), ["NEEDS_ENV_API_KEY"]);
  // The region's host is drafted; the probe's own sample URL is not.
  assert.deepEqual(draft.permissions.net, ["api.default.example.net:443"]);
  assert.match(
    learned.findings.find((f) => f.value === "example.com:443")?.reason ?? "",
    /sample argument/,
  );
});

Deno.test("learnServer() never drafts a host made from a placeholder, and learns with a real setting", async () => {
  const options = { cacheRoot: LEARN_CACHE, source: toolEnv(), home, timeoutMs: 60_000 };
  const calls = [{ tool: "region", arguments: {} }];
  const placeholder = await learnServer(MANIFEST, {
    ...options,
    calls,
    env: ["NEEDS_ENV_API_KEY", "NEEDS_ENV_REGION"],
  });
  assert.ok(placeholder.initialized, placeholder.failure);
  assert.deepEqual(placeholder.manifest.permissions.net, []);
  const finding = placeholder.findings.find((f) => f.value?.includes(LEARN_PLACEHOLDER));
  assert.match(finding?.reason ?? "", /--env NEEDS_ENV_REGION=VALUE/);

  const real = await learnServer(MANIFEST, {
    ...options,
    calls,
    env: ["NEEDS_ENV_API_KEY", "NEEDS_ENV_REGION=eu-west-1"],
  });
  assert.ok(real.initialized, real.failure);
  const draft = assertDraftValid(real, home);
  assert.deepEqual(draft.permissions.net, ["api.eu-west-1.example.net:443"]);
  assert.deepEqual([Object.keys(draft.env), Object.keys(draft.secrets)], [
    ["NEEDS_ENV_REGION"],
    ["NEEDS_ENV_API_KEY"],
  ]);
  await assert.rejects(
    () => learnServer(MANIFEST, { ...options, env: ["NEEDS_ENV_API_KEY=real"] }),
    (e: Error) => e instanceof TypeError && /looks like a credential/.test(e.message),
  );
});

globalThis.addEventListener("unload", () => Deno.removeSync(home, { recursive: true }));
