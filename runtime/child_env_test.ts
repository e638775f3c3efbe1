import assert from "node:assert/strict";
import { pullEnv, serverEnv } from "./child_env.ts";
import type { ResolvedServer } from "./resolve.ts";

const server: ResolvedServer = {
  name: "gh",
  specifier: "npm:gh@1.0.0",
  args: [],
  read: [],
  write: [],
  net: [],
  denyNet: [],
  env: ["APP_*", "GITHUB_TOKEN", "LOG_LEVEL", "STORE"],
  secrets: ["GITHUB_TOKEN"],
  requiredEnv: ["GITHUB_TOKEN"],
  envValues: { STORE: "/data/store.json" },
  sys: [],
  run: [],
  ffi: [],
  params: {},
};
const source = {
  GITHUB_TOKEN: "ghp_x",
  APP_MODE: "fast",
  APP_LEVEL: "2",
  AWS_SECRET_ACCESS_KEY: "canary",
  PATH: "/usr/bin",
  HOME: "/home/ada",
  NODE_OPTIONS: "--require /evil.js",
  LD_PRELOAD: "/evil.so",
  HTTPS_PROXY: "http://proxy:3128",
  STORE: "/user/value/ignored",
  DENO_CERT: "/etc/ca.pem",
};

Deno.test("serverEnv() passes only declared names, from scratch", () => {
  const env = serverEnv(server, { home: "/n/home", denoDir: "/n/deno", source });
  assert.deepEqual(env, {
    HOME: "/n/home",
    DENO_DIR: "/n/deno",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    NO_COLOR: "1",
    DENO_CERT: "/etc/ca.pem",
    GITHUB_TOKEN: "ghp_x",
    APP_MODE: "fast",
    APP_LEVEL: "2",
    STORE: "/data/store.json",
  });
});

Deno.test("serverEnv() names a missing secret and where to set it", () => {
  assert.throws(
    () => serverEnv(server, { home: "/h", denoDir: "/d", source: {} }),
    /"gh" needs secret GITHUB_TOKEN: set it in mcp-run's environment/,
  );
});

Deno.test("pullEnv() carries proxy, TLS and registry settings but no secrets", () => {
  const env = pullEnv({
    home: "/h",
    denoDir: "/d",
    source,
    registries: { JSR_URL: "http://127.0.0.1:4873/" },
  });
  assert.equal(env.HTTPS_PROXY, "http://proxy:3128");
  assert.equal(env.JSR_URL, "http://127.0.0.1:4873/");
  assert.equal(env.GITHUB_TOKEN, undefined);
  assert.equal(env.NODE_OPTIONS, undefined);
  assert.equal(env.HOME, "/h");
});
