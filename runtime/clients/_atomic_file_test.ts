import assert from "node:assert/strict";
import { join } from "node:path";
import { updateFile, withFileLock, writeAtomic } from "./_atomic_file.ts";

const posix = Deno.build.os !== "windows";

async function inTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o755).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

const mode = (path: string) => Deno.statSync(path).mode! & 0o777;
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("updateFile() creates the file and its folders, with no backup of nothing", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "a", "b", "c.json");
    let seen: string | null = "unset";
    const result = await updateFile(file, (text) => {
      seen = text;
      return "{}\n";
    }, { mode: 0o600 });
    assert.equal(seen, null, "a missing file is edited from null");
    assert.deepEqual(result, { file, changed: true, backup: undefined, deleted: false });
    assert.equal(Deno.readTextFileSync(file), "{}\n");
    if (posix) assert.equal(mode(file), 0o600);
    assert.deepEqual(names(join(dir, "a", "b")), ["c.json"], "no temporary or lock file is left");
  });
});

Deno.test("updateFile() writes nothing when the edit changes nothing", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.json");
    Deno.writeTextFileSync(file, "same");
    const before = Deno.statSync(file).mtime;
    await new Promise((r) => setTimeout(r, 20));
    const result = await updateFile(file, (text) => text);
    assert.deepEqual(result, { file, changed: false, deleted: false });
    assert.deepEqual(Deno.statSync(file).mtime, before);
    assert.deepEqual(names(dir), ["f.json"]);
  });
});

Deno.test("updateFile() keeps the previous content as .bak and the file's own mode", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.json");
    Deno.writeTextFileSync(file, "old");
    if (posix) Deno.chmodSync(file, 0o640);
    const result = await updateFile(file, () => "new", { mode: 0o600 });
    assert.equal(result.backup, `${file}.bak`);
    assert.equal(Deno.readTextFileSync(file), "new");
    assert.equal(Deno.readTextFileSync(`${file}.bak`), "old");
    if (posix) {
      assert.equal(mode(file), 0o640, "an existing file's mode wins over the default");
      assert.equal(mode(`${file}.bak`), 0o640, "the backup is as private as the file");
    }
  });
});

Deno.test({
  name: "updateFile() narrows an existing file's mode with forceMode",
  ignore: !posix,
  async fn() {
    await inTemp(async (dir) => {
      const file = join(dir, "secrets.env");
      Deno.writeTextFileSync(file, "A=1\n");
      Deno.chmodSync(file, 0o644);
      await updateFile(file, () => "A=2\n", { mode: 0o600, forceMode: true, backup: false });
      assert.equal(mode(file), 0o600);
      assert.deepEqual(names(dir), ["secrets.env"], "backup: false keeps no copy of a secret");
    });
  },
});

Deno.test("updateFile() hides a byte-order mark from the edit and keeps it in the file", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.json");
    Deno.writeTextFileSync(file, "\uFEFF{}");
    await updateFile(file, (text) => {
      assert.equal(text, "{}");
      return '{"a":1}';
    });
    assert.equal(Deno.readTextFileSync(file), '\uFEFF{"a":1}');
  });
});

Deno.test("updateFile() deletes the file when the edit returns null, keeping a backup", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.yaml");
    Deno.writeTextFileSync(file, "x: 1\n");
    const result = await updateFile(file, () => null);
    assert.equal(result.deleted, true);
    assert.deepEqual(names(dir), ["f.yaml.bak"]);
  });
});

Deno.test("updateFile() writes through a symlink and leaves the link in place", async () => {
  await inTemp(async (dir) => {
    const real = join(dir, "real.json");
    const link = join(dir, "link.json");
    Deno.writeTextFileSync(real, "a");
    Deno.symlinkSync(real, link);
    const result = await updateFile(link, () => "b");
    assert.equal(result.file, real);
    assert.equal(Deno.readTextFileSync(real), "b");
    assert.ok(Deno.lstatSync(link).isSymlink);
  });
});

