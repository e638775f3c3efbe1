import assert from "node:assert/strict";
import { zed } from "./zed.ts";
import type { ClientEnvironment, EntryParts } from "./types.ts";

const PARTS: EntryParts = {
  command: "/opt/deno",
  args: ["run", "npm:x@1.0.0"],
  env: { MCP_RUN_MANAGED: "1" },
  secretNames: ["TOKEN"],
  description: "ignored",
};

Deno.test("zed.buildEntry() writes a custom context server", () => {
  assert.deepEqual(zed.buildEntry("x", PARTS), {
    source: "custom",
    command: "/opt/deno",
    args: ["run", "npm:x@1.0.0"],
    env: { MCP_RUN_MANAGED: "1" },
  });
});

Deno.test("zed has no secret references and does not expand values", () => {
  assert.equal(zed.secrets, "none");
  assert.equal(zed.secretReference, undefined);
  assert.equal(zed.expands, false);
  assert.equal(zed.containerKey, "context_servers");
});

Deno.test("zed.presenceDir() follows each OS's settings folder", () => {
  const cases: [ClientEnvironment, string][] = [
    [{ os: "linux", home: "/h", cwd: "/p" }, "/h/.config/zed"],
    [{ os: "linux", home: "/h", cwd: "/p", configHome: "/xdg" }, "/xdg/zed"],
    [{ os: "darwin", home: "/Users/a", cwd: "/p", configHome: "/xdg" }, "/Users/a/.config/zed"],
    [{ os: "windows", home: "C:\\Users\\a", cwd: "D:\\p" }, "C:\\Users\\a\\AppData\\Roaming\\Zed"],
  ];
  for (const [env, dir] of cases) assert.equal(zed.presenceDir("user", env), dir, env.os);
  assert.equal(zed.presenceDir("project", { os: "linux", home: "/h", cwd: "/p" }), "/p/.zed");
});

Deno.test("zed.secretHint() says the secret was not written and how to supply it", () => {
  const one = zed.secretHint(["TOKEN"]);
  assert.match(one, /^Zed has no way to reference a secret, so TOKEN was not written/);
  assert.match(one, /inherits it from/);
  assert.match(zed.secretHint(["A", "B"]), /A, B was not written .* inherits them from/);
});
