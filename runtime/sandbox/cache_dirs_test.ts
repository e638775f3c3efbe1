import assert from "node:assert/strict";
import { cacheRoot, cacheWriteError, serverDirs } from "./cache_dirs.ts";

Deno.test("cacheWriteError() names the folder and the way out for each unwritable cache", () => {
  const cases: [string, Error, RegExp][] = [
    [
      "permissions",
      new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
      /permission denied\. Make it writable/,
    ],
    [
      "read-only",
      new Error("Read-only file system (os error 30): mkdir '/c/x'"),
      /read-only file system\. Make it writable/,
    ],
    [
      "full disk",
      new Error("No space left on device (os error 28)"),
      /the disk is full\. Free some space/,
    ],
  ];
  for (const [label, cause, reason] of cases) {
    const error = cacheWriteError("/c", cause);
    assert.ok(error.message.startsWith('Cannot write to the cache folder "/c": '), label);
    assert.match(error.message, reason, label);
    assert.match(error.message, /--cache or MCP_RUN_CACHE\.$/, label);
    assert.equal(error.cause, cause, label);
  }
});

Deno.test("cacheWriteError() returns other errors unchanged", () => {
  const other = new TypeError("something else");
  assert.equal(cacheWriteError("/c", other), other);
  assert.equal(cacheWriteError("/c", "text").message, "text");
});

Deno.test("serverDirs() keeps the pull lock beside the server's folder, not inside it", () => {
  const dirs = serverDirs("time", "npm:@example/time@1.0.0", "/cache");
  assert.equal(dirs.pullLock, `${dirs.dir}.lock`);
  assert.ok(!dirs.pullLock.startsWith(`${dirs.dir}/`));
});

Deno.test("cacheRoot() ignores an empty MCP_RUN_CACHE", () => {
  assert.equal(
    cacheRoot({ env: { MCP_RUN_CACHE: "", HOME: "/home/ada" }, os: "linux" }),
    "/home/ada/.cache/mcp-run",
  );
});

Deno.test("serverDirs() keeps its folder name for a non-ASCII specifier", () => {
  // Recorded from the names already on disk: a change here orphans every existing cache.
  const dirs = serverDirs("s", "npm:@ünï/çødé-😀@1.0.0", "/c");
  assert.equal(dirs.dir, "/c/servers/s/npm-@_n_d_-_@1.0.0-03c5dc05");
});

Deno.test("cacheRoot() takes a folder the user named first, made absolute", () => {
  const env = { MCP_RUN_CACHE: "/env/cache", HOME: "/home/ada" };
  assert.equal(cacheRoot({ env, given: "/given" }), "/given");
  assert.equal(cacheRoot({ env, given: "rel/c" }), `${Deno.cwd()}/rel/c`);
  assert.equal(cacheRoot({ env }), "/env/cache");
});
