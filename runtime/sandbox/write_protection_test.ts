import assert from "node:assert/strict";
import { join } from "node:path";
import {
  absentProtectedNote,
  existingProtectedPaths,
  findNestedProtected,
  foldProtectedPaths,
  PROTECTED_WRITE_PATHS,
  protectedWritePaths,
  serverProtectedPaths,
} from "./write_protection.ts";

Deno.test("protectedWritePaths() protects every listed path at the top of each write grant", () => {
  const paths = protectedWritePaths(["/a", "/b"]);
  assert.equal(paths.length, 2 * PROTECTED_WRITE_PATHS.length);
  for (const p of [".git/hooks", ".git/config", ".vscode", ".mcp.json", ".envrc", ".bashrc"]) {
    assert.ok(paths.includes(`/a/${p}`) && paths.includes(`/b/${p}`), p);
  }
  assert.deepEqual(protectedWritePaths([]), []);
  assert.deepEqual(protectedWritePaths([], ["/x/sub/.vscode"]), ["/x/sub/.vscode"]);
});

Deno.test("protectedWritePaths() lifts a protection the user granted explicitly", () => {
  // Equal to a protected path, or inside one: the user chose to let the server write there.
  const paths = protectedWritePaths(["/repo"], [], [
    "/repo",
    "/repo/.vscode",
    "/repo/.git/hooks/pre-push",
  ]);
  assert.ok(!paths.includes("/repo/.vscode"));
  assert.ok(!paths.includes("/repo/.git/hooks"));
  assert.ok(paths.includes("/repo/.git/config") && paths.includes("/repo/.envrc"));
  // Hostile look-alikes lift nothing.
  const near = protectedWritePaths(["/repo"], [], ["/repo", "/repo/.vscode-extra", "/repo/.git"]);
  assert.ok(near.includes("/repo/.vscode") && near.includes("/repo/.git/hooks"));
});

Deno.test("findNestedProtected() finds protected paths deeper in a grant, within a bound", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (const dir of ["a/b/.git/hooks", "a/.vscode", "c/node_modules/x/.vscode", "d"]) {
      await Deno.mkdir(join(root, dir), { recursive: true });
    }
    await Deno.writeTextFile(join(root, "d", ".envrc"), "");
    await Deno.writeTextFile(join(root, ".bashrc"), "");
    const { paths, truncated } = findNestedProtected([root]);
    assert.deepEqual(truncated, []);
    assert.deepEqual(paths.sort(), [
      join(root, "a/.vscode"),
      join(root, "a/b/.git/config"),
      join(root, "a/b/.git/hooks"),
      join(root, "d/.envrc"),
    ]);
    assert.deepEqual(findNestedProtected([root], { limit: 2 }).truncated, [root]);
    // Only what exists, for read-only mounts in containers with no Deno; holding folders whole.
    const existing = existingProtectedPaths(serverProtectedPaths({ write: [root] }));
    assert.deepEqual(existing, [
      join(root, ".bashrc"),
      join(root, "a/.vscode"),
      join(root, "a/b/.git"),
      join(root, "d/.envrc"),
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serverProtectedPaths() says when a grant is too large to scan whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    for (let i = 0; i < 20001; i++) Deno.writeTextFileSync(join(root, `f${i}`), "");
    const notes: string[] = [];
    const paths = serverProtectedPaths({ write: [root] }, { note: (line) => notes.push(line) });
    assert.ok(paths.includes(join(root, ".git")), "the top is protected still");
    assert.equal(notes.length, 1);
    assert.match(notes[0], /is too large to scan whole .* deeper ones only where found/);
    // A grant given alongside, inside a protected path, lifts it.
    const lifted = serverProtectedPaths({
      write: [root],
      writeGiven: [root, join(root, ".vscode")],
    }, { note: () => {} });
    assert.ok(!lifted.includes(join(root, ".vscode")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("foldProtectedPaths() denies the folder that holds hooks, unless granted inside", () => {
  const paths = protectedWritePaths(["/r"]);
  const folded = foldProtectedPaths(paths, ["/r"]);
  for (const p of ["/r/.git", "/r/.github", "/r/.config", "/r/.vscode", "/r/.envrc"]) {
    assert.ok(folded.includes(p), p);
  }
  assert.ok(!folded.some((p) => p.startsWith("/r/.git/") || p === "/r/.config/fish"));
  // An explicit grant inside the folder: never folded over it (the deny would win).
  const granted = ["/r", "/r/.git/hooks"];
  const lifted = foldProtectedPaths(protectedWritePaths(["/r"], [], granted), granted);
  assert.ok(!lifted.includes("/r/.git") && lifted.includes("/r/.git/config"));
  // Deeper repositories fold the same way.
  assert.deepEqual(foldProtectedPaths(["/r/a/.git/config", "/r/a/.git/hooks"], ["/r"]), [
    "/r/a/.git",
  ]);
});

Deno.test("absentProtectedNote() names the protected paths a container server could create", () => {
  const note = absentProtectedNote(["/r/.git", "/r/.mcp.json", "/r/.vscode"], ["/r/.git"]);
  assert.match(
    note!,
    /2 write-protected paths .* do not exist yet \(\/r\/\.mcp\.json, \/r\/\.vscode\)/,
  );
  assert.match(note!, /mounted read-only/);
  assert.equal(absentProtectedNote(["/r/.git"], ["/r/.git"]), undefined);
});

Deno.test("serverProtectedPaths() says which folder stays writable as its path has a comma", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "a,b/.git/hooks"), { recursive: true });
    await Deno.mkdir(join(root, "c/.git/hooks"), { recursive: true });
    const notes: string[] = [];
    const paths = serverProtectedPaths({ write: [root] }, { note: (line) => notes.push(line) });
    assert.ok(paths.includes(join(root, "c/.git")), "the control is protected");
    assert.ok(!paths.some((p) => p.includes(",")));
    assert.deepEqual(findNestedProtected([root]).unnamable.sort(), [
      join(root, "a,b/.git/config"),
      join(root, "a,b/.git/hooks"),
    ]);
    assert.equal(notes.length, 1, notes.join("\n"));
    assert.match(notes[0], new RegExp(`^mcp-run: "${root}/a,b" holds .* stay writable: .* comma`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("serverProtectedPaths() scans a resolved server's grants once, for every later plan", async () => {
  const root = await Deno.makeTempDir();
  try {
    const server = { write: [root] };
    const notes: string[] = [];
    const note = (line: string) => notes.push(line);
    await Deno.mkdir(join(root, "a,b/.git"), { recursive: true });
    const first = serverProtectedPaths(server, { note });
    // A repository made after the first plan: the same server (a serve session) does not walk
    // again, and says its note once; a new resolve (a new launch) finds it.
    await Deno.mkdir(join(root, "later/.git"), { recursive: true });
    assert.deepEqual(serverProtectedPaths(server, { note }), first);
    assert.ok(!first.includes(join(root, "later/.git")));
    assert.equal(notes.length, 1);
    assert.ok(serverProtectedPaths({ write: [root] }, { note }).includes(join(root, "later/.git")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
