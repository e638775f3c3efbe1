/**
 * Security proofs, native mode: secrets in the environment and the system (SECURITY.md
 * invariant 5). A server sees exactly its declared variables, however it enumerates them; sys
 * APIs are closed unless declared; printed plans hide secret values.
 */
import assert from "node:assert/strict";
import { permissionFlags } from "../runtime/sandbox/flags.ts";
import { ManifestError } from "../runtime/policy/manifest.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { cli, tempDir } from "./_helpers.ts";
import {
  assertAllowed,
  assertDenied,
  attackerManifest,
  launch,
  type ManifestSpec,
  manifestText,
  prePull,
  removeOnExit,
  writeManifest,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-env-"));
await prePull(attackerManifest(), root); // the launcher's proxy variables below would stop a pull

/** The attacker fixture, resolved. */
function attackerServer() {
  return resolveServer(attackerManifest(), { cacheRoot: root });
}

const CANARY = "CANARY_LAUNCHER_SECRET";
const CANARY_VALUE = "canary-4d1e-never-in-the-server";
const declared: ManifestSpec = {
  permissions: { env: ["APP_*"] },
  env: { DECLARED_SETTING: { description: "A plain setting" } },
  secrets: { API_TOKEN: { description: "A credential", required: true } },
};
const launcherEnv = {
  [CANARY]: CANARY_VALUE,
  AWS_SECRET_ACCESS_KEY: CANARY_VALUE,
  NODE_OPTIONS: "--require=/tmp/evil.js",
  LD_PRELOAD: "/tmp/evil.so",
  HTTPS_PROXY: "http://127.0.0.1:9",
  DECLARED_SETTING: "setting-value",
  API_TOKEN: "token-value",
  APP_ONE: "one",
  APP_TWO: "two",
};
const wanted = {
  DECLARED_SETTING: "setting-value",
  API_TOKEN: "token-value",
  APP_ONE: "one",
  APP_TWO: "two",
};
const names = [...Object.keys(launcherEnv), "HOME", "DENO_DIR", "PATH"];

Deno.test("a sandboxed server sees only its declared variables, however it enumerates them", async () => {
  {
    await using attack = await launch(attackerManifest(declared), { root, source: launcherEnv });
    const report = await attack.call("env", { names });
    // Positive control inside the sandbox: the declared names arrive, values intact.
    assert.deepEqual(assertAllowed(report.toObject, "Deno.env.toObject()"), wanted);
    assert.deepEqual(assertAllowed(report.processEnv, "process.env"), wanted);
    const got = assertAllowed(report.get, "Deno.env.get()") as Record<string, string | null>;
    for (const name of names) assert.equal(got[name], wanted[name as keyof typeof wanted] ?? null);
  }
  // Positive control: the same fixture with no sandbox finds the canary with every API.
  await using attack = await launch(attackerManifest(declared), {
    root,
    source: launcherEnv,
    unsandboxed: true,
  });
  const report = await attack.call("env", { names });
  for (const api of ["toObject", "processEnv", "get"]) {
    const env = assertAllowed(report[api], api) as Record<string, string>;
    assert.equal(env[CANARY], CANARY_VALUE, api);
  }
});

Deno.test("NODE_OPTIONS in the launcher's environment cannot preload code into the server", async () => {
  // Deno honours NODE_OPTIONS="--require FILE" and loads FILE without any read permission.
  const dir = removeOnExit(tempDir());
  const preload = `${dir}/preload.js`;
  Deno.writeTextFileSync(preload, `globalThis.preloaded = "CANARY-preload";\n`);
  const nodeOptions = { NODE_OPTIONS: `--require ${preload}` };
  {
    await using attack = await launch(attackerManifest(), { root, source: nodeOptions });
    assert.equal((await attack.call("env", { names: [] })).preloaded, null);
  }
  // Positive control: the variable in the sandboxed server's environment runs the file.
  await using attack = await launch(attackerManifest(), { root, planEnv: nodeOptions });
  assert.equal((await attack.call("env", { names: [] })).preloaded, "CANARY-preload");
});

Deno.test("mcp-run call gives the server none of the launcher's other variables", async () => {
  const dir = removeOnExit(tempDir());
  const file = writeManifest(dir, declared);
  const r = await cli(["call", file, "env", JSON.stringify({ names }), "--cache", root, "--yes"], {
    env: launcherEnv,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(CANARY_VALUE), r.stdout);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.toObject.value, wanted);
  assert.deepEqual(report.processEnv.value, wanted);
  for (const name of names) {
    assert.equal(report.get.value[name], wanted[name as keyof typeof wanted] ?? null, name);
  }
});

Deno.test("mcp-run run --dry-run hides secret values and shows plain settings", async () => {
  const dir = removeOnExit(tempDir());
  const file = writeManifest(dir, declared);
  for (const format of ["text", "json"]) {
    const r = await cli(["run", file, "--dry-run", "--format", format, "--cache", root], {
      env: launcherEnv,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes("token-value"), r.stdout);
    assert.ok(!r.stdout.includes(CANARY_VALUE), r.stdout);
    assert.match(r.stdout, /API_TOKEN.{1,4}<secret>/);
    assert.match(r.stdout, /setting-value/); // positive control: plain values are shown
  }
});

Deno.test("parseManifest() refuses to pass launcher and loader variables to a server", () => {
  const hostile: ManifestSpec[] = [
    { permissions: { env: ["LD_PRELOAD"] } },
    { permissions: { env: ["DENO_*"] } },
    { permissions: { env: ["NODE_OPTIONS"] } },
    { permissions: { env: ["HTTPS_PROXY"] } },
    { permissions: { env: ["PATH"] } },
    { env: { NPM_CONFIG_REGISTRY: { description: "x" } } },
    { secrets: { DENO_AUTH_TOKENS: { description: "x" } } },
    { env: { HOME: { description: "x", value: "/root" } } },
  ];
  for (const spec of hostile) {
    assert.throws(
      () => parseManifest(manifestText(spec)),
      (e: Error) => e instanceof ManifestError && /reserved/.test(e.message),
      JSON.stringify(spec),
    );
  }
  // Positive control: an ordinary name in the same places is accepted.
  parseManifest(manifestText({
    permissions: { env: ["MY_SETTING"] },
    env: { OTHER: { description: "x" } },
    secrets: { TOKEN: { description: "x" } },
  }));
});

// The launcher's proxy (with credentials) and TLS trust settings, in both letter cases, and
// ordinary names that the same patterns match.
const PROXY_SECRET = "canary-proxy-password-7f3a";
const proxyCanaries: Record<string, string> = {
  HTTP_PROXY: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  HTTPS_PROXY: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  ALL_PROXY: `socks5://user:${PROXY_SECRET}@127.0.0.1:9`,
  http_proxy: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  https_proxy: `http://user:${PROXY_SECRET}@127.0.0.1:9`,
  all_proxy: `socks5://user:${PROXY_SECRET}@127.0.0.1:9`,
  SSL_CERT_FILE: "/canary/launcher-ca.pem",
  SSL_CERT_DIR: "/canary/launcher-certs",
};
const proxyControls = { HTTP_TIMEOUT: "30", HTTPS_RETRIES: "3", ALL_ITEMS: "yes", SSL_MODE: "on" };
const patterns: ManifestSpec = {
  permissions: { env: ["HTTP_*", "HTTPS_*", "ALL_*", "SSL_*", "http_*", "https_*", "all_*"] },
};
const patternNames = [...Object.keys(proxyCanaries), ...Object.keys(proxyControls)];

Deno.test("a sandboxed server never gets the launcher's proxy or TLS settings through a pattern", async () => {
  const source = { ...proxyCanaries, ...proxyControls };
  {
    await using attack = await launch(attackerManifest(patterns), { root, source });
    const report = await attack.call("env", { names: patternNames });
    // Positive control inside the sandbox: the ordinary names the patterns match arrive.
    assert.deepEqual(assertAllowed(report.toObject, "Deno.env.toObject()"), proxyControls);
    assert.deepEqual(assertAllowed(report.processEnv, "process.env"), proxyControls);
    // Reading a proxy variable by name is refused by Deno itself (the flags deny it).
    assertDenied(report.get, "Deno.env.get() of a proxy variable");
    assert.ok(!JSON.stringify(report).includes(PROXY_SECRET));
  }
  // Positive control: the same fixture with no sandbox reads the proxy password.
  await using attack = await launch(attackerManifest(patterns), {
    root,
    source,
    unsandboxed: true,
  });
  const report = await attack.call("env", { names: patternNames });
  const env = assertAllowed(report.get, "Deno.env.get()") as Record<string, string>;
  assert.equal(env.HTTP_PROXY, proxyCanaries.HTTP_PROXY);
  assert.equal(env.SSL_CERT_FILE, proxyCanaries.SSL_CERT_FILE);
});

Deno.test("a server run by deno itself with the client's environment cannot read proxy settings through a pattern", async () => {
  // A client config entry of the deno form runs `deno run <flags>` with the client's own
  // environment: the flags alone must keep the proxy and TLS settings from the server.
  {
    await using attack = await launch(attackerManifest(patterns), {
      root,
      source: proxyControls,
      planEnv: proxyCanaries,
    });
    const report = await attack.call("env", { names: patternNames });
    // Positive control: the ordinary names the same patterns match are readable.
    assert.deepEqual(assertAllowed(report.toObject, "Deno.env.toObject()"), proxyControls);
    assert.ok(!JSON.stringify(report).includes(PROXY_SECRET), JSON.stringify(report));
    assert.ok(!JSON.stringify(report).includes("/canary/"), JSON.stringify(report));
    assertDenied(report.get, "Deno.env.get() of a proxy variable");
  }
  // Positive control: without the deny list, the same environment leaks the password.
  const server = resolveServer(attackerManifest(patterns), { cacheRoot: root });
  const deny = permissionFlags(server).find((flag) => flag.startsWith("--deny-env="));
  assert.ok(deny?.split(/[=,]/).includes("HTTP_PROXY"), deny);
  await using leaky = await launch(attackerManifest(patterns), {
    root,
    source: proxyControls,
    planEnv: proxyCanaries,
    withoutFlags: ["--deny-env"],
  });
  const report = await leaky.call("env", { names: patternNames });
  assert.ok(JSON.stringify(report).includes(PROXY_SECRET), JSON.stringify(report));
});

Deno.test("mcp-run call passes a pattern's ordinary names, never the launcher's proxy or TLS settings", async () => {
  const dir = removeOnExit(tempDir());
  const file = writeManifest(dir, patterns);
  const r = await cli([
    "call",
    file,
    "env",
    JSON.stringify({ names: patternNames }),
    "--cache",
    root,
  ], {
    env: { ...proxyCanaries, ...proxyControls },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(PROXY_SECRET), r.stdout);
  assert.ok(!r.stdout.includes("/canary/"), r.stdout);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.toObject.value, proxyControls); // positive control: HTTP_TIMEOUT arrives
});

Deno.test("mcp-run check refuses an env pattern that can only match reserved names", async () => {
  const dir = removeOnExit(tempDir());
  // Positive control: patterns that also match ordinary names pass.
  const check = await cli(["check", writeManifest(dir, patterns)]);
  assert.equal(check.code, 0, check.stderr);
  const deno = writeManifest(dir, { permissions: { env: ["DENO_*", "NPM_CONFIG_*"] } }, "d.jsonc");
  const refused = await cli(["check", deno]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /permissions\.env\[0\]: "DENO_\*" is reserved for the launcher/);
  assert.match(refused.stderr, /permissions\.env\[1\]: "NPM_CONFIG_\*" is reserved/);
});

Deno.test("mcp-run check refuses JSR_* and NPM_*, which would read the registry mirrors set for Deno", async () => {
  // The launcher puts the user's mirrors (URLs that may hold credentials) in every server's
  // environment, for Deno to find the cached code.
  const mirrors = {
    JSR_URL: `http://user:${PROXY_SECRET}@127.0.0.1:9/`,
    NPM_CONFIG_REGISTRY: `http://user:${PROXY_SECRET}@127.0.0.1:9/`,
  };
  const dir = removeOnExit(tempDir());
  const script = `${dir}/read.ts`;
  await Deno.writeTextFile(
    script,
    `console.log(Deno.env.get("JSR_URL"), Deno.env.get("NPM_CONFIG_REGISTRY"));`,
  );
  const read = async (env: string[], denyList = true) => {
    const server = { ...attackerServer(), env };
    const flags = permissionFlags(server).filter((f) => denyList || !f.startsWith("--deny-env"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...flags, script],
      env: mirrors,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  };
  // Positive control: Deno's allow list for such a pattern alone lets the canary fire; the deny
  // list the flags add for reserved names stops it, and the manifest is refused besides.
  assert.ok((await read(["JSR_*", "NPM_*"], false)).includes(PROXY_SECRET));
  assert.ok(!(await read(["JSR_*", "NPM_*"])).includes(PROXY_SECRET));
  assert.ok(!(await read(["JSR_TOKEN", "NPM_TOKEN"])).includes(PROXY_SECRET)); // exact names do not
  const file = writeManifest(dir, { permissions: { env: ["JSR_*", "NPM_*"] } });
  const refused = await cli(["check", file]);
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /permissions\.env\[0\]: "JSR_\*" is reserved for the launcher/);
  assert.match(refused.stderr, /permissions\.env\[1\]: "NPM_\*" is reserved for the launcher/);
  const call = await cli([
    "call",
    file,
    "env",
    JSON.stringify({ names: Object.keys(mirrors) }),
    "--cache",
    root,
    "--jsr-url",
    mirrors.JSR_URL,
  ]);
  assert.equal(call.code, 3, call.stderr);
  assert.ok(!call.stdout.includes(PROXY_SECRET));
});

Deno.test("a sandboxed server reads no system information unless its manifest declares it", async () => {
  {
    await using attack = await launch(attackerManifest(), { root });
    const report = await attack.call("sys");
    for (const api of Object.keys(report)) assertDenied(report[api], api);
  }
  // Positive control: declared, the host name comes through and matches the real one.
  await using attack = await launch(attackerManifest({ permissions: { sys: ["hostname"] } }), {
    root,
  });
  const report = await attack.call("sys");
  assert.equal(assertAllowed(report.hostname, "hostname"), Deno.hostname());
  assertDenied(report.osRelease, "osRelease (not declared)");
});
