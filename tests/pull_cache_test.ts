/**
 * End to end: `mcp-run pull` and the code cache under damage and contention — a damaged pull
 * record, leftovers of a pull that ran out of space or was killed, many pulls at once, a cache
 * folder that cannot be written, a bad `--cache`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { serverDirs } from "../runtime/sandbox/cache_dirs.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { CacheError, type PullRecord, verifyPull } from "../runtime/sandbox/pull.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { cli, tempDir, toolEnv } from "./_helpers.ts";
import { attackerManifest, CAN_UNSHARE, MOD, removeOnExit, writeManifest } from "./_security.ts";

/** A local server with no dependencies: pulling it needs no network. */
function localScene(): { dir: string; cache: string; file: string } {
  const dir = removeOnExit(tempDir("mcp-run-pull-"));
  Deno.writeTextFileSync(join(dir, "server.ts"), "console.log('never runs during pull');\n");
  const file = join(dir, "local.jsonc");
  Deno.writeTextFileSync(
    file,
    JSON.stringify({ name: "local", description: "d", package: "./server.ts" }),
  );
  return { dir, cache: join(dir, "cache"), file };
}

function localDirs(dir: string, cache: string) {
  return serverDirs("local", join(dir, "server.ts"), cache);
}

function readRecord(path: string): PullRecord {
  return JSON.parse(Deno.readTextFileSync(path));
}

