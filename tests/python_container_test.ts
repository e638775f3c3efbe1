/**
 * End to end: a real PyPI server (mcp-server-time, wheels only) pulled into the local Python
 * stand-in image (tools/docker_setup.sh) through the docker sandbox, run from its read-only code
 * folder, and called by the real MCP SDK client; its code changed after the pull is refused at
 * launch; a package published only as source is refused without `allowBuild`. One pull is
 * shared by the whole file.
 *
 * In CI (CI=true) these tests never skip: docker or the image missing there fails the run.
 */
import { dockerProblem, PYTHON_IMAGE } from "./_docker.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { serverFixture } from "../runtime/policy/_server_fixture.ts";
import type { ResolvedServer } from "../runtime/policy/resolve.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { listContainers, runDocker } from "../runtime/sandbox/docker_engine.ts";
import { DockerSandbox, type DockerSandboxOptions } from "../runtime/sandbox/docker_sandbox.ts";
import { CacheError } from "../runtime/sandbox/pull.ts";
import { pythonDirs } from "../runtime/sandbox/python_plan.ts";
import { pythonPull } from "../runtime/sandbox/python_pull.ts";
import type { PythonPullRecord } from "../runtime/sandbox/python_cache.ts";
import { tempDir, toolEnv } from "./_helpers.ts";

/** The stand-in Python image tools/docker_setup.sh builds (CPython 3.11 with pip). */
const PYTHON_TEST_IMAGE = PYTHON_IMAGE;

const problem = await dockerProblem("python_container_test.ts: skipping", { python: true });
const ignore = problem !== undefined;

/**
 * Why the stand-in cannot load compiled extensions as the official image does (pydantic-core,
 * a dependency of every Python MCP server, needs libgcc_s and friends), if it cannot.
 */
async function extensionProblem(): Promise<string | undefined> {
  if (ignore) return problem;
  const libs = ["libgcc_s.so.1", "libdl.so.2", "libpthread.so.0", "librt.so.1"];
  const out = await runDocker([
    "run",
    "--rm",
    "--network",
    "none",
    "--entrypoint",
    "python3",
    PYTHON_TEST_IMAGE,
    "-c",
    `import ctypes\nfor lib in ${JSON.stringify(libs)}: ctypes.CDLL(lib)`,
  ]);
  if (out.code === 0) return undefined;
  return `the image ${PYTHON_TEST_IMAGE} lacks a library the official Python image has ` +
    `(${out.stderr.trim().split("\n").at(-1)}): rebuild it with tools/docker_setup.sh`;
}
const runProblem = await extensionProblem();
if (runProblem && !ignore && Deno.env.get("CI") === "true") {
  throw new Error(`Docker tests cannot be skipped in CI: ${runProblem}`);
}
if (runProblem && !ignore) {
  console.error(`python_container_test.ts: skipping the run, ${runProblem}`);
}

const cache = tempDir("mcp-run-python-cache-");
globalThis.addEventListener("unload", () => Deno.removeSync(cache, { recursive: true }));
const host = Deno.env.toObject();
/** The index and its TLS trust as this machine has them; host network for the pull only. */
const OPTIONS: DockerSandboxOptions = {
  cacheRoot: cache,
  pythonImage: PYTHON_TEST_IMAGE,
  network: "host",
  source: {
    ...toolEnv(),
    ...Object.fromEntries(
      ["PIP_CERT", "PIP_INDEX_URL", "SSL_CERT_FILE"].flatMap((n) => host[n] ? [[n, host[n]]] : []),
    ),
  },
  progress: () => {},
};

const TIME: ResolvedServer = serverFixture({
  name: "time",
  specifier: "pypi:mcp-server-time@2026.10.19",
  args: ["--local-timezone", "UTC"],
});

let pulled: Promise<PythonPullRecord> | undefined;
/** The one pull of the file. */
function pullTime(): Promise<PythonPullRecord> {
  pulled ??= pythonPull(TIME, { ...OPTIONS, pullImage: false });
  return pulled;
}

