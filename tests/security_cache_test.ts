/**
 * Security proofs, native mode: cache and config poisoning (SECURITY.md invariant 2). A server
 * cannot write the config files, working folder, HOME or code cache Deno and the launcher read,
 * nor keep anything in per-origin storage; a cache changed behind the launcher's back stops the
 * next launch.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serverDirs } from "../runtime/sandbox/cache_dirs.ts";
import { denoLaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { CacheError, verifyPull } from "../runtime/sandbox/pull.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { spawnServer } from "../runtime/sandbox/server_process.ts";
import { ProcessTransport } from "../runtime/sandbox/stdio_transport.ts";
import { cli, resultText, tempDir } from "./_helpers.ts";
import {
  assertAllowed,
  assertDenied,
  attackerManifest,
  launch,
  type ManifestSpec,
  prePull,
  removeOnExit,
  writeManifest,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-cache-"));
await prePull(attackerManifest(), root);
const server = resolveServer(attackerManifest(), { cacheRoot: root });
const dirs = serverDirs(server.name, server.specifier, root);
const SDK = join(dirs.denoDir, "npm/registry.npmjs.org/@modelcontextprotocol/sdk/1.32.2");
const codeFile = join(SDK, "dist/esm/server/stdio.js");

const withDir: ManifestSpec = {
  parameters: { dir: { type: "path", description: "A folder", required: true } },
  permissions: { read: ["${dir}"], write: ["${dir}"] },
};

function snapshot(paths: string[]): Record<string, string> {
  return Object.fromEntries(paths.map((path) => {
    try {
      return [path, Deno.readTextFileSync(path)];
    } catch (error) {
      return [path, (error as Error).name];
    }
  }));
}

Deno.test("a sandboxed server cannot plant config or code where Deno or the launcher reads it", async () => {
  const granted = removeOnExit(tempDir());
  const outside = removeOnExit(tempDir());
  const targets = [
    join(dirs.cwd, "deno.json"),
    join(dirs.cwd, "deno.jsonc"),
    join(dirs.cwd, "package.json"),
    join(dirs.cwd, ".npmrc"),
    join(dirname(dirs.cwd), "deno.json"),
    join(dirs.home, ".npmrc"),
    join(dirs.home, ".deno", "deno.json"),
    codeFile,
    join(SDK, "package.json"),
    join(dirs.denoDir, "npm", "registry.npmjs.org", "evil", "1.0.0", "index.js"),
    join(dirs.denoDir, "gen", "file", "evil.js"),
    join(dirs.denoDir, "location_data"),
    dirs.lockFile,
    dirs.pullRecord,
    join(outside, ".claude.json"), // a client config outside every grant
  ];
  const before = snapshot(targets);
  {
    await using attack = await launch(attackerManifest(withDir), {
      root,
      params: { dir: granted },
    });
    for (const path of targets) {
      const report = await attack.call("write", { path, content: "POISON" });
      assertDenied(report.deno, `Deno write to ${path}`);
      assertDenied(report.node, `node:fs write to ${path}`);
    }
    // Relative paths land in the working folder the server was started in.
    for (const path of ["deno.json", ".npmrc", "../deno.json"]) {
      assertDenied((await attack.call("write", { path, content: "POISON" })).deno, path);
    }
    // Positive control: the granted folder is writable, with both APIs.
    const mine = join(granted, "notes.txt");
    const report = await attack.call("write", { path: mine, content: "POISON" });
    assertAllowed(report.deno, "Deno write in the grant");
    assertAllowed(report.node, "node:fs write in the grant");
    assert.equal(Deno.readTextFileSync(mine), "POISON");
  }
  assert.deepEqual(snapshot(targets), before);
  assert.deepEqual([...Deno.readDirSync(dirs.cwd)], []);
  assert.deepEqual([...Deno.readDirSync(dirs.home)], []);
  await verifyPull(server, { cacheRoot: root });
});

Deno.test("localStorage and the Cache API cannot keep anything in the server's DENO_DIR", async () => {
  const blocker = join(dirs.denoDir, "location_data");
  {
    await using attack = await launch(attackerManifest(), { root });
    const report = await attack.call("storage");
    assert.equal(report.localStorage.ok, false, JSON.stringify(report));
    assert.equal(report.cacheApi.ok, false, JSON.stringify(report));
  }
  const info = Deno.statSync(blocker);
  assert.ok(info.isFile && info.size === 0, "location_data is still an empty file");

  // Positive control: without the blocker, the same sandboxed server stores data that would
  // outlive it. Started by hand, since every launch through mcp-run puts the blocker back.
  Deno.removeSync(blocker);
  const transport = new ProcessTransport(
    spawnServer(server.name, denoLaunchPlan(server, { cacheRoot: root, source: {} }), {
      onStderr: () => {},
    }),
  );
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const report = JSON.parse(resultText(await client.callTool({ name: "storage" })));
    assert.equal(assertAllowed(report.localStorage, "localStorage"), "yes");
    assertAllowed(report.cacheApi, "Cache API");
  } finally {
    await client.close();
    await transport.close();
  }
  assert.ok(Deno.statSync(blocker).isDirectory);

  // And the next launch through mcp-run removes what was stored and blocks it again.
  await using attack = await launch(attackerManifest(), { root });
  assert.equal((await attack.call("storage")).localStorage.ok, false);
  assert.ok(Deno.statSync(blocker).isFile);
});

/** Each tampering, and how to undo it. */
const tamperings: [string, RegExp, () => () => void][] = [
  ["a code file is edited", /stdio\.js was modified/, () => {
    const original = Deno.readFileSync(codeFile);
    Deno.writeTextFileSync(codeFile, "\nprocess.exit(0);", { append: true });
    return () => Deno.writeFileSync(codeFile, original);
  }],
  ["a same-size edit sets its mtime back", /stdio\.js was modified/, () => {
    const original = Deno.readFileSync(codeFile);
    const { atime, mtime } = Deno.statSync(codeFile);
    const text = new TextDecoder().decode(original);
    Deno.writeTextFileSync(codeFile, text.replace("process", "PROCESS"));
    Deno.utimeSync(codeFile, atime!, mtime!);
    return () => Deno.writeFileSync(codeFile, original);
  }],
  ["a file is added", /evil\.js was added/, () => {
    const added = join(SDK, "evil.js");
    Deno.writeTextFileSync(added, "console.log('evil')");
    return () => Deno.removeSync(added);
  }],
  ["a file is removed", /package\.json was removed/, () => {
    const path = join(SDK, "package.json");
    const original = Deno.readFileSync(path);
    Deno.removeSync(path);
    return () => Deno.writeFileSync(path, original);
  }],
  ["the lockfile is edited", /deno\.lock differs/, () => {
    const original = Deno.readFileSync(dirs.lockFile);
    Deno.writeTextFileSync(dirs.lockFile, "\n", { append: true });
    return () => Deno.writeFileSync(dirs.lockFile, original);
  }],
];