Deno.test("mcp-run run exits 4 naming pull.json when the record is damaged", async () => {
  const s = localScene();
  const first = await cli(["pull", s.file, "--cache", s.cache]);
  assert.equal(first.code, 0, first.stderr);
  const record = localDirs(s.dir, s.cache).pullRecord;
  const good = Deno.readTextFileSync(record);
  const damaged = [
    "null",
    "[]",
    '"text"',
    good.slice(0, 40),
    "",
    '{"specifier": 1}',
    '{"specifier": "x", "lockSha256": "y"}',
    '{"specifier": "x", "lockSha256": "y", "files": {"npm/a.js": null}}',
  ];
  for (const text of damaged) {
    Deno.writeTextFileSync(record, text);
    const r = await cli(["run", s.file, "--cache", s.cache], { stdin: "" });
    assert.equal(r.code, 4, `${JSON.stringify(text)}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`The pull record "${record}"`), r.stderr);
    assert.match(r.stderr, /is damaged .*Run mcp-run pull local to fetch the code again/);
    assert.doesNotMatch(r.stderr, /Cannot read properties|\n\s+at /);
    assert.equal(r.stdout, "");
  }
  // The library says the same, with the documented error class.
  const server = resolveServer(parseManifest(Deno.readTextFileSync(s.file)), {
    cacheRoot: s.cache,
    manifestDir: s.dir,
  });
  await assert.rejects(
    () => verifyPull(server, { cacheRoot: s.cache }),
    (e: Error) => e instanceof CacheError && e.kind === "tampered" && e.message.includes(record),
  );
  // Positive control: pull writes a good record again, and the cache verifies.
  const repaired = await cli(["pull", s.file, "--cache", s.cache]);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stderr, /is damaged: fetching it again into an empty folder/);
  await verifyPull(server, { cacheRoot: s.cache });
});

Deno.test("mcp-run pull never records leftovers of an earlier pull as code", async () => {
  const s = localScene();
  const dirs = localDirs(s.dir, s.cache);
  // What a pull that ran out of space leaves: half-extracted packages and no record.
  const leftover = join(dirs.denoDir, "npm/registry.npmjs.org/zod/3.25.76_x1.tmp/LICENSE");
  Deno.mkdirSync(join(leftover, ".."), { recursive: true });
  Deno.writeTextFileSync(leftover, "half a file");
  // And a staging folder of a pull killed half-way.
  const staging = `${dirs.dir}.pull-deadbeef`;
  Deno.mkdirSync(join(staging, "deno_dir"), { recursive: true });
  const r = await cli(["pull", s.file, "--cache", s.cache]);
  assert.equal(r.code, 0, r.stderr);
  const files = Object.keys(readRecord(dirs.pullRecord).files);
  assert.deepEqual(files.filter((f) => f.includes(".tmp") || f.includes("zod")), []);
  assert.match(r.stderr, /has no pull record: fetching it again into an empty folder/);
  assert.throws(() => Deno.lstatSync(leftover), Deno.errors.NotFound);
  assert.throws(() => Deno.lstatSync(staging), Deno.errors.NotFound);
  // Positive control: the leftover was where a pull's file listing looks.
  Deno.mkdirSync(join(leftover, ".."), { recursive: true });
  Deno.writeTextFileSync(leftover, "half a file");
  const run = await cli(["run", s.file, "--cache", s.cache], { stdin: "" });
  assert.equal(run.code, 4, run.stderr);
  assert.match(run.stderr, /3\.25\.76_x1\.tmp\/LICENSE was added/);
});

/** Runs a shell script inside a private mount namespace (root, or a user namespace). */
async function inMountNamespace(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const flags = Deno.uid() === 0 ? ["-m"] : ["-r", "-m"];
  const out = await new Deno.Command("unshare", {
    args: [...flags, "sh", "-c", script, "sh", ...args],
    env: toolEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "mcp-run pull after a disk-full pull records only the code it fetched",
  ignore: !CAN_UNSHARE,
  fn: async () => {
    const dir = removeOnExit(tempDir("mcp-run-pull-full-"));
    const cache = join(dir, "cache");
    Deno.mkdirSync(cache);
    const manifest = writeManifest(dir, {});
    const out = join(dir, "out");
    Deno.mkdirSync(out);
    // A 1 MiB file system for the cache: the first pull runs out of space half-way.
    const r = await inMountNamespace(
      `mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
      "$2" run -A --quiet "$3" pull "$4" --cache "$1" 2>"$5/first.err"; echo $? >"$5/first.code"
      mount -o remount,size=512m "$1" || exit 98
      "$2" run -A --quiet "$3" pull "$4" --cache "$1" 2>"$5/second.err"
      echo $? >"$5/second.code"
      cp "$1"/servers/attacker/*/pull.json "$5/pull.json"
      ls -a "$1/servers/attacker" >"$5/listing"`,
      [cache, Deno.execPath(), MOD, manifest, out],
    );
    assert.equal(r.code, 0, r.stderr);
    const read = (name: string) => Deno.readTextFileSync(join(out, name));
    assert.notEqual(read("first.code").trim(), "0", "control: the first pull ran out of space");
    assert.match(read("first.err"), /the disk is full|No space left/i);
    assert.equal(read("second.code").trim(), "0", read("second.err"));
    const files = Object.keys((JSON.parse(read("pull.json")) as PullRecord).files);
    assert.ok(files.some((f) => f.includes("@modelcontextprotocol/sdk")), "the SDK was pulled");
    assert.deepEqual(files.filter((f) => /\.tmp(\/|$)/.test(f)), []);
    assert.doesNotMatch(read("listing"), /\.pull-|\.old-/);
  },
});

Deno.test("mcp-run pull: 10 at once into an empty cache all succeed, and only one fetches", async () => {
  const dir = removeOnExit(tempDir("mcp-run-pull-10-"));
  const cache = join(dir, "cache");
  const manifest = writeManifest(dir, {});
  const results = await Promise.all(
    Array.from({ length: 10 }, () => cli(["pull", manifest, "--cache", cache])),
  );
  for (const r of results) {
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /lstat|os error|No such file/);
  }
  const fetched = results.filter((r) => /Pulling /.test(r.stderr)).length;
  assert.equal(fetched, 1, results.map((r) => r.stderr).join("\n---\n"));
  const server = resolveServer(attackerManifest(), { cacheRoot: cache });
  await verifyPull(server, { cacheRoot: cache });
});

Deno.test("mcp-run pull goes on after a pull holding the lock was killed with SIGKILL", async () => {
  const dir = removeOnExit(tempDir("mcp-run-pull-kill-"));
  const cache = join(dir, "cache");
  const manifest = writeManifest(dir, {});
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MOD, "pull", manifest, "--cache", cache],
    env: toolEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Killed while it holds the lock: its "Pulling" line is printed under the lock.
  let seen = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!seen.includes("Pulling ")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  assert.match(seen, /Pulling /);
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel().catch(() => {});
  const server = resolveServer(attackerManifest(), { cacheRoot: cache });
  const dirs = serverDirs(server.name, server.specifier, cache);
  assert.ok(Deno.statSync(dirs.pullLock).isFile, "control: the killed pull left its lock file");
  const r = await cli(["pull", manifest, "--cache", cache]);
  assert.equal(r.code, 0, r.stderr);
  await verifyPull(server, { cacheRoot: cache });
});

Deno.test("mcp-run --cache '' is a usage error naming the option (exit 2)", async () => {
  const s = localScene();
  for (const value of ["", "  "]) {
    for (const command of ["pull", "run"]) {
      const r = await cli([command, s.file, "--cache", value], { stdin: "" });
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`--cache must name a folder, got "${value}"`), r.stderr);
    }
  }
  // Positive control: a relative --cache is a folder of the working directory.
  const ok = await cli(["pull", s.file, "--cache", "rel-cache"], { cwd: s.dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(Deno.statSync(join(s.dir, "rel-cache", "servers", "local")).isDirectory);
});

Deno.test({
  name: "mcp-run pull into a read-only cache says which folder and what to do (exit 1)",
  ignore: !CAN_UNSHARE,
  fn: async () => {
    const s = localScene();
    Deno.mkdirSync(s.cache);
    const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
      exec "$2" run -A --quiet "$3" "$5" "$4" --cache "$1"`;
    for (const command of ["pull", "run"]) {
      const r = await inMountNamespace(script, [s.cache, Deno.execPath(), MOD, s.file, command]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(
        r.stderr.includes(`Cannot write to the cache folder "${s.cache}": it is on a read-only`),
        r.stderr,
      );
      assert.match(r.stderr, /--cache or MCP_RUN_CACHE/);
      assert.doesNotMatch(r.stderr, /\(os error \d+\)/);
    }
    // Positive control: the same folder, writable, takes the pull.
    const ok = await cli(["pull", s.file, "--cache", s.cache]);
    assert.equal(ok.code, 0, ok.stderr);
    // And once pulled, a read-only cache is enough to pull (nothing to do) and to run.
    for (const command of ["pull", "run"]) {
      const r = await inMountNamespace(script, [s.cache, Deno.execPath(), MOD, s.file, command]);
      assert.equal(r.code, 0, `${command}: ${r.stderr}`);
    }
  },
});
