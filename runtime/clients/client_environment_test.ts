import assert from "node:assert/strict";
import { readClientEnvironment } from "./client_environment.ts";

Deno.test("readClientEnvironment() reads the home and config folders from the environment", () => {
  const env = readClientEnvironment({ HOME: "/home/ada", XDG_CONFIG_HOME: "/xdg", APPDATA: "" });
  assert.equal(env.home, Deno.build.os === "windows" ? env.home : "/home/ada");
  assert.equal(env.configHome, "/xdg");
  assert.equal(env.appData, undefined, "an empty variable counts as unset");
  assert.equal(env.cwd, Deno.cwd());
  assert.equal(
    env.os,
    Deno.build.os === "darwin" ? "darwin" : Deno.build.os === "windows" ? "windows" : "linux",
  );
});

Deno.test("readClientEnvironment() refuses an environment without a home folder", () => {
  for (const env of [{}, { HOME: "" }, { XDG_CONFIG_HOME: "/xdg" }]) {
    assert.throws(() => readClientEnvironment(env), {
      name: "TypeError",
      message: "Cannot find the home folder: set HOME (USERPROFILE on Windows)",
    });
  }
});

Deno.test({
  name: "readClientEnvironment() ignores USERPROFILE outside Windows",
  ignore: Deno.build.os === "windows",
  fn() {
    assert.equal(readClientEnvironment({ HOME: "/h", USERPROFILE: "/other" }).home, "/h");
  },
});