for (const [what, message, tamper] of tamperings) {
  Deno.test(`a launch after pull fails with CacheError when ${what}`, async () => {
    await verifyPull(server, { cacheRoot: root }); // positive control: intact before
    const undo = tamper();
    try {
      await assert.rejects(
        () => launch(attackerManifest(), { root }),
        (e: Error) => e instanceof CacheError && e.kind === "tampered" && message.test(e.message),
      );
    } finally {
      undo();
    }
    // Positive control: undone, the same cache launches again.
    await using attack = await launch(attackerManifest(), { root });
    assert.equal(typeof (await attack.call("pid")).pid, "number");
  });
}

Deno.test("tampered code never runs: the cache check comes before the server starts", async () => {
  const granted = removeOnExit(tempDir());
  const marker = join(granted, "tampered-code-ran");
  const undo = plantPayload(marker);
  try {
    await assert.rejects(
      () => launch(attackerManifest(withDir), { root, params: { dir: granted } }),
      (e: Error) => e instanceof CacheError && e.kind === "tampered",
    );
    const dir = removeOnExit(tempDir());
    const r = await cli(
      ["run", writeManifest(dir, withDir), "-p", `dir=${granted}`, "--cache", root],
      { stdin: "" },
    );
    assert.equal(r.code, 4, r.stderr);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // give a started server time
    assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound, "the tampered code ran");
  } finally {
    undo();
  }
  // Positive control: the same payload, launched by hand past the check, does run.
  const undoAgain = plantPayload(marker);
  try {
    await assertPayloadFires(granted, marker);
  } finally {
    undoAgain();
  }
});

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("mcp-run run exits 4 on a tampered cache and starts nothing", async () => {
  const dir = removeOnExit(tempDir());
  const original = Deno.readFileSync(codeFile);
  Deno.writeTextFileSync(codeFile, "\n// changed", { append: true });
  try {
    const r = await cli(["run", writeManifest(dir), "--cache", root], { stdin: "" });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /changed since it was pulled/);
    assert.equal(r.stdout, "");
  } finally {
    Deno.writeFileSync(codeFile, original);
  }
});

/**
 * The tampering of the tampered-code tests: the SDK's stdio transport (imported first thing by
 * the server) gets code appended that drops a canary in the granted folder.
 */
