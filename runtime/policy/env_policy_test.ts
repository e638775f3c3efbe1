import assert from "node:assert/strict";
import {
  envNameMatches,
  envPatternPrefix,
  isReservedEnvName,
  reservedNamesMatching,
} from "./env_policy.ts";

Deno.test("envPatternPrefix() gives a pattern's prefix and nothing for an exact name", () => {
  const cases: [string, string | undefined][] = [
    ["GITHUB_*", "GITHUB_"],
    ["A_*", "A_"],
    ["GITHUB_TOKEN", undefined],
    ["GITHUB*", undefined],
    ["*", undefined],
  ];
  for (const [entry, prefix] of cases) assert.equal(envPatternPrefix(entry), prefix, entry);
});

Deno.test("envNameMatches() matches exact names exactly and patterns by prefix, in exact case", () => {
  const cases: [string, string, boolean][] = [
    ["TOKEN", "TOKEN", true],
    ["TOKEN", "TOKEN_2", false],
    ["TOKEN", "token", false],
    ["APP_*", "APP_MODE", true],
    ["APP_*", "APP_", true],
    ["APP_*", "APP", false],
    ["APP_*", "app_mode", false],
    ["APP_*", "XAPP_MODE", false],
  ];
  for (const [declared, name, expected] of cases) {
    assert.equal(envNameMatches(declared, name), expected, `${declared} ~ ${name}`);
  }
});

Deno.test("isReservedEnvName() and reservedNamesMatching() agree on launcher-set names", () => {
  assert.ok(isReservedEnvName("JSR_*"));
  assert.deepEqual(reservedNamesMatching("JSR_*"), ["JSR_URL"]);
  assert.ok(!isReservedEnvName("APP_*"));
  assert.deepEqual(reservedNamesMatching("APP_*"), []);
});