Deno.test("updateFile() refuses a symlink to a missing file", async () => {
  await inTemp(async (dir) => {
    const link = join(dir, "link.json");
    Deno.symlinkSync(join(dir, "gone.json"), link);
    await assert.rejects(updateFile(link, () => "x"), (error: unknown) => {
      assert.ok(error instanceof Deno.errors.NotFound);
      assert.match(error.message, /is a symbolic link to a missing file/);
      return true;
    });
    assert.equal(Deno.lstatSync(link).isSymlink, true);
    assert.throws(() => Deno.statSync(join(dir, "gone.json")), Deno.errors.NotFound);
  });
});

Deno.test("updateFile() leaves a file that is not UTF-8 untouched", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.json");
    const bytes = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
    Deno.writeFileSync(file, bytes);
    let called = false;
    await assert.rejects(updateFile(file, () => (called = true, "{}")), SyntaxError);
    assert.equal(called, false);
    assert.deepEqual(Deno.readFileSync(file), bytes);
  });
});

Deno.test({
  name: "updateFile() refuses a read-only file instead of replacing it",
  ignore: !posix,
  async fn() {
    await inTemp(async (dir) => {
      const file = join(dir, "f.json");
      Deno.writeTextFileSync(file, "keep");
      Deno.chmodSync(file, 0o444);
      await assert.rejects(updateFile(file, () => "changed"), Deno.errors.PermissionDenied);
      assert.equal(Deno.readTextFileSync(file), "keep");
      assert.deepEqual(names(dir), ["f.json"]);
    });
  },
});

Deno.test("updateFile() removes temporary files an interrupted write left behind", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "f.json");
    Deno.writeTextFileSync(file, "a");
    Deno.writeTextFileSync(join(dir, ".f.json.0123abcd.tmp"), "half");
    Deno.writeTextFileSync(join(dir, ".f.json.bak.89abcdef.tmp"), "half");
    // Not ours: another file's temporary, and a name that only looks close.
    Deno.writeTextFileSync(join(dir, ".g.json.0123abcd.tmp"), "other");
    Deno.writeTextFileSync(join(dir, ".fXjson.0123abcd.tmp"), "other");
    await updateFile(file, () => "b", { backup: false });
    assert.deepEqual(names(dir), [".fXjson.0123abcd.tmp", ".g.json.0123abcd.tmp", "f.json"]);
  });
});

Deno.test("updateFile() serialises concurrent edits so none is lost", async () => {
  await inTemp(async (dir) => {
    const file = join(dir, "count");
    await Promise.all(
      Array.from(
        { length: 20 },
        () => updateFile(file, (text) => String(Number(text ?? "0") + 1), { backup: false }),
      ),
    );
    assert.equal(Deno.readTextFileSync(file), "20");
  });
});

Deno.test("writeAtomic() leaves no temporary file when the rename fails", async () => {
  await inTemp(async (dir) => {
    const target = join(dir, "taken");
    Deno.mkdirSync(join(target, "child"), { recursive: true });
    await assert.rejects(writeAtomic(target, "data"));
    assert.deepEqual(names(dir), ["taken"]);
  });
});

Deno.test("withFileLock() runs one holder at a time and removes its lock file", async () => {
  await inTemp(async (dir) => {
    const target = join(dir, "f.json");
    const order: string[] = [];
    const hold = (name: string) =>
      withFileLock(target, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 30));
        order.push(`${name}-`);
        return name;
      });
    assert.deepEqual(await Promise.all([hold("a"), hold("b"), hold("c")]), ["a", "b", "c"]);
    for (let i = 0; i < order.length; i += 2) {
      assert.equal(order[i].slice(0, -1), order[i + 1].slice(0, -1), order.join(" "));
    }
    assert.deepEqual(names(dir), []);
  });
});