function plantPayload(marker: string): () => void {
  const original = Deno.readFileSync(codeFile);
  Deno.writeTextFileSync(
    codeFile,
    `\nimport __fs from "node:fs";\n__fs.writeFileSync(${JSON.stringify(marker)}, "ran");\n`,
    { append: true },
  );
  return () => Deno.writeFileSync(codeFile, original);
}

/** The positive control: the planted payload, started by hand past every check, does run. */
async function assertPayloadFires(granted: string, marker: string): Promise<void> {
  const plan = denoLaunchPlan(
    resolveServer(attackerManifest(withDir), { cacheRoot: root, params: { dir: granted } }),
    { cacheRoot: root, source: {} },
  );
  const child = spawnServer(server.name, plan, { onStderr: () => {} });
  for (let i = 0; i < 100 && !exists(marker); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await child.stop();
  assert.equal(Deno.readTextFileSync(marker), "ran", "control: the payload runs when unchecked");
  Deno.removeSync(marker);
}

/** A planted payload, proven to fire when unchecked, and what the test needs around it. */
interface PlantedPayload {
  /** The folder granted to the server. */
  granted: string;
  /** The canary the payload drops in `granted`. */
  marker: string;
  /** A manifest of the attacker server with `granted` as its `dir` parameter. */
  manifest: string;
  /** The code file's text before the payload. */
  original: string;
}

/**
 * Plants the payload, runs its positive control, then `body`; the code file is restored
 * afterwards unless `body` left it as it was.
 */
async function withPlantedPayload(body: (planted: PlantedPayload) => Promise<void>): Promise<void> {
  const granted = removeOnExit(tempDir());
  const marker = join(granted, "tampered-code-ran");
  const manifest = writeManifest(removeOnExit(tempDir()), withDir);
  const original = Deno.readTextFileSync(codeFile);
  const undo = plantPayload(marker);
  try {
    await assertPayloadFires(granted, marker);
    await body({ granted, marker, manifest, original });
  } finally {
    if (Deno.readTextFileSync(codeFile) !== original) undo();
  }
}

function callPid(manifest: string, granted: string) {
  return cli(["call", manifest, "pid", "-p", `dir=${granted}`, "--cache", root, "--yes"]);
}

Deno.test("mcp-run pull after a cached file is edited fetches the code again; the edit never runs", async () => {
  await withPlantedPayload(async ({ granted, marker, manifest, original }) => {
    const pulled = await cli(["pull", manifest, "-p", `dir=${granted}`, "--cache", root, "--yes"]);
    assert.equal(pulled.code, 0, pulled.stderr);
    const r = await callPid(manifest, granted);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(marker), "the tampered code ran");
    // The edited file was replaced by the registry's, not recorded as trusted.
    assert.equal(Deno.readTextFileSync(codeFile), original);
    assert.match(pulled.stderr, /stdio\.js was modified\): fetching it again into an empty folder/);
    await verifyPull(server, { cacheRoot: root });
  });
});

Deno.test("mcp-run call after pull.json is deleted fetches the code again; the edit never runs", async () => {
  await withPlantedPayload(async ({ granted, marker, manifest, original }) => {
    Deno.removeSync(dirs.pullRecord);
    const r = await callPid(manifest, granted);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!exists(marker), "the tampered code ran");
    assert.match(r.stderr, /has no pull record: fetching it again into an empty folder/);
    assert.equal(Deno.readTextFileSync(codeFile), original);
  });
  await verifyPull(server, { cacheRoot: root });
});

Deno.test("mcp-run run exits 4 when pull.json is truncated and runs nothing; pull repairs it", async () => {
  await withPlantedPayload(async ({ granted, marker, manifest, original }) => {
    const text = Deno.readTextFileSync(dirs.pullRecord);
    Deno.writeTextFileSync(dirs.pullRecord, text.slice(0, text.length / 2));
    const r = await cli(["run", manifest, "-p", `dir=${granted}`, "--cache", root, "--yes"], {
      stdin: "",
    });
    assert.equal(r.code, 4, r.stderr);
    assert.ok(r.stderr.includes(`"${dirs.pullRecord}"`), r.stderr);
    assert.match(r.stderr, /is damaged .*Run mcp-run pull attacker/);
    assert.doesNotMatch(r.stderr, /at \w+ \(|Cannot read properties/);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // give a started server time
    assert.ok(!exists(marker), "the tampered code ran");
    const pulled = await cli(["pull", manifest, "-p", `dir=${granted}`, "--cache", root, "--yes"]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(Deno.readTextFileSync(codeFile), original);
  });
  await verifyPull(server, { cacheRoot: root });
});
