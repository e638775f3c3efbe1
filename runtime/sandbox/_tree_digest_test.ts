import assert from "node:assert/strict";
import { join } from "node:path";
import { digestFile, listFilesSync, sameStat, statFields, statTree } from "./_tree_digest.ts";

/** A small code tree with the names a walk can trip on. */
function makeTree(): string {
  const root = Deno.makeTempDirSync({ prefix: "mcp-run-tree-" });
  const files = ["npm/a/index.js", "npm/a b/x y.js", "npm/nl\nname.js", "remote/https/h/mod.ts"];
  for (const file of files) {
    Deno.mkdirSync(join(root, file, ".."), { recursive: true });
    Deno.writeTextFileSync(join(root, file), file);
  }
  Deno.symlinkSync("index.js", join(root, "npm/a/link.js"));
  Deno.mkdirSync(join(root, "npm/empty"));
  return root;
}

Deno.test("statTree() lists every file, link included, with the metadata Deno.lstat gives", async () => {
  const root = makeTree();
  try {
    const listing = await statTree(root, ["npm", "remote", "absent"]);
    const walked = ["npm", "remote"].flatMap((sub) =>
      listFilesSync(join(root, sub)).map((rel) => `${sub}/${rel}`)
    );
    assert.deepEqual([...listing.keys()].sort(), walked);
    for (const [path, fields] of listing) {
      assert.deepEqual(fields, statFields(Deno.lstatSync(join(root, path))), path);
      assert.ok(sameStat(fields, await digestFile(join(root, path))), path);
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("statTree() sees a same-size edit whose mtime was set back", async () => {
  const root = makeTree();
  try {
    const path = "npm/a/index.js";
    const before = await digestFile(join(root, path));
    await new Promise((r) => setTimeout(r, 1100)); // ctime has whole seconds
    Deno.writeTextFileSync(join(root, path), "npm/a/INDEX.js");
    Deno.utimeSync(join(root, path), new Date(before.mtime), new Date(before.mtime));
    const listing = await statTree(root, ["npm"]);
    assert.equal(listing.get(path)?.mtime, before.mtime);
    assert.equal(sameStat(listing.get(path)!, before), false);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("statTree() lists nothing for a tree with no code folders", async () => {
  const root = Deno.makeTempDirSync({ prefix: "mcp-run-tree-" });
  try {
    assert.equal((await statTree(root, ["npm", "remote"])).size, 0);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
