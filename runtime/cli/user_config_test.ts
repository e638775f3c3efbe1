import assert from "node:assert/strict";
import { join } from "node:path";
import { parseUserConfig, userConfigPath } from "./user_config.ts";

Deno.test("userConfigPath() follows MCP_RUN_CONFIG, XDG_CONFIG_HOME, HOME and APPDATA", () => {
  assert.equal(userConfigPath({ MCP_RUN_CONFIG: "/c.json", HOME: "/h" }, "linux"), "/c.json");
  assert.equal(
    userConfigPath({ XDG_CONFIG_HOME: "/x", HOME: "/h" }, "linux"),
    "/x/mcp-run/config.json",
  );
  assert.equal(userConfigPath({ HOME: "/h" }, "darwin"), "/h/.config/mcp-run/config.json");
  assert.equal(
    userConfigPath({ APPDATA: "C:\\A", HOME: "/h" }, "windows"),
    join("C:\\A", "mcp-run", "config.json"),
  );
  assert.equal(userConfigPath({}, "linux"), undefined);
});

Deno.test("parseUserConfig() reads isolation and image, with comments", async () => {
  assert.deepEqual(
    await parseUserConfig(
      `{\n // containers always\n "isolation": "docker", "image": "my/deno:2.9.6",\n}`,
      "c",
    ),
    { isolation: "docker", image: "my/deno:2.9.6" },
  );
  assert.deepEqual(await parseUserConfig("{}", "c"), {});
});

Deno.test("parseUserConfig() names the file and field of every mistake", async () => {
  await assert.rejects(
    () => parseUserConfig(`{"isolation": "vm"}`, "/c.json"),
    /"\/c.json": isolation must be "deno", "docker" or "gvisor", got "vm"/,
  );
  await assert.rejects(
    () => parseUserConfig(`{"image": 5}`, "/c.json"),
    /image must be an image name/,
  );
  await assert.rejects(
    () => parseUserConfig(`{"image": "denoland/deno:latest"}`, "/c.json"),
    (e: Error) =>
      e instanceof SyntaxError && /^"\/c\.json": .*latest is a moving tag/.test(e.message),
  );
  await assert.rejects(
    () => parseUserConfig(`{"image": "denoland/deno"}`, "/c.json"),
    /has no tag/,
  );
  await assert.rejects(
    () => parseUserConfig(`{"isolaton": "docker"}`, "/c.json"),
    /unknown field "isolaton"/,
  );
  await assert.rejects(() => parseUserConfig(`[1]`, "/c.json"), /one JSON object/);
  await assert.rejects(() => parseUserConfig(`{"isolation": `, "/c.json"), SyntaxError);
  await assert.rejects(
    () => parseUserConfig(`{\n  "isolation": "docker",\n}x`, "/c.json"),
    /^SyntaxError: Cannot read "\/c\.json" \(line 3, column 2\): not valid JSONC: unexpected character/,
  );
});

Deno.test("parseUserConfig() reads one pinned image per package kind", async () => {
  assert.deepEqual(
    await parseUserConfig(
      `{ "images": { "deno": "my/deno:2.9.6", "python": "my/python:3.12@sha256:${
        "a".repeat(64)
      }" } }`,
      "/c.json",
    ),
    { images: { deno: "my/deno:2.9.6", python: `my/python:3.12@sha256:${"a".repeat(64)}` } },
  );
  await assert.rejects(
    () => parseUserConfig(`{ "images": { "ruby": "ruby:3.3" } }`, "/c.json"),
    /"\/c\.json": images\.ruby is not an image kind; known kinds are deno, python/,
  );
  await assert.rejects(
    () => parseUserConfig(`{ "images": { "python": "python:latest" } }`, "/c.json"),
    /"\/c\.json": images\.python: .*latest/,
  );
  await assert.rejects(
    () => parseUserConfig(`{ "images": ["python:3.12"] }`, "/c.json"),
    /images must be an object/,
  );
});

Deno.test("parseUserConfig() reads the scan mode and refuses any other", async () => {
  assert.deepEqual(await parseUserConfig(`{ "scan": "warn" }`, "/c.json"), { scan: "warn" });
  await assert.rejects(
    () => parseUserConfig(`{ "scan": "off" }`, "/c.json"),
    /"\/c\.json": scan must be "warn" or "block", got "off"/,
  );
});

Deno.test("parseUserConfig() reads the memory caps of every server", async () => {
  assert.deepEqual(
    await parseUserConfig(`{ "limits": { "heapMb": 256, "memoryMb": 768 } }`, "/c.json"),
    { limits: { heapMb: 256, memoryMb: 768 } },
  );
  await assert.rejects(
    () => parseUserConfig(`{ "limits": { "heapMb": 10 } }`, "/c.json"),
    /"\/c\.json": limits\.heapMb must be a whole number of MiB from 64 to 65536, got 10/,
  );
  await assert.rejects(
    () => parseUserConfig(`{ "limits": { "cpus": 2 } }`, "/c.json"),
    /limits\.cpus is not a limit/,
  );
});

Deno.test("parseUserConfig() reads gVisor as the default isolation and its runtime's name", async () => {
  assert.deepEqual(
    await parseUserConfig(`{ "isolation": "gvisor", "gvisorRuntime": "runsc-net" }`, "c"),
    { isolation: "gvisor", gvisorRuntime: "runsc-net" },
  );
  for (const bad of [`""`, `"runsc --net"`, `"-runsc"`, `7`, `"a/b"`]) {
    await assert.rejects(
      () => parseUserConfig(`{ "gvisorRuntime": ${bad} }`, "/c.json"),
      /"\/c.json": gvisorRuntime must be the name gVisor is registered by in the engine's daemon\.json/,
    );
  }
});