async function callTime(timezone: string) {
  const connected = await connectServer(TIME, {
    ...OPTIONS,
    sandbox: new DockerSandbox(OPTIONS),
    timeoutMs: 60_000,
  });
  try {
    const tools = await connected.client.listTools();
    const result = await connected.client.callTool({
      name: "get_current_time",
      arguments: { timezone },
    });
    return { tools: tools.tools.map((t: { name: string }) => t.name), result };
  } finally {
    await connected.close();
  }
}

Deno.test({
  name: "pythonPull() installs a pypi: server from a lock with the sha256 of every distribution",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const record = await pullTime();
    const dirs = pythonDirs(TIME, PYTHON_TEST_IMAGE, cache);
    const lock = (await Deno.readTextFile(dirs.lockFile)).trim().split("\n");
    assert.ok(lock.length >= 10, `expected the dependencies locked too: ${lock.length}`);
    for (const line of lock) {
      assert.match(line, /^[A-Za-z0-9._-]+==\S+ --hash=sha256:[0-9a-f]{64}$/);
    }
    assert.ok(lock.some((l) => l.startsWith("mcp-server-time==2026.10.19 ")));
    assert.equal(record.script, "mcp-server-time");
    assert.equal(record.installed.length, lock.length);
    assert.ok(Object.keys(record.files).includes("code/entry.py"));
    assert.ok(Object.keys(record.files).some((f) => f.startsWith("code/lib/mcp_server_time/")));
    // Nothing of the pull is left but the installed code, the lock and the record.
    assert.deepEqual([...Deno.readDirSync(dirs.dir)].map((e) => e.name).sort(), [
      "code",
      "pull.json",
      "requirements.lock",
    ]);
    // A second pull finds it intact and fetches nothing.
    assert.equal((await pythonPull(TIME, OPTIONS)).pulledAt, record.pulledAt);
  },
});

Deno.test({
  name: "DockerSandbox runs a pulled pypi: server for a real MCP client, leaving no container",
  ignore: runProblem !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await pullTime();
    const before = Date.now();
    const { tools, result } = await callTime("Asia/Tokyo");
    assert.ok(tools.includes("get_current_time"), tools.join(", "));
    const content = (result.content as { type: string; text: string }[])[0];
    const answer = JSON.parse(content.text);
    assert.equal(answer.timezone, "Asia/Tokyo");
    assert.match(answer.datetime, /\+09:00$/);
    // The time the server read in its container is now, within the call's duration and a minute.
    const skew = Date.parse(answer.datetime) - before;
    assert.ok(skew > -60_000 && skew < 180_000, `server time off by ${skew} ms`);
    for (let i = 0; i < 40 && (await listContainers({ "mcp-run.server": "time" })).length; i++) {
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(await listContainers({ "mcp-run.server": "time" }), []);
  },
});

Deno.test({
  name: "DockerSandbox.prepare() refuses a pypi: server whose code changed after the pull",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await pullTime();
    const dirs = pythonDirs(TIME, PYTHON_TEST_IMAGE, cache);
    const sandbox = new DockerSandbox({ ...OPTIONS, autoPull: false });
    const file = join(dirs.code, "lib", "mcp_server_time", "server.py");
    const original = await Deno.readFile(file);
    // Positive control: the pulled code verifies.
    await (await sandbox.prepare(TIME)).verify();

    await Deno.writeTextFile(file, "\nimport os; os.system('touch /tmp/pwned')\n", {
      append: true,
    });
    await assert.rejects(
      async () => await (await sandbox.prepare(TIME)).verify(),
      (error: Error) => {
        assert.ok(error instanceof CacheError, String(error));
        assert.equal(error.kind, "tampered");
        assert.match(error.message, /code\/lib\/mcp_server_time\/server\.py was modified/);
        assert.match(error.message, /mcp-run pull time --isolation docker/);
        return true;
      },
    );
    await Deno.writeFile(file, original);
    await (await sandbox.prepare(TIME)).verify();

    const planted = join(dirs.code, "lib", "sitecustomize.py");
    await Deno.writeTextFile(planted, "import os\n");
    await assert.rejects(
      async () => await (await sandbox.prepare(TIME)).verify(),
      /code\/lib\/sitecustomize\.py was added/,
    );
    // A pull installs the recorded lock again into an empty folder: the same code, nothing more.
    const lock = await Deno.readTextFile(dirs.lockFile);
    const record = await pythonPull(TIME, OPTIONS);
    assert.equal(await Deno.readTextFile(dirs.lockFile), lock);
    await assert.rejects(() => Deno.stat(planted), Deno.errors.NotFound);
    assert.equal(record.installed.length, lock.trim().split("\n").length);
    await (await sandbox.prepare(TIME)).verify();
  },
});

