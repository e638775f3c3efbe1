import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { type CachedLauncher, launcherCommand } from "./launcher_command.ts";

const SERVER: ResolvedServer = serverFixture({
  name: "filesystem",
  specifier: "npm:@modelcontextprotocol/server-filesystem@2026.8.31",
  args: ["/home/ada/notes", "/home/ada/docs", "--verbose"],
  params: { dirs: ["/home/ada/notes", "/home/ada/docs"] },
});

const CHECKOUT: CachedLauncher = {
  module: "/src/mcp-run/runtime/cli.ts",
  config: "/src/mcp-run/deno.json",
  dir: "/c/launcher/checkout-1",
  lockFile: "/c/launcher/checkout-1/deno.lock",
  denoDir: "/c/launcher/checkout-1/deno",
  registries: { JSR_URL: "https://jsr.io/", NPM_CONFIG_REGISTRY: "https://registry.npmjs.org/" },
};

const JSR: CachedLauncher = {
  module: "jsr:@sandboxed/mcp-run@0.1.0/cli",
  dir: "/c/launcher/mcp-run@0.1.0-2",
  lockFile: "/c/launcher/mcp-run@0.1.0-2/deno.lock",
  denoDir: "/c/launcher/mcp-run@0.1.0-2/deno",
  registries: { JSR_URL: "https://jsr.example/", NPM_CONFIG_REGISTRY: "https://npm.example/" },
  manifests: "/c/launcher/mcp-run@0.1.0-2/manifests",
};

Deno.test("launcherCommand() runs a checkout's CLI from its pinned cache with the resolved parameters", () => {
  const entry = launcherCommand(SERVER, {
    target: "filesystem",
    cacheRoot: "/home/ada/.cache/mcp-run",
    deno: "/usr/local/bin/deno",
    launcher: CHECKOUT,
    extraArgs: ["--verbose"],
  });
  assert.equal(entry.command, "/usr/local/bin/deno");
  assert.deepEqual(entry.args, [
    ...["run", "-A", "--cached-only", "--frozen", "--lock=/c/launcher/checkout-1/deno.lock"],
    ...["--config=/src/mcp-run/deno.json", "/src/mcp-run/runtime/cli.ts"],
    "run",
    "filesystem",
    ...["-p", "dirs=/home/ada/notes", "-p", "dirs=/home/ada/docs"],
    ...["--cache", "/home/ada/.cache/mcp-run"],
    ...["--", "--verbose"],
  ]);
  // The client's own DENO_DIR and registries are overridden by the launcher's.
  assert.deepEqual(entry.env, {
    DENO_DIR: "/c/launcher/checkout-1/deno",
    JSR_URL: "https://jsr.io/",
    NPM_CONFIG_REGISTRY: "https://registry.npmjs.org/",
    DENO_NO_UPDATE_CHECK: "1",
  });
  assert.deepEqual(entry.secrets, []);
});

Deno.test("launcherCommand() passes saved manifests, registries, mirrors and docker isolation on", () => {
  const entry = launcherCommand(SERVER, {
    target: "filesystem",
    cacheRoot: "/c",
    deno: "deno",
    launcher: JSR,
    registrySources: ["/src/registry", "https://example.com/manifests/"],
    registries: { JSR_URL: "https://jsr.example", NPM_CONFIG_REGISTRY: "https://npm.example" },
    docker: { image: "example/deno:2.9.6" },
  });
  assert.deepEqual(entry.args.slice(0, 9), [
    ...["run", "-A", "--cached-only", "--frozen", "--lock=/c/launcher/mcp-run@0.1.0-2/deno.lock"],
    ...["--no-config", "jsr:@sandboxed/mcp-run@0.1.0/cli", "run", "filesystem"],
  ]);
  const tail = entry.args.slice(entry.args.indexOf("--cache"));
  assert.deepEqual(tail, [
    ...["--cache", "/c", "--registry", "/c/launcher/mcp-run@0.1.0-2/manifests"],
    ...["--registry", "/src/registry", "--registry", "https://example.com/manifests/"],
    ...["--jsr-url", "https://jsr.example", "--npm-registry", "https://npm.example"],
    ...["--isolation", "docker", "--image", "example/deno:2.9.6"],
  ]);
  assert.equal(entry.env.JSR_URL, "https://jsr.example/");
});

Deno.test("launcherCommand() passes the guard's options on before the server's arguments", () => {
  const entry = launcherCommand(SERVER, {
    target: "filesystem",
    cacheRoot: "/c",
    deno: "deno",
    launcher: CHECKOUT,
    extraArgs: ["--verbose"],
    guardArgs: ["--exclude-tools", "write_*,move_file", "--scan", "warn"],
  });
  assert.deepEqual(entry.args.slice(-7), [
    ...["/c", "--exclude-tools", "write_*,move_file", "--scan", "warn"],
    ...["--", "--verbose"],
  ]);
});

Deno.test("launcherCommand() passes gVisor isolation on, and docker's by default", () => {
  const options = { target: "filesystem", cacheRoot: "/c", deno: "deno", launcher: CHECKOUT };
  const gvisor = launcherCommand(SERVER, { ...options, docker: { isolation: "gvisor" } });
  assert.deepEqual(gvisor.args.slice(-2), ["--isolation", "gvisor"]);
  const docker = launcherCommand(SERVER, { ...options, docker: {} });
  assert.equal(docker.args[docker.args.indexOf("--isolation") + 1], "docker");
  const native = launcherCommand(SERVER, options);
  assert.ok(!native.args.includes("--isolation"));
});
