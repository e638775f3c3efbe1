import assert from "node:assert/strict";
import { serverFixture } from "../_server_fixture.ts";
import type { ResolvedServer } from "../resolve.ts";
import { LAUNCHER, launcherEntry } from "./launcher_entry.ts";

const SERVER: ResolvedServer = serverFixture({
  name: "filesystem",
  specifier: "npm:@modelcontextprotocol/server-filesystem@2026.8.31",
  args: ["/home/ada/notes", "/home/ada/docs", "--verbose"],
  params: { dirs: ["/home/ada/notes", "/home/ada/docs"] },
});

Deno.test("launcherEntry() runs mcp-run with the resolved parameters", () => {
  const entry = launcherEntry(SERVER, {
    target: "filesystem",
    cacheRoot: "/home/ada/.cache/mcp-run",
    deno: "/usr/local/bin/deno",
    extraArgs: ["--verbose"],
  });
  assert.equal(entry.command, "/usr/local/bin/deno");
  assert.deepEqual(entry.args, [
    "run",
    "-A",
    LAUNCHER,
    "run",
    "filesystem",
    ...["-p", "dirs=/home/ada/notes", "-p", "dirs=/home/ada/docs"],
    ...["--cache", "/home/ada/.cache/mcp-run"],
    ...["--", "--verbose"],
  ]);
  assert.deepEqual(entry.env, {});
  assert.deepEqual(entry.secrets, []);
});

Deno.test("launcherEntry() passes registries, mirrors and docker isolation on", () => {
  const entry = launcherEntry(SERVER, {
    target: "/abs/manifest.jsonc",
    cacheRoot: "/c",
    deno: "deno",
    launcher: "/src/mcp-run/mod.ts",
    registrySources: ["/src/registry", "https://example.com/manifests/"],
    registries: { JSR_URL: "https://jsr.example", NPM_CONFIG_REGISTRY: "https://npm.example" },
    docker: { image: "example/deno:2.9.6" },
  });
  assert.deepEqual(entry.args.slice(2, 5), ["/src/mcp-run/mod.ts", "run", "/abs/manifest.jsonc"]);
  const tail = entry.args.slice(entry.args.indexOf("--cache"));
  assert.deepEqual(tail, [
    ...["--cache", "/c", "--registry", "/src/registry"],
    ...["--registry", "https://example.com/manifests/"],
    ...["--jsr-url", "https://jsr.example", "--npm-registry", "https://npm.example"],
    ...["--isolation", "docker", "--image", "example/deno:2.9.6"],
  ]);
});
