/**
 * Security proofs, native mode: a server cannot start programs (SECURITY.md invariant 1), a
 * manifest that asks to is refused before anything runs, and no server outlives its launcher,
 * even one killed by SIGKILL.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { GrantError, resolveServer } from "../runtime/policy/resolve.ts";
import { cli, tempDir } from "./_helpers.ts";
import {
  assertAllStopped,
  killLauncher,
  killNaming,
  openSession,
  startLauncher,
  stopLauncher,
  STUBBORN,
  waitForHeartbeats,
} from "./_stubborn.ts";
import {
  assertAllowed,
  assertDenied,
  attackerManifest,
  launch,
  removeOnExit,
  writeManifest,
} from "./_security.ts";

const root = removeOnExit(tempDir("mcp-run-sec-process-"));
const SH = ["/bin/sh", "/usr/bin/sh"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}) ?? "/bin/sh";

Deno.test("a sandboxed server cannot start programs by any API; unsandboxed it can", async () => {
  const dir = removeOnExit(tempDir());
  const marker = join(dir, "pwned");
  // An absolute program path: the server's environment has no PATH, and the denial must come
  // from the permission check, not from a failed PATH lookup.
  const args = { program: SH, args: ["-c", `echo pwned >> ${marker}; echo ran`], marker };
  {
    await using attack = await launch(attackerManifest(), { root });
    const report = await attack.call("spawn", args);
    for (const api of ["denoCommand", "nodeSpawn", "denoItself"]) assertDenied(report[api], api);
    // Deno's synchronous node:child_process APIs fail without naming the permission; the
    // canary below shows they ran nothing.
    for (const api of ["nodeExecFile", "nodeSpawnSync"]) {
      assert.equal(report[api].ok, false, `${api}: ${JSON.stringify(report[api])}`);
    }
  }
  assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound);

  // Positive control: the same fixture with no sandbox starts all four, and the canary fires.
  {
    await using attack = await launch(attackerManifest(), {
      root,
      unsandboxed: true,
      source: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    });
    const report = await attack.call("spawn", args);
    assert.equal(assertAllowed(report.denoCommand, "Deno.Command"), "ran\n");
    assert.equal(assertAllowed(report.nodeExecFile, "execFileSync"), "ran\n");
    assert.equal(assertAllowed(report.nodeSpawnSync, "spawnSync"), "ran\n");
    assert.equal(assertAllowed(report.nodeSpawn, "spawn"), "ran\n");
    assert.equal(assertAllowed(report.denoItself, "deno itself"), 0);
  }
  assert.equal(Deno.readTextFileSync(marker), "pwned\n".repeat(4) + "deno");
});

Deno.test("resolveServer() refuses run and ffi in native mode with GrantError", () => {
  for (const kind of ["run", "ffi"] as const) {
    const manifest = attackerManifest({ permissions: { [kind]: ["sh"] } });
    assert.throws(
      () => resolveServer(manifest, { cacheRoot: root }),
      (e: Error) =>
        e instanceof GrantError && e.field === `permissions.${kind}` &&
        /in native mode/.test(e.message) && /--isolation docker --trust/.test(e.message),
    );
    // Positive control: the grant itself is well formed; trusted docker isolation accepts it.
    const trusted = resolveServer(manifest, { cacheRoot: root, isolation: "docker", trust: true });
    assert.deepEqual(trusted[kind], ["sh"]);
  }
});

Deno.test("mcp-run run refuses a manifest asking for run, before starting anything (exit 3)", async () => {
  const dir = removeOnExit(tempDir());
  const file = writeManifest(dir, { permissions: { run: ["sh"] } });
  const r = await cli(["run", file, "--cache", root]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /Cannot grant run access in native mode/);
  assert.equal(r.stdout, "");
  // Positive control: the same manifest without `run` starts (its dry run prints a plan).
  const ok = await cli(["run", writeManifest(dir, {}, "ok.jsonc"), "--dry-run", "--cache", root]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /--no-prompt/);
  assert.doesNotMatch(ok.stdout, /--allow-run|--allow-all|\s-A\s/);
});

Deno.test({
  name: "mcp-run run killed by SIGKILL leaves no server running, even one that ignores SIGTERM",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = removeOnExit(tempDir("mcp-run-stubborn-"));
    const launcher = startLauncher(["run", STUBBORN, "-p", `dir=${dir}`, "--cache", root]);
    try {
      // Positive control: the server runs and its heartbeat advances.
      await waitForHeartbeats(dir, 1);
      await killLauncher(launcher);
      await assertAllStopped(dir);
    } finally {
      stopLauncher(launcher);
      killNaming(dir);
    }
  },
});

Deno.test({
  name: "mcp-run serve killed by SIGKILL leaves none of its sessions' servers running",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = removeOnExit(tempDir("mcp-run-stubborn-"));
    const launcher = startLauncher([
      "serve",
      STUBBORN,
      "-p",
      `dir=${dir}`,
      "--cache",
      root,
      "--port",
      "0",
    ]);
    try {
      const [, url] = await launcher.waitFor(/on (http:\/\/\S+)/);
      await openSession(url);
      await openSession(url);
      // Positive control: two sessions, two servers, both heartbeats advance.
      await waitForHeartbeats(dir, 2);
      await killLauncher(launcher);
      await assertAllStopped(dir);
    } finally {
      stopLauncher(launcher);
      killNaming(dir);
    }
  },
});
