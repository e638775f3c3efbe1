import assert from "node:assert/strict";
import { posix } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { posixPath } from "./_path.ts";

/** Paths built from the pieces that trip path functions up, the same on every run. */
function paths(count: number): string[] {
  const pieces = ["", "/", "//", "a", "b.c", ".", "..", "...", " x", "é", "a%2F", "#", "?", "\\"];
  pieces.push("~", "|", "^", "[", "]", "`", "{", "}", '"', "<", ">", "'", ";", "=", "@", "$", "&");
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const out = ["", "/", "//", "///", ".", "..", "a", "/a", "a/", "/a/b/", "//a", "a//b", "/a//b"];
  while (out.length < count) {
    let path = "";
    for (let parts = random(7); parts >= 0; parts--) {
      path += pieces[random(pieces.length)] + (random(3) ? "/" : "");
    }
    out.push(path);
  }
  return out;
}

const PATHS = paths(3000);

Deno.test("posixPath normalize, isAbsolute, dirname and basename answer as node:path does", () => {
  for (const path of PATHS) {
    assert.equal(posixPath.normalize(path), posix.normalize(path), `normalize(${path})`);
    assert.equal(posixPath.isAbsolute(path), posix.isAbsolute(path), `isAbsolute(${path})`);
    assert.equal(posixPath.dirname(path), posix.dirname(path), `dirname(${path})`);
    assert.equal(posixPath.basename(path), posix.basename(path), `basename(${path})`);
  }
});

Deno.test("posixPath join and resolve answer as node:path does", () => {
  for (let i = 0; i + 2 < PATHS.length; i += 3) {
    const parts = PATHS.slice(i, i + 3);
    assert.equal(posixPath.join(...parts), posix.join(...parts), `join(${parts})`);
    assert.equal(posixPath.resolve(...parts), posix.resolve(...parts), `resolve(${parts})`);
  }
  assert.equal(posixPath.join(), posix.join());
  assert.equal(posixPath.resolve(), posix.resolve());
});

Deno.test("posixPath file URLs convert as node:url converts them", () => {
  for (const path of PATHS) {
    assert.equal(posixPath.pathToFileURL(path).href, pathToFileURL(path).href, path);
    const url = pathToFileURL(path);
    assert.equal(posixPath.fileURLToPath(url), fileURLToPath(url), url.href);
    assert.equal(posixPath.fileURLToPath(url.href), fileURLToPath(url.href), url.href);
  }
  for (const bad of ["https://x/a", "file://host/a", "file:///a%2Fb", "file:///a%2fb"]) {
    assert.throws(() => fileURLToPath(bad), TypeError, bad);
    assert.throws(() => posixPath.fileURLToPath(bad), TypeError, bad);
  }
});