/**
 * Runs a standard-library probe in place of the server's entry point, in the container the plan
 * describes (or a weakened copy of it), and returns its exit code and output.
 */
async function runProbe(argv: string[], code: string) {
  const at = argv.indexOf("-I");
  const out = await runDocker([...argv.slice(0, at), "-I", "-c", code]);
  return { code: out.code, text: `${out.stdout}${out.stderr}` };
}

Deno.test({
  name: "pythonRunArgs() mounts the installed code read-only: the server cannot change it",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await pullTime();
    const plan = new DockerSandbox({ ...OPTIONS, launcherLabels: false }).plan(TIME);
    const argv = plan.args.filter((a) => a !== "-i");
    const attack = "open('/mcp-run-code/entry.py', 'a').write('import os\\n'); print('WROTE')";
    const hardened = await runProbe(argv, attack);
    assert.notEqual(hardened.code, 0);
    assert.match(hardened.text, /Read-only file system|Permission denied/);
    assert.ok(!hardened.text.includes("WROTE"));
    await (await new DockerSandbox({ ...OPTIONS, autoPull: false }).prepare(TIME)).verify();

    // Positive control: the same probe with a writable copy of the code, as root, does write.
    const copy = tempDir("mcp-run-python-control-");
    await Deno.writeTextFile(join(copy, "entry.py"), "# canary\n");
    const weakened = argv.map((a) =>
      a.startsWith("type=bind,src=") && a.endsWith(",dst=/mcp-run-code,readonly")
        ? `type=bind,src=${copy},dst=/mcp-run-code`
        : a
    );
    weakened[weakened.indexOf("--user") + 1] = "0:0";
    const control = await runProbe(weakened, attack);
    assert.equal(control.code, 0, control.text);
    assert.match(await Deno.readTextFile(join(copy, "entry.py")), /import os/);
    await Deno.remove(copy, { recursive: true });
  },
});

Deno.test({
  name: "pythonPull() builds a package published only as source only when allowBuild is given",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const sdistOnly = serverFixture({ name: "termcolor", specifier: "pypi:termcolor@1.1.0" });
    await assert.rejects(
      () => pythonPull(sdistOnly, OPTIONS),
      (error: Error) => {
        assert.ok(error instanceof RangeError, String(error));
        assert.match(error.message, /no wheel/);
        assert.match(error.message, /--allow-build/);
        return true;
      },
    );
    const dirs = pythonDirs(sdistOnly, PYTHON_TEST_IMAGE, cache);
    await assert.rejects(() => Deno.stat(dirs.record), Deno.errors.NotFound);
    // Positive control: with allowBuild it builds in the pull container and installs, then finds
    // no console script to run (termcolor is a library), so nothing is recorded either.
    await assert.rejects(
      () => pythonPull(sdistOnly, { ...OPTIONS, allowBuild: true }),
      /termcolor@1\.1\.0: it installs no console script/,
    );
    await assert.rejects(() => Deno.stat(dirs.record), Deno.errors.NotFound);
  },
});
