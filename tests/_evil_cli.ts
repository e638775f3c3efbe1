/**
 * The malicious `pypi:` fixture through the command line, for the container security tests: a
 * user config naming the stand-in images (plus what the test adds, such as the isolation), a
 * manifest granting an {@linkcode AttackScene}'s read and write folders and `EVIL_GRANTED`, its
 * wheel pulled by `mcp-run pull` from a loopback index, then `mcp-run call` with the scene's
 * canaries in the launcher's environment.
 *
 * Requires docker, the stand-in images (tools/docker_setup.sh) and `pip`/`python3` on the host.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import type { AttackScene } from "./_container_attacks.ts";
import { EVIL_PACKAGE, PYTHON_TEST_IMAGE, type Report } from "./_evil_container.ts";
import { IMAGE } from "./_docker.ts";
import { cli } from "./_helpers.ts";
import { buildWheel, EVIL_PROJECT, startPypiIndex } from "./_pypi_index.ts";

/** The fixture pulled through the CLI, and how to call it there. */
export interface EvilCli {
  /** The manifest file. */
  manifest: string;
  /** The cache options of every command (`--cache <folder>`). */
  cacheArgs: string[];
  /** The launcher's environment: `HOME`, the user config, `EVIL_GRANTED` and `EVIL_SECRET`. */
  env: Record<string, string>;
  /**
   * Runs `mcp-run call` on one tool and returns its JSON report; asserts that a report came and
   * that the exit code matches its `ok`.
   */
  call(tool: string, args: Record<string, unknown>): Promise<Report>;
}

/**
 * Writes the user config and the manifest into `<scene.dir>/cli`, serves the fixture's wheel on
 * a loopback index and pulls it with `mcp-run pull` (the index is closed again).
 *
 * @param scene The scene whose folders, canaries and environment values the manifest uses.
 * @param name The manifest's name (the `mcp-run.server` label of its containers).
 * @param config User config keys beside the stand-in images (e.g. `isolation`).
 * @returns The manifest, the cache options, the environment, and a `call` function.
 * @throws {AssertionError} When the pull fails.
 * @example
 * ```ts ignore
 * const { call } = await pullEvilCli(scene, "evil-cli", { isolation: "gvisor" });
 * ```
 */
export async function pullEvilCli(
  scene: AttackScene,
  name: string,
  config: Record<string, unknown> = {},
): Promise<EvilCli> {
  const dir = join(scene.dir, "cli");
  await Deno.mkdir(dir);
  const userConfig = join(dir, "config.json");
  await Deno.writeTextFile(
    userConfig,
    JSON.stringify({ ...config, images: { deno: IMAGE, python: PYTHON_TEST_IMAGE } }),
  );
  const manifest = join(dir, "evil.jsonc");
  await Deno.writeTextFile(
    manifest,
    JSON.stringify({
      name,
      description: "A malicious Python test server",
      package: EVIL_PACKAGE,
      permissions: { read: [scene.shared], write: [scene.out], env: ["EVIL_GRANTED"] },
    }),
  );
  const cacheArgs = ["--cache", join(dir, "cache")];
  const env = {
    HOME: Deno.env.get("HOME") ?? "/root",
    MCP_RUN_CONFIG: userConfig,
    EVIL_GRANTED: scene.grantedValue,
    EVIL_SECRET: scene.secretValue,
  };
  const wheels = join(dir, "wheels");
  await Deno.mkdir(wheels);
  const index = await startPypiIndex({ files: [await buildWheel(EVIL_PROJECT, wheels)] });
  try {
    const pulled = await cli(["pull", manifest, ...cacheArgs], {
      env: { ...env, PIP_INDEX_URL: index.url },
    });
    assert.equal(pulled.code, 0, pulled.stderr);
  } finally {
    await index.close();
  }
  const call = async (tool: string, args: Record<string, unknown>): Promise<Report> => {
    const out = await cli(["call", manifest, tool, JSON.stringify(args), ...cacheArgs], { env });
    assert.ok(out.stdout.trim(), out.stderr);
    const report = JSON.parse(out.stdout);
    assert.equal(out.code, report.ok ? 0 : 1, out.stderr);
    return report;
  };
  return { manifest, cacheArgs, env, call };
}

/**
 * Asserts, through `mcp-run call`, that what the manifest declares arrives and nothing else does:
 * the declared variable and the read grant's file (positive controls), never `EVIL_SECRET`, the
 * canary file or a write to the server's own code; and that no container of the server is left.
 *
 * @param scene The scene the fixture was pulled for.
 * @param name The manifest's name.
 * @param call The `call` of {@linkcode pullEvilCli}.
 * @returns Once every assertion held.
 * @throws {AssertionError} When one does not.
 * @example
 * ```ts ignore
 * const { call } = await pullEvilCli(scene, "evil-cli");
 * await assertDeclaredOnly(scene, "evil-cli", call);
 * ```
 */
export async function assertDeclaredOnly(
  scene: AttackScene,
  name: string,
  call: EvilCli["call"],
): Promise<void> {
  // Positive control: the declared name and the read grant arrive.
  assert.equal((await call("read_env", { name: "EVIL_GRANTED" })).value, scene.grantedValue);
  const granted = await call("read_file", { path: join(scene.shared, "granted.txt") });
  assert.equal(granted.content, "granted content\n");
  const secret = await call("read_env", { name: "EVIL_SECRET" });
  assert.equal(secret.ok, false);
  assert.equal((await call("read_file", { path: scene.canaryFile })).errno, "ENOENT");
  assert.equal((await call("write_own_code", {})).ok, false);
  assert.deepEqual(await listContainers({ "mcp-run.server": name }), []);
}
