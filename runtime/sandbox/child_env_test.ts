import assert from "node:assert/strict";
import { PULL_VARS, pullEnv, serverEnv, TLS_TRUST_VARS } from "./child_env.ts";
import { dockerLaunchPlan } from "./docker_launch.ts";
import { isReservedEnvName } from "../policy/manifest.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

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

/** The launcher's proxy and TLS settings (with credentials), and ordinary names beside them. */
const proxySource = {
  HTTP_PROXY: "http://user:secret@proxy.example:3128",
  HTTPS_PROXY: "http://user:secret@proxy.example:3128",
  ALL_PROXY: "socks5://user:secret@proxy.example:1080",
  NO_PROXY: "localhost",
  http_proxy: "http://user:secret@proxy.example:3128",
  https_proxy: "http://user:secret@proxy.example:3128",
  all_proxy: "socks5://user:secret@proxy.example:1080",
  no_proxy: "localhost",
  SSL_CERT_FILE: "/etc/ssl/launcher-ca.pem",
  SSL_CERT_DIR: "/etc/ssl/launcher-certs",
  SSLKEYLOGFILE: "/tmp/keys.log",
  HTTP_TIMEOUT: "30",
  https_retries: "3",
  SSL_MODE: "require",
  ALL_ITEMS: "yes",
};
const patternServer: ResolvedServer = {
  ...server,
  env: ["HTTP_*", "HTTPS_*", "ALL_*", "SSL_*", "http_*", "https_*", "all_*"],
  secrets: [],
  requiredEnv: [],
  envValues: {},
};

Deno.test("serverEnv() leaves reserved names out of a pattern's matches, in any letter case", () => {
  const env = serverEnv(patternServer, { home: "/h", denoDir: "/d", source: proxySource });
  for (const name of Object.keys(env)) assert.ok(!/proxy|ssl_cert|keylog/i.test(name), name);
  assert.ok(!JSON.stringify(env).includes("secret"), JSON.stringify(env));
  // Positive control: the ordinary names the same patterns match do arrive.
  assert.equal(env.HTTP_TIMEOUT, "30");
  assert.equal(env.https_retries, "3");
  assert.equal(env.SSL_MODE, "require");
  assert.equal(env.ALL_ITEMS, "yes");
});

Deno.test("serverEnv() refuses reserved names in a server not built from a checked manifest", () => {
  const hostile: Partial<ResolvedServer>[] = [
    { env: ["HTTP_PROXY"] },
    { env: ["http_proxy"] },
    { env: ["SSL_CERT_FILE"] },
    { env: ["DENO_*"] },
    { env: ["NPM_CONFIG_*"] },
    { envValues: { NODE_OPTIONS: "--require /evil.js" } },
    { envValues: { LD_PRELOAD: "/evil.so" } },
    { env: ["JSR_*"] },
    { env: ["NPM_*"] },
    { env: ["NO_*"] },
  ];
  for (const overrides of hostile) {
    const bad = { ...patternServer, ...overrides };
    assert.throws(
      () => serverEnv(bad, { home: "/h", denoDir: "/d", source: proxySource }),
      (e: Error) => e instanceof RangeError && /reserved for the launcher/.test(e.message),
      JSON.stringify(overrides),
    );
  }
});

const registries = {
  JSR_URL: "http://user:mirror-secret@127.0.0.1:1/",
  NPM_CONFIG_REGISTRY: "http://user:mirror-secret@127.0.0.1:2/",
};

Deno.test("serverEnv() and pullEnv() set only reserved names, which no pattern may match", () => {
  // Every variable the launcher sets or copies on its own is reserved, so no manifest can name
  // it; and every pattern that would match one is reserved, since Deno's --allow-env=PREFIX_*
  // would let the server read it where the launcher put it.
  const env = serverEnv({ ...server, env: [], secrets: [], requiredEnv: [], envValues: {} }, {
    home: "/h",
    denoDir: "/d",
    source: { ...source, ...proxySource },
    registries,
  });
  assert.equal(env.JSR_URL, registries.JSR_URL); // Deno needs its mirror to find cached code
  for (const name of [...TLS_TRUST_VARS, ...PULL_VARS]) {
    assert.equal(isReservedEnvName(name), true, name);
  }
  for (const name of Object.keys(env)) {
    assert.equal(isReservedEnvName(name), true, name);
    for (const [i, c] of [...name].entries()) {
      const pattern = `${name.slice(0, i + 1)}*`;
      if (c === "_") assert.equal(isReservedEnvName(pattern), true, pattern);
    }
  }
});

Deno.test("serverEnv() refuses a pattern that matches a variable the launcher sets", () => {
  // A registry override the launcher passes for Deno, under a name no list knows.
  const bad = { ...patternServer, env: ["MIRROR_*"] };
  assert.throws(
    () =>
      serverEnv(bad, {
        home: "/h",
        denoDir: "/d",
        source: {},
        registries: { MIRROR_URL: "http://user:mirror-secret@127.0.0.1:3/" },
      }),
    (e: Error) =>
      e instanceof RangeError && /"MIRROR_\*", which would let it read MIRROR_URL/.test(e.message),
  );
  // Positive control: without that variable, the same pattern is fine.
  assert.deepEqual(
    serverEnv(bad, { home: "/h", denoDir: "/d", source: { MIRROR_MODE: "x" } }).MIRROR_MODE,
    "x",
  );
});

Deno.test("dockerLaunchPlan() passes a pattern's ordinary names to the container, never reserved ones", () => {
  const plan = dockerLaunchPlan(patternServer, {
    cacheRoot: "/c",
    source: { PATH: "/usr/bin", ...proxySource },
    nameSuffix: "t1",
    user: "1000:1000",
  });
  // By name (`-e NAME`): the value comes from the docker client's environment.
  const passed = plan.args.filter((a, i) => plan.args[i - 1] === "-e" && !a.includes("="));
  assert.deepEqual(passed.sort(), ["ALL_ITEMS", "HTTP_TIMEOUT", "SSL_MODE", "https_retries"]);
  assert.deepEqual(plan.env, {
    PATH: "/usr/bin",
    ALL_ITEMS: "yes",
    HTTP_TIMEOUT: "30",
    SSL_MODE: "require",
    https_retries: "3",
  });
  assert.ok(!JSON.stringify(plan).includes("secret"));
});
