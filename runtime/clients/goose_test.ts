import assert from "node:assert/strict";
import { goose } from "./goose.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "npm:x@1.0.0"],
  env: { MCP_RUN_MANAGED: "1", PLAIN: "v" },
  secretNames: ["TOKEN", "OTHER"],
  description: "Fetches pages",
};

Deno.test("goose.buildEntry() writes goose's extension shape with env_keys for secrets", () => {
  assert.deepEqual(goose.buildEntry("fetch", PARTS), {
    enabled: true,
    type: "stdio",
    name: "fetch",
    description: "Fetches pages",
    cmd: "/opt/deno",
    args: ["run", "npm:x@1.0.0"],
    envs: { MCP_RUN_MANAGED: "1", PLAIN: "v" },
    env_keys: ["TOKEN", "OTHER"],
    timeout: 300,
  });
});

Deno.test("goose keeps its environment under envs and reads only the user file", () => {
  assert.equal(goose.envKey, "envs");
  assert.equal(goose.format, "yaml");
  assert.deepEqual(goose.scopes, ["user"]);
  assert.equal(goose.secretReference, undefined);
});

Deno.test("goose.configPath() is config.yaml in goose's folder on each OS", () => {
  const cases: [ClientEnvironment, string][] = [
    [{ os: "linux", home: "/h", cwd: "/p", configHome: "/xdg" }, "/xdg/goose/config.yaml"],
    [{ os: "darwin", home: "/Users/a", cwd: "/p" }, "/Users/a/.config/goose/config.yaml"],
    [
      { os: "windows", home: "C:\\Users\\a", cwd: "D:\\p", appData: "E:\\roam" },
      "E:\\roam\\Block\\goose\\config\\config.yaml",
    ],
  ];
  for (const [env, path] of cases) {
    // The scope is ignored: goose has one file.
    assert.equal(goose.configPath("project", env, "x"), path, env.os);
    assert.ok(path.startsWith(goose.presenceDir("user", env)));
  }
});

Deno.test("goose.secretHint() agrees in number with the secrets it names", () => {
  assert.match(goose.secretHint(["A"]), /store it with `goose configure` or set it before/);
  assert.match(goose.secretHint(["A", "B"]), /resolves A, B .* store them .* set them before/);
});
