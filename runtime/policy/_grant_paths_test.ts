import assert from "node:assert/strict";
import { join } from "node:path";
import { GrantError } from "./grant_error.ts";
import {
  canonicalOrSelf,
  canonicalPath,
  checkSymlinks,
  dedupePaths,
  refusePath,
} from "./_grant_paths.ts";

const tmp = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "mcp-run-grant-paths-" }));
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** A fake file system: existing paths map to their canonical form. */
function fakeRealPath(existing: Record<string, string>): (path: string) => string {
  return (path) => {
    if (path in existing) return existing[path];
    throw new Deno.errors.NotFound(path);
  };
}

Deno.test("canonicalPath() follows links, and goes through the parent of a path not yet made", () => {
  const realPath = fakeRealPath({ "/link": "/data", "/data": "/data" });
  assert.equal(canonicalPath("/link", "f", realPath), "/data");
  assert.equal(
    canonicalPath("/link/new.txt", "f", fakeRealPath({ "/link": "/data" })),
    "/data/new.txt",
  );
});

Deno.test("canonicalPath() refuses relative paths and paths whose folder is missing", () => {
  const realPath = fakeRealPath({});
  assert.throws(() => canonicalPath("rel/x", "-p dir", realPath), (e: Error) => {
    assert.ok(e instanceof GrantError);
    assert.equal(e.field, "-p dir");
    assert.match(e.message, /"rel\/x" is not an absolute path/);
    return true;
  });
  assert.throws(() => canonicalPath("/missing/x", "f", realPath), /Create the folder first/);
});

Deno.test("canonicalOrSelf() falls back to the absolute path when it does not exist", () => {
  assert.equal(canonicalOrSelf("/nowhere/../x", fakeRealPath({})), "/x");
  assert.equal(canonicalOrSelf("/l", fakeRealPath({ "/l": "/t" })), "/t");
});

Deno.test("dedupePaths() sorts, removes duplicates and paths inside another", () => {
  assert.deepEqual(dedupePaths(["/b", "/a/x", "/a", "/b", "/ab"]), ["/a", "/ab", "/b"]);
});

Deno.test("refusePath() refuses the home folder and the cache, not a folder inside home", () => {
  const ctx = { home: "/home/ada", cacheRoot: "/home/ada/.cache/mcp-run" };
  assert.throws(() => refusePath("read", "/home/ada", "f", ctx), GrantError);
  assert.throws(() => refusePath("write", "/home/ada/.cache/mcp-run/x", "f", ctx), GrantError);
  refusePath("read", "/home/ada/docs", "f", ctx);
});

Deno.test("checkSymlinks() refuses a link leading outside every grant, accepts one inside", () => {
  const granted = join(tmp, "granted");
  const outside = join(tmp, "outside");
  Deno.mkdirSync(join(granted, "sub"), { recursive: true });
  Deno.mkdirSync(outside, { recursive: true });
  Deno.symlinkSync(join(granted, "sub"), join(granted, "inside-link"));
  checkSymlinks([granted], 100, Deno.realPathSync);
  Deno.symlinkSync(outside, join(granted, "sub", "escape"));
  assert.throws(() => checkSymlinks([granted], 100, Deno.realPathSync), /leads to ".*outside"/);
  checkSymlinks([granted, outside], 100, Deno.realPathSync);
  checkSymlinks([granted], 0, Deno.realPathSync);
  assert.throws(() => checkSymlinks([granted], 1, Deno.realPathSync), /more than 1 entries/);
});
