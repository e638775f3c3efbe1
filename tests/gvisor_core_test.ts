/**
 * gVisor detection for real: `checkGvisorRuntime` against the engine, and a launch under a
 * runtime the engine does not have, through the sandbox API and through the CLI. The launch is
 * refused with what to install and the `daemon.json` lines to add, exit code 1, and no container
 * is started (the docker client the CLI runs is a shim that logs every command, answers
 * `docker info` as an engine without that runtime would, and passes the rest to the real one).
 * The positive control: the engine's own `runsc` passes the same check.
 *
 * In CI (CI=true) docker missing fails the run, and so does gVisor missing (the positive
 * control needs it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveServer } from "../runtime/policy/resolve.ts";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import { checkGvisorRuntime, GvisorUnavailableError } from "../runtime/sandbox/gvisor_runtime.ts";
import { GvisorSandbox } from "../runtime/sandbox/gvisor_sandbox.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { cli, tempDir, toolEnv } from "./_helpers.ts";
import { attackerManifest, manifestText, removeOnExit } from "./_security.ts";

const problem = await dockerProblem("gvisor_core_test.ts: skipping");
const base = { ignore: problem !== undefined, sanitizeResources: false, sanitizeOps: false };

const MISSING = "mcp-run-no-such-runtime";

Deno.test({
  ...base,
  ignore: await gvisorProblem("gvisor_core_test.ts: skipping the positive control") !==
    undefined,
  name: "checkGvisorRuntime() accepts the engine's registered runsc with what launches need",
  fn: async () => {
    await checkGvisorRuntime({ needs: { uds: true, fifo: true } });
  },
});

Deno.test({
  ...base,
  name: "GvisorSandbox.prepare() refuses a runtime the engine lacks and starts nothing",
  fn: async () => {
    const dir = removeOnExit(tempDir("mcp-run-gvisor-core-"));
    const server = resolveServer(attackerManifest({ name: "gvisor-missing" }), {
      cacheRoot: join(dir, "cache"),
    });
    const sandbox = new GvisorSandbox({
      cacheRoot: join(dir, "cache"),
      image: IMAGE,
      source: toolEnv(),
      gvisorRuntime: MISSING,
      approve: true,
      progress: () => {},
    });
    await assert.rejects(sandbox.prepare(server), (error) => {
      assert.ok(error instanceof GvisorUnavailableError);
      assert.equal(error.kind, "missing");
      assert.match(
        error.message,
        new RegExp(
          `^Cannot use gvisor isolation: the Docker engine has no runtime named "${MISSING}" ` +
            `\\(it has: [^)]*runc[^)]*\\)\\. It has gVisor registered as "runsc": set ` +
            `"gvisorRuntime": "runsc" in mcp-run's config file`,
        ),
      );
      return true;
    });
    assert.deepEqual(await listContainers({ "mcp-run.server": server.name }), []);
  },
});

/**
 * Runs `mcp-run call --isolation gvisor` with a docker shim whose `docker info` lists the given
 * runtimes; returns the result and every docker command the CLI ran.
 */
async function callWithEngine(
  runtimes: Record<string, unknown>,
  spec: { name: string; permissions?: Record<string, string[]> },
) {
  const dir = removeOnExit(tempDir("mcp-run-gvisor-cli-"));
  const shims = join(dir, "bin");
  const log = join(dir, "docker.log");
  const real = new Deno.Command("sh", { args: ["-c", "command -v docker"] }).outputSync();
  const docker = new TextDecoder().decode(real.stdout).trim();
  Deno.mkdirSync(shims);
  Deno.writeTextFileSync(
    join(shims, "docker"),
    `#!/bin/sh\necho "$*" >> '${log}'\n` +
      `if [ "$1" = info ]; then echo '${JSON.stringify(runtimes)}'; exit 0; fi\n` +
      `exec '${docker}' "$@"\n`,
    { mode: 0o755 },
  );
  const manifest = join(dir, "server.jsonc");
  Deno.writeTextFileSync(manifest, manifestText(spec));
  const run = await cli(
    [
      "call",
      manifest,
      "fetch",
      "{}",
      "--isolation",
      "gvisor",
      "--image",
      IMAGE,
      "--cache",
      join(dir, "cache"),
      "--yes",
    ],
    { env: { HOME: Deno.env.get("HOME") ?? "/root", PATH: `${shims}:${toolEnv().PATH}` } },
  );
  return { ...run, commands: Deno.readTextFileSync(log).trim().split("\n") };
}

/** Asserts that the CLI ran no container (nor pulled): it only asked the engine. */
async function assertNothingStarted(commands: string[], name: string): Promise<void> {
  assert.ok(commands.some((c) => c.startsWith("info ")), commands.join("\n"));
  assert.deepEqual(commands.filter((c) => /^(run|create|start|pull|volume create)\b/.test(c)), []);
  assert.deepEqual(await listContainers({ "mcp-run.server": name }), []);
}

Deno.test({
  ...base,
  name:
    "mcp-run call --isolation gvisor on an engine without gVisor says what to install, exits 1 and starts no container",
  fn: async () => {
    const run = await callWithEngine({ runc: { path: "runc" } }, { name: "gvisor-cli-missing" });
    assert.equal(run.code, 1, run.stderr);
    assert.equal(
      run.stderr.trim(),
      'mcp-run: Cannot use gvisor isolation: the Docker engine has no runtime named "runsc" ' +
        "(it has: runc). Install gVisor (Debian/Ubuntu: apt-get install runsc; elsewhere: " +
        "https://gvisor.dev/docs/user_guide/install/), add these lines to " +
        '/etc/docker/daemon.json: {"runtimes": {"runsc": {"path": "/usr/bin/runsc", ' +
        '"runtimeArgs": ["--network=none", "--host-uds=open", "--host-fifo=open"]}}}, then ' +
        "reload the engine (systemctl reload docker, or kill -HUP $(pidof dockerd)). " +
        "--isolation docker runs the same container under the host's kernel: a weaker wall",
    );
    assert.equal(run.stdout, "");
    await assertNothingStarted(run.commands, "gvisor-cli-missing");
  },
});

Deno.test({
  ...base,
  name:
    "mcp-run call --isolation gvisor names the runtime arguments a server with net grants needs",
  fn: async () => {
    const run = await callWithEngine(
      {
        runc: { path: "runc" },
        runsc: { path: "/usr/bin/runsc", runtimeArgs: ["--network=none"] },
      },
      { name: "gvisor-cli-bare", permissions: { net: ["api.example.com:443"] } },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^mcp-run: Cannot use gvisor isolation: the engine's "runsc" runtime is registered without --host-uds=open and --host-fifo=open in its runtimeArgs \(/,
    );
    assert.match(run.stderr, /"--host-uds=open", "--host-fifo=open"\]\}\}\}, then reload/);
    await assertNothingStarted(run.commands, "gvisor-cli-bare");
  },
});
