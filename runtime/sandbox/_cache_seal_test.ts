import assert from "node:assert/strict";
import { join } from "node:path";
import {
  closeSeal,
  openSeal,
  type PendingSealCheck,
  sealCheckFor,
  sealedFiles,
  sealHolds,
  startSealCheck,
} from "./_cache_seal.ts";
import { type ServerDirs, serverDirs } from "./cache_dirs.ts";
import { CODE_DIRS } from "./_pull_record.ts";
import { scanTree } from "./_tree_digest.ts";

const SPEC = "npm:x@1.0.0";
const CODE = "deno_dir/npm/registry.npmjs.org/x/1.0.0";

/** Lets the file system's clock move on: its timestamps can be a few milliseconds coarse. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

/** A server cache with a lockfile, a record and a small npm tree. */
function makeCache(): { root: string; dirs: ServerDirs } {
  const root = Deno.makeTempDirSync({ prefix: "mcp-run-seal-" });
  const dirs = serverDirs("x", SPEC, root);
  Deno.mkdirSync(join(dirs.dir, CODE, "lib"), { recursive: true });
  Deno.writeTextFileSync(dirs.lockFile, '{"version": "5"}');
  Deno.writeTextFileSync(dirs.pullRecord, "{}");
  Deno.writeTextFileSync(join(dirs.dir, CODE, "index.js"), "export const x = 1;");
  Deno.writeTextFileSync(join(dirs.dir, CODE, "lib/util.js"), "export const y = 2;");
  return { root, dirs };
}

/** Seals the cache as a passed full check does; says whether the seal was written. */
async function seal(dirs: ServerDirs, passed = true): Promise<boolean> {
  await tick();
  const open = await openSeal(dirs);
  const scan = await scanTree(dirs.denoDir, CODE_DIRS, sealedFiles(dirs, open));
  await closeSeal(dirs, open, passed ? SPEC : undefined, scan);
  const left = [...Deno.readDirSync(dirs.dir)].map((e) => e.name).filter((n) => n.includes("seal"));
  assert.ok(left.length <= 1, `no probe is left behind: ${left}`);
  try {
    Deno.statSync(join(dirs.dir, "seal.json"));
    return true;
  } catch {
    return false;
  }
}

