import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { CacheError } from "./_pull_record.ts";
import { preparePythonServer } from "./python_pull.ts";
import { PYTHON_IMAGE, pythonDirs } from "./python_plan.ts";

Deno.test("preparePythonServer() refuses a server never pulled when auto-pull is off", async () => {
  const cacheRoot = await Deno.makeTempDir();
  try {
    const server = serverFixture({ name: "time", specifier: "pypi:mcp-server-time@2026.10.19" });
    await assert.rejects(
      () => preparePythonServer(server, { cacheRoot, source: {}, autoPull: false }),
      (error: Error) =>
        error instanceof CacheError && error.kind === "missing" &&
        /run mcp-run pull time --isolation docker/.test(error.message),
    );
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});

Deno.test("preparePythonServer() refuses a damaged pull record before anything starts", async () => {
  const cacheRoot = await Deno.makeTempDir();
  try {
    const server = serverFixture({ name: "time", specifier: "pypi:mcp-server-time@2026.10.19" });
    const dirs = pythonDirs(server, PYTHON_IMAGE, cacheRoot);
    await Deno.mkdir(dirs.dir, { recursive: true });
    await Deno.writeTextFile(dirs.record, '{"specifier": 1}');
    await assert.rejects(
      () => preparePythonServer(server, { cacheRoot, source: {}, autoPull: false }),
      (error: Error) => error instanceof CacheError && error.kind === "tampered",
    );
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});