async function withCache(test: (dirs: ServerDirs, root: string) => Promise<void>): Promise<void> {
  const { root, dirs } = makeCache();
  try {
    await test(dirs, root);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
}

Deno.test("sealHolds() is true for a sealed cache nobody touched, and false without a seal", async () => {
  await withCache(async (dirs) => {
    assert.equal(await sealHolds(SPEC, dirs), false);
    assert.ok(await seal(dirs));
    assert.equal(await sealHolds(SPEC, dirs), true);
    assert.equal(await sealHolds(SPEC, dirs), true, "checking does not break the seal");
  });
});

Deno.test("sealHolds() is false when the seal names another package", async () => {
  await withCache(async (dirs) => {
    assert.ok(await seal(dirs));
    assert.equal(await sealHolds("npm:x@1.0.1", dirs), false);
  });
});

/** Each change after the seal, made by someone who knows how the check works. */
const changes: [string, (dirs: ServerDirs) => void][] = [
  ["a same-size edit whose times are set back", (dirs) => {
    const file = join(dirs.dir, CODE, "index.js");
    const { atime, mtime } = Deno.statSync(file);
    Deno.writeTextFileSync(file, "export const x = 9;");
    Deno.utimeSync(file, atime!, mtime!);
  }],
  ["a mode change", (dirs) => Deno.chmodSync(join(dirs.dir, CODE, "index.js"), 0o777)],
  ["a file added deep in the tree", (dirs) => {
    Deno.writeTextFileSync(join(dirs.dir, CODE, "lib/evil.js"), "evil()");
  }],
  ["a file removed", (dirs) => Deno.removeSync(join(dirs.dir, CODE, "lib/util.js"))],
  ["the lockfile edited", (dirs) => Deno.writeTextFileSync(dirs.lockFile, "{}")],
  ["the pull record edited", (dirs) => Deno.writeTextFileSync(dirs.pullRecord, '{"x":1}')],
  ["the pull record removed", (dirs) => Deno.removeSync(dirs.pullRecord)],
  ["a hard link made to a code file", (dirs) => {
    Deno.linkSync(join(dirs.dir, CODE, "index.js"), join(dirs.dir, "outside.js"));
  }],
];

for (const [what, change] of changes) {
  Deno.test(`sealHolds() is false after ${what}`, async () => {
    await withCache(async (dirs) => {
      assert.ok(await seal(dirs));
      assert.equal(await sealHolds(SPEC, dirs), true); // positive control
      await tick();
      change(dirs);
      assert.equal(await sealHolds(SPEC, dirs), false);
    });
  });
}

Deno.test("sealHolds() is false when code older than the seal is moved in", async () => {
  // The attacker's copies are made first, so every time in them is older than the seal's.
  await withCache(async (dirs, root) => {
    const evilFile = join(root, "evil.js");
    Deno.writeTextFileSync(evilFile, "export const x = 666;");
    const evilLib = join(root, "evil-lib");
    Deno.mkdirSync(evilLib);
    Deno.writeTextFileSync(join(evilLib, "util.js"), "evil()");
    const evilDenoDir = join(root, "evil-deno-dir");
    Deno.mkdirSync(join(evilDenoDir, "npm"), { recursive: true });
    await tick();
    Deno.writeTextFileSync(join(dirs.dir, CODE, "index.js"), "export const x = 1;");
    assert.ok(await seal(dirs));

    Deno.renameSync(evilFile, join(dirs.dir, CODE, "index.js"));
    assert.equal(await sealHolds(SPEC, dirs), false, "a file renamed over a code file");
  });
  await withCache(async (dirs, root) => {
    const evilLib = join(root, "evil-lib");
    Deno.mkdirSync(evilLib);
    Deno.writeTextFileSync(join(evilLib, "util.js"), "evil()");
    await tick();
    Deno.writeTextFileSync(join(dirs.dir, CODE, "index.js"), "export const x = 1;");
    assert.ok(await seal(dirs));
    Deno.renameSync(join(dirs.dir, CODE, "lib"), join(root, "old-lib"));
    Deno.renameSync(evilLib, join(dirs.dir, CODE, "lib"));
    assert.equal(await sealHolds(SPEC, dirs), false, "a folder swapped for an older one");
  });
  await withCache(async (dirs, root) => {
    const evil = join(root, "evil-deno-dir");
    Deno.mkdirSync(join(evil, "npm/registry.npmjs.org/x/1.0.0"), { recursive: true });
    Deno.writeTextFileSync(join(evil, "npm/registry.npmjs.org/x/1.0.0/index.js"), "evil()");
    await tick();
    Deno.writeTextFileSync(join(dirs.dir, CODE, "index.js"), "export const x = 1;");
    assert.ok(await seal(dirs));
    Deno.renameSync(dirs.denoDir, join(root, "old-deno-dir"));
    Deno.renameSync(evil, dirs.denoDir);
    assert.equal(await sealHolds(SPEC, dirs), false, "the whole DENO_DIR swapped");
  });
});

Deno.test("closeSeal() writes no seal when the check failed or something changed while it ran", async () => {
  await withCache(async (dirs) => {
    assert.equal(await seal(dirs, false), false, "a failed check seals nothing");
    await tick();
    const open = await openSeal(dirs);
    // A change after the probe and before the walk: the walk sees it, but so might a later one
    // in the same clock tick, so no seal.
    Deno.writeTextFileSync(join(dirs.dir, CODE, "index.js"), "export const x = 2;");
    const scan = await scanTree(dirs.denoDir, CODE_DIRS, sealedFiles(dirs, open));
    await closeSeal(dirs, open, SPEC, scan);
    assert.equal(await sealHolds(SPEC, dirs), false);
    assert.deepEqual([...Deno.readDirSync(dirs.dir)].filter((e) => e.name.includes("seal")), []);
  });
});

Deno.test({
  name: "openSeal() starts no seal in a folder it cannot write",
  // Root writes to read-only folders: this check needs a plain user.
  ignore: Deno.uid() === 0,
  fn: async () => {
    await withCache(async (dirs) => {
      Deno.chmodSync(dirs.dir, 0o555);
      try {
        assert.equal(await openSeal(dirs), undefined);
      } finally {
        Deno.chmodSync(dirs.dir, 0o755);
      }
    });
  },
});

Deno.test("sealCheckFor() takes up a check under way only for the same folder and specifier", async () => {
  await withCache(async (dirs, root) => {
    assert.ok(await seal(dirs));
    const pending = startSealCheck(SPEC, dirs);
    assert.equal(sealCheckFor(SPEC, dirs, pending), pending.holds); // positive control
    assert.equal(await sealCheckFor(SPEC, dirs, pending), true);
    // Another server's cache, never sealed: the early answer for the first one does not count.
    const other = serverDirs("y", "npm:y@1.0.0", root);
    Deno.mkdirSync(other.denoDir, { recursive: true });
    assert.equal(await sealCheckFor("npm:y@1.0.0", other, pending), false);
    // The same folder named with another specifier does not count either.
    assert.equal(await sealCheckFor("npm:x@1.0.1", dirs, pending), false);
  });
});

Deno.test("closeSeal() seals no cache whose lockfile or record is a link (Deno reads the target)", async () => {
  for (const file of ["lockFile", "pullRecord"] as const) {
    await withCache(async (dirs, root) => {
      // The attacker's target, outside the cache, that the link points at.
      const target = join(root, "elsewhere");
      Deno.writeTextFileSync(target, Deno.readTextFileSync(dirs[file]));
      Deno.removeSync(dirs[file]);
      Deno.symlinkSync(target, dirs[file]);
      assert.equal(await seal(dirs), false, `a linked ${file} is not sealed`);
      await tick();
      Deno.writeTextFileSync(target, "{}");
      assert.equal(await sealHolds(SPEC, dirs), false);
    });
  }
  // Positive control: the same cache with plain files is sealed.
  await withCache(async (dirs) => assert.ok(await seal(dirs)));
});

Deno.test("sealCheckFor() ignores a look-alike of a started check", async () => {
  await withCache(async (dirs) => {
    const forged = { dir: dirs.dir, specifier: SPEC, holds: Promise.resolve(true) };
    assert.equal(
      await sealCheckFor(SPEC, dirs, forged as unknown as PendingSealCheck),
      false,
      "a cache never sealed is not vouched for by a forged check",
    );
    assert.ok(await seal(dirs));
    assert.equal(await sealCheckFor(SPEC, dirs, startSealCheck(SPEC, dirs)), true); // control
  });
});
