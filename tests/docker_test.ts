/**
 * End to end: docker isolation with real containers built from the local stand-in image
 * (tools/docker_setup.sh), the real MCP SDK client, registry servers, and a probe fixture that
 * reports what it can see from inside. Each probe has a positive control (a weakened container
 * in which the same probe does fire). No container may be left behind (checked by label).
 *
 * In CI (CI=true) these tests never skip: docker missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { dockerRunArgs, type DockerRunOptions } from "../runtime/sandbox/docker_args.ts";
import {
  CONTAINER_USER,
  dockerVolumeName,
  GVISOR_RUNTIME,
} from "../runtime/sandbox/docker_names.ts";
import { listContainers, removeContainer, runDocker } from "../runtime/sandbox/docker_engine.ts";
import type { DockerLaunchOptions } from "../runtime/sandbox/docker_launch.ts";
import { removeOrphanContainers } from "../runtime/sandbox/docker_orphans.ts";
import { prepareDockerServer } from "../runtime/sandbox/docker_pull.ts";
import { DockerSandbox } from "../runtime/sandbox/docker_sandbox.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import {
  assertAllStopped,
  killLauncher,
  killNaming,
  type Launcher,
  openSession,
  startLauncher,
  stopLauncher,
  STUBBORN,
  waitForHeartbeats,
} from "./_stubborn.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import {
  checkFilesystemConfined,
  cli,
  filesystemScene,
  registryServer,
  resultText,
  ROOT,
  tempDir,
  toolEnv,
} from "./_helpers.ts";
import { CLI_DOCKER, dockerProblem, IMAGE } from "./_docker.ts";

const PROBE_MANIFEST = `${ROOT}/tests/testdata/docker_probe/manifest.jsonc`;

const problem = await dockerProblem("docker_test.ts: skipping");
const ignore = problem !== undefined;

const cache = tempDir("mcp-run-docker-cache-");
/** Options every docker launch in these tests uses: the stand-in image, host network for pull. */
const DOCKER: DockerLaunchOptions = {
  cacheRoot: cache,
  image: IMAGE,
  network: "host",
  source: toolEnv(),
};

/** Env for the CLI as a subprocess: the tool env plus HOME for the docker client. */
function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CACHE: cache, ...extra };
}

/** A temp folder the container user may write (tests run as root or as another uid). */
function sharedDir(prefix?: string): string {
  const dir = tempDir(prefix);
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** Waits until no mcp-run container is left (the engine removes `--rm` ones asynchronously). */
async function assertNoContainersLeft(): Promise<void> {
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    left = await ownContainers();
    if (left.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`containers left behind: ${left.join(" ")}`);
}

/**
 * The mcp-run containers of Deno servers (the stand-in image) under docker's own runtime, as
 * this file starts: test files that run in parallel have containers of other images, egress
 * sidecars of this image (labelled so), containers under gVisor's runtime, and deployments'
 * compose services (labelled with their project).
 */
async function ownContainers(): Promise<string[]> {
  const out = await runDocker([
    "ps",
    "-aq",
    "--filter",
    "label=mcp-run=1",
    "--filter",
    `ancestor=${IMAGE}`,
  ]);
  const ids = out.stdout.split("\n").map((id) => id.trim()).filter(Boolean);
  if (ids.length === 0) return [];
  // A container removed since ps is simply not listed.
  const inspected = await runDocker([
    "inspect",
    "--format",
    '{{.Name}} {{.HostConfig.Runtime}} {{index .Config.Labels "mcp-run.role"}}' +
    ' {{index .Config.Labels "com.docker.compose.project"}}',
    ...ids,
  ]);
  return inspected.stdout.split("\n").map((line) => line.trim().split(" "))
    .filter(([name, runtime, role, project]) =>
      name && runtime !== GVISOR_RUNTIME && role !== "egress" && !project
    )
    .map(([name]) => name.replace(/^\//, ""));
}

/** Resolves with `promise`, or fails the test after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitForContainer(server: string): Promise<string> {
  for (let i = 0; i < 120; i++) {
    const ids = await listContainers({ "mcp-run.server": server });
    if (ids.length > 0) return ids[0];
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no container for ${server} started`);
}

function dockerTest(
  name: string,
  fn: () => Promise<void>,
  options: { rootOnly?: boolean } = {},
): void {
  Deno.test({
    name,
    // Reported as ignored, never as passed, where it cannot run.
    ignore: ignore || (options.rootOnly === true && Deno.uid() !== 0),
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      try {
        await fn();
      } finally {
        await assertNoContainersLeft();
      }
    },
  });
}

/** Pulls a server into its volume (if needed) and checks the engine, image and volume. */
async function ready(server: ResolvedServer): Promise<void> {
  await (await prepareDockerServer(server, { ...DOCKER, progress: () => {} })).verify();
}

async function probeServer(dir: string): Promise<ResolvedServer> {
  const { manifest, dir: manifestDir } = await loadManifest(PROBE_MANIFEST);
  return resolveServer(manifest, {
    params: { dir },
    manifestDir,
    cacheRoot: cache,
    isolation: "docker",
  });
}

/**
 * Runs the probe fixture with Deno's wall removed (`-A`), so only the container stands between
 * it and the host, and returns its report. `argv` gives the docker argv (hardened or weakened).
 */
async function runProbe(args: string[], probeArgs: Record<string, unknown> = {}) {
  const client = new Client({ name: "docker-test", version: "1.0.0" });
  const transport = new StdioClientTransport({ command: "docker", args, stderr: "pipe" });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: "probe", arguments: probeArgs });
    return JSON.parse(resultText(result));
  } finally {
    await client.close();
  }
}

async function callTool(args: string[], tool: string, toolArgs: Record<string, unknown>) {
  const client = new Client({ name: "docker-test", version: "1.0.0" });
  const transport = new StdioClientTransport({ command: "docker", args, stderr: "pipe" });
  await client.connect(transport);
  try {
    return JSON.parse(resultText(await client.callTool({ name: tool, arguments: toolArgs })));
  } finally {
    await client.close();
  }
}

/** The hardened argv for the probe with Deno's permission checks off. */
function hardenedProbe(server: ResolvedServer, options: DockerRunOptions = {}): string[] {
  return dockerRunArgs(server, ["run", "-A", "--no-config", server.specifier], {
    image: IMAGE,
    volume: dockerVolumeName(server, { image: IMAGE }),
    ...options,
  });
}

/** A deliberately weak container for positive controls: root, default caps, exec /tmp. */
function weakProbe(server: ResolvedServer, extra: string[] = []): string[] {
  return [
    "run",
    "-i",
    "--rm",
    "--pull",
    "never",
    "--label",
    "mcp-run=1",
    "--label",
    "mcp-run.server=probe-control",
    "--user",
    "0:0",
    "--network",
    "none",
    "--tmpfs",
    "/tmp:rw,exec",
    "--mount",
    `type=volume,src=${dockerVolumeName(server, { image: IMAGE })},dst=/deno-dir,readonly`,
    "--mount",
    `type=bind,src=${server.localDir},dst=${server.localDir},readonly`,
    ...extra,
    IMAGE,
    "run",
    "-A",
    "--no-config",
    server.specifier,
  ];
}

dockerTest("filesystem in a container reads and writes only its mounted folder", async () => {
  const scene = filesystemScene(sharedDir(), 0o777);
  const { granted } = scene;
  const server = await registryServer("filesystem", cache, { dirs: granted });
  const sandbox = new DockerSandbox({ ...DOCKER, progress: () => {} });
  const plan = sandbox.plan(server);
  const container = plan.container;
  assert.equal(plan.args[plan.args.indexOf("--network") + 1], "none");
  const { client, close } = await connectServer(server, {
    cacheRoot: cache,
    sandbox,
    plan,
    onStderr: () => {},
  });
  try {
    const running = await runDocker(["ps", "-q", "--filter", `name=^${container}$`]);
    assert.notEqual(running.stdout.trim(), "", "the container runs under its predictable name");
    await checkFilesystemConfined(client, scene, ["/etc/hostname"]);
  } finally {
    await close();
  }
  const after = await runDocker(["ps", "-aq", "--filter", `name=^${container}$`]);
  assert.equal(after.stdout.trim(), "", "closing the client removes the container");
});

dockerTest(
  "memory in a container writes only its file, and a second run does not pull",
  async () => {
    const parent = sharedDir();
    const dir = join(parent, "graph");
    Deno.mkdirSync(dir);
    Deno.chmodSync(dir, 0o777);
    const canary = `CANARY-${crypto.randomUUID()}`;
    Deno.writeTextFileSync(join(parent, "canary.txt"), canary);
    const entity = JSON.stringify({
      entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }],
    });
    const first = await cli(
      ["call", "memory", "create_entities", entity, "-p", `dir=${dir}`, ...CLI_DOCKER],
      { env: cliEnv() },
    );
    assert.equal(first.code, 0, first.stderr);
    const second = await cli(
      ["call", "memory", "read_graph", "{}", "-p", `dir=${dir}`, ...CLI_DOCKER, "--offline"],
      { env: cliEnv() },
    );
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /wrote the first program/);
    assert.doesNotMatch(second.stderr, /Pulling/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["memory.jsonl"]);
    assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name).sort(), [
      "canary.txt",
      "graph",
    ]);
    assert.equal(Deno.readTextFileSync(join(parent, "canary.txt")), canary);
  },
);

dockerTest("everything in a container lists its tools and echoes through the CLI", async () => {
  const inspect = await cli(["inspect", "everything", ...CLI_DOCKER], { env: cliEnv() });
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /echo/);
  assert.match(inspect.stdout, /No network access/);
  const echo = await cli(
    ["call", "everything", "echo", '{"message":"from a container"}', ...CLI_DOCKER],
    { env: cliEnv() },
  );
  assert.equal(echo.code, 0, echo.stderr);
  assert.match(echo.stdout, /from a container/);
});

dockerTest("config --form docker prints an entry a client spawns as is", async () => {
  const dir = sharedDir();
  Deno.writeTextFileSync(join(dir, "hello.txt"), "hello from the host");
  const printed = await cli(
    ["config", "filesystem", "--form", "docker", "--image", IMAGE, "-p", `dirs=${dir}`, ...[
      "--network",
      "host",
    ]],
    { env: cliEnv() },
  );
  assert.equal(printed.code, 0, printed.stderr);
  const entry = JSON.parse(printed.stdout);
  assert.equal(entry.command, "docker");
  for (const flag of ["--read-only", "--cap-drop", "--security-opt", "--pids-limit", "--memory"]) {
    assert.ok(entry.args.includes(flag), flag);
  }
  assert.ok(entry.args.includes(`type=bind,src=${dir},dst=${dir}`));
  assert.equal(entry.args[entry.args.indexOf("--network") + 1], "none");
  assert.ok(!entry.args.includes("--name"), "config entries may run twice at once");

  assert.equal(await readAsClient(entry, join(dir, "hello.txt")), "hello from the host");
});

dockerTest("config --form deno prints an entry a client spawns as is", async () => {
  const dir = sharedDir();
  Deno.writeTextFileSync(join(dir, "hello.txt"), "hello natively");
  const printed = await cli(["config", "filesystem", "--form", "deno", "-p", `dirs=${dir}`], {
    env: cliEnv(),
  });
  assert.equal(printed.code, 0, printed.stderr);
  const entry = JSON.parse(printed.stdout);
  assert.ok(entry.args.includes("--cached-only") && entry.args.includes(`--allow-read=${dir}`));
  assert.equal(await readAsClient(entry, join(dir, "hello.txt")), "hello natively");
});

/**
 * Spawns a printed filesystem entry exactly as a client would (its command, args and env only),
 * lists its tools and reads one file through it.
 */
async function readAsClient(
  entry: { command: string; args: string[]; env?: Record<string, string> },
  path: string,
): Promise<string> {
  const client = new Client({ name: "docker-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({ ...entry, stderr: "pipe" }),
  );
  try {
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes("read_text_file"), tools.join(","));
    return resultText(await client.callTool({ name: "read_text_file", arguments: { path } }));
  } finally {
    await client.close();
  }
}

dockerTest("dockerRunArgs() drops privileges the probe finds in a weak container", async () => {
  const dir = sharedDir();
  const server = await probeServer(dir);
  await ready(server);
  const fakeSocket = join(sharedDir(), "docker.sock");
  Deno.writeTextFileSync(fakeSocket, "not a socket");

  const hard = await runProbe(hardenedProbe(server, { nameSuffix: "hard1" }));
  const weak = await runProbe(
    weakProbe(server, ["--mount", `type=bind,src=${fakeSocket},dst=/var/run/docker.sock`]),
  );

  assert.equal(weak.uid, "0", "control: the probe sees root");
  assert.notEqual(hard.uid, "0");
  assert.equal(`${hard.uid}:${hard.gid}`, CONTAINER_USER);

  assert.notEqual(weak.status.CapEff, "0000000000000000", "control: the probe sees capabilities");
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
    assert.equal(hard.status[set], "0000000000000000", set);
  }
  assert.equal(weak.status.NoNewPrivs, "0", "control: no-new-privileges is visible");
  assert.equal(hard.status.NoNewPrivs, "1");

  assert.match(weak.rootMount, /^rw(,|$)/, "control: a writable root is detected");
  assert.match(hard.rootMount, /^ro(,|$)/);
  assert.equal(weak.rootWrite, "ok", "control: a writable root is detected");
  assert.match(hard.rootWrite, /Read-only file system|PermissionDenied/);
  assert.match(hard.etcWrite, /Read-only file system|PermissionDenied/);

  assert.deepEqual(weak.dockerSocket, ["/var/run/docker.sock"], "control: a socket is detected");
  assert.deepEqual(hard.dockerSocket, []);

  assert.equal(weak.tmpExec, "ran", "control: an executable /tmp is detected");
  assert.match(hard.tmpExec, /PermissionDenied|Permission denied/);
});

dockerTest("dockerRunArgs() leaves only loopback when no network is declared", async () => {
  const server = await probeServer(sharedDir());
  await ready(server);
  const none = await runProbe(hardenedProbe(server, { network: "host" }));
  assert.equal(none.interfaces, "lo");
  // Positive control: the same probe, declaring a (loopback) host, on the host network.
  const withNet = { ...server, net: ["127.0.0.1:9"] };
  const host = await runProbe(hardenedProbe(withNet, { network: "host" }));
  assert.notEqual(host.interfaces, "lo", "control: other interfaces are detected");
  assert.ok(host.interfaces.split(",").includes("lo"));
});

dockerTest("dockerRunArgs() keeps host files outside the mounts out of reach", async () => {
  const granted = sharedDir();
  const outside = sharedDir();
  const canary = `CANARY-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(join(outside, "secret.txt"), canary);
  const server = await probeServer(granted);
  await ready(server);
  const request = {
    read: [join(outside, "secret.txt"), "/etc/shadow"],
    write: [join(outside, "secret.txt"), join(outside, "planted.txt"), join(granted, "ok.txt")],
  };
  const hard = await runProbe(hardenedProbe(server), request);
  assert.match(hard.read[join(outside, "secret.txt")], /NotFound/);
  assert.match(hard.write[join(outside, "planted.txt")], /NotFound|Read-only/);
  assert.equal(hard.write[join(granted, "ok.txt")], "ok", "the granted folder is writable");
  assert.match(Deno.readTextFileSync(join(granted, "ok.txt")), /^probe /);
  assert.equal(Deno.readTextFileSync(join(outside, "secret.txt")), canary);
  assert.deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["secret.txt"]);
  assert.ok(!JSON.stringify(hard).includes(canary));
  // Positive control: mounted, the same probe reads the canary.
  const weak = await runProbe(
    weakProbe(server, ["--mount", `type=bind,src=${outside},dst=${outside},readonly`]),
    { read: [join(outside, "secret.txt")] },
  );
  assert.equal(weak.read[join(outside, "secret.txt")], canary);
});

dockerTest(
  "dockerRunArgs() --pids-limit stops a fork bomb that runs in a weak container",
  async () => {
    const server = await probeServer(sharedDir());
    await ready(server);
    const limited = await callTool(hardenedProbe(server, { pidsLimit: 48 }), "fork_bomb", {
      count: 100,
    });
    assert.ok(limited.started < 100, JSON.stringify(limited));
    assert.notEqual(limited.error, "");
    const control = await callTool(weakProbe(server), "fork_bomb", { count: 100 });
    assert.equal(control.started, 100, JSON.stringify(control));
  },
);

dockerTest(
  "a memory bomb is killed by --memory and the launcher reports a clean error",
  async () => {
    const server = await probeServer(sharedDir());
    const bomb = async (memory: string) => {
      let reported: Error | undefined;
      const connected = await connectServer(server, {
        cacheRoot: cache,
        sandbox: new DockerSandbox({ ...DOCKER, memory, progress: () => {} }),
        onStderr: () => {},
      });
      connected.transport.onerror = (error) => reported = error;
      try {
        const result = await connected.client.callTool({
          name: "memory_bomb",
          arguments: { mb: 200 },
        });
        return { result: JSON.parse(resultText(result)), reported };
      } catch (error) {
        return { error: error as Error, reported };
      } finally {
        await connected.close();
      }
    };
    const control = await bomb("512m");
    assert.equal(control.result?.allocatedMb, 200, "control: the bomb completes with room");
    const killed = await bomb("96m");
    assert.ok(killed.error, "the call fails");
    assert.match(String(killed.reported?.message), /exited with code 137|killed/);
  },
);

dockerTest(
  "mcp-run run --isolation docker leaves no container on disconnect, signals or a crash",
  async () => {
    const dir = sharedDir();
    const args = [
      "run",
      "-A",
      "--quiet",
      `${ROOT}/mod.ts`,
      "run",
      PROBE_MANIFEST,
      "-p",
      `dir=${dir}`,
    ];
    // Client disconnect.
    const client = new Client({ name: "docker-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({
        command: Deno.execPath(),
        args: [...args, ...CLI_DOCKER],
        env: { ...toolEnv(), ...cliEnv() },
        stderr: "pipe",
      }),
    );
    const id = await waitForContainer("docker-probe");
    assert.ok(id);
    await client.close();
    await assertNoContainersLeft();

    for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
      const launcher = new Deno.Command(Deno.execPath(), {
        args: [...args, ...CLI_DOCKER],
        env: { ...toolEnv(), ...cliEnv() },
        clearEnv: true,
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitForContainer("docker-probe");
      launcher.kill(signal);
      const status = await within(launcher.status, 20000, `the launcher to exit on ${signal}`);
      assert.equal(status.code, { SIGTERM: 143, SIGINT: 130, SIGKILL: 137 }[signal], signal);
      await launcher.stdin.close().catch(() => {});
      await assertNoContainersLeft();
    }
  },
);

/** The pid of a process that has already exited (no launcher runs under it). */
async function exitedPid(): Promise<number> {
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  return dead.pid;
}

/** Starts a long-running container labelled as mcp-run's, as if started by launcher `pid`. */
function startLabelled(
  name: string,
  pid: number,
  options: { rm?: boolean; pidns?: string } = {},
) {
  return runDocker([
    "run",
    "-d",
    ...(options.rm ? ["--rm"] : []),
    "--pull",
    "never",
    "--network",
    "none",
    "--name",
    name,
    "--label",
    "mcp-run=1",
    "--label",
    `mcp-run.launcher-host=${Deno.hostname()}`,
    "--label",
    `mcp-run.launcher-pid=${pid}`,
    ...(options.pidns ? ["--label", `mcp-run.launcher-pidns=${options.pidns}`] : []),
    IMAGE,
    "eval",
    "setTimeout(() => {}, 60000)",
  ]);
}

dockerTest(
  "removeOrphanContainers() removes containers whose launcher died, only those",
  async () => {
    const deadPid = await exitedPid();
    const orphan = `mcp-run-orphan-${deadPid}`;
    const alive = `mcp-run-alive-${deadPid}`;
    // A launcher in another PID namespace: its pid is not this namespace's to judge.
    const elsewhere = `mcp-run-elsewhere-${deadPid}`;
    const ownNs = /\[([0-9]+)\]/.exec(Deno.readLinkSync("/proc/self/ns/pid"))![1];
    assert.equal((await startLabelled(orphan, deadPid, { rm: true, pidns: ownNs })).code, 0);
    assert.equal((await startLabelled(alive, 1, { rm: true })).code, 0);
    assert.equal((await startLabelled(elsewhere, deadPid, { rm: true, pidns: "1" })).code, 0);
    try {
      const removed = await removeOrphanContainers();
      assert.deepEqual(removed.filter((n) => [orphan, alive, elsewhere].includes(n)), [orphan]);
      // Only this test's two containers count: other test files run servers meanwhile.
      const left = await runDocker([
        "ps",
        "-a",
        "--filter",
        "label=mcp-run=1",
        "--format",
        "{{.Names}}",
      ]);
      const own = left.stdout.trim().split("\n")
        .filter((n) => [orphan, alive, elsewhere].includes(n)).sort();
      assert.deepEqual(own, [alive, elsewhere].sort(), "a live launcher's and another's stay");
    } finally {
      await removeContainer(alive);
      await removeContainer(orphan);
      await removeContainer(elsewhere);
    }
  },
);

dockerTest(
  "docker isolation fails with one clear error when docker is missing or down",
  async () => {
    const missing = await cli(["call", "everything", "echo", "{}", ...CLI_DOCKER], {
      env: { ...cliEnv(), PATH: "/nonexistent" },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /the "docker" command is not installed\. Install Docker Engine/);
    assert.equal(missing.stdout, "");
    const down = await cli(["call", "everything", "echo", "{}", ...CLI_DOCKER], {
      env: cliEnv({ DOCKER_HOST: "unix:///nonexistent/docker.sock" }),
    });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /the Docker engine is not running or not reachable.*Start it/s);
    assert.equal(down.stdout, "");
    // Positive control: the same call with docker reachable works.
    const ok = await cli(
      ["call", "everything", "echo", '{"message":"up"}', ...CLI_DOCKER],
      { env: cliEnv() },
    );
    assert.equal(ok.code, 0, ok.stderr);
  },
);

dockerTest(
  "mcp-run flags --isolation docker prints the docker command; docker options need it",
  async () => {
    const dir = sharedDir();
    const flags = await cli(["flags", "filesystem", "-p", `dirs=${dir}`, ...CLI_DOCKER], {
      env: cliEnv(),
    });
    assert.equal(flags.code, 0, flags.stderr);
    assert.match(flags.stdout, /^docker run -i --rm /);
    assert.match(flags.stdout, /--network none/);
    assert.match(flags.stdout, new RegExp(`${IMAGE} run --no-prompt`));
    // A command to copy carries no launcher pid: a later launch would take its container for a
    // dead launcher's leftover and remove it. A launch's own plan does carry it (control).
    assert.match(flags.stdout, /--label mcp-run=1 /);
    assert.doesNotMatch(flags.stdout, /launcher-pid/);
    const dry = await cli(["run", "filesystem", "-p", `dirs=${dir}`, "--dry-run", ...CLI_DOCKER], {
      env: cliEnv(),
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /--label mcp-run\.launcher-pid=[0-9]+ /);
    const bad = await cli(["flags", "filesystem", "-p", `dirs=${dir}`, "--image", IMAGE], {
      env: cliEnv(),
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--image needs --isolation docker/);
    const wrong = await cli(["flags", "filesystem", "-p", `dirs=${dir}`, "--isolation", "vm"], {
      env: cliEnv(),
    });
    assert.equal(wrong.code, 2);
  },
);

dockerTest(
  "a pulled server whose code volume vanished fails with exit 4 and what to run",
  async () => {
    const dir = sharedDir();
    const ok = await cli(
      ["call", PROBE_MANIFEST, "probe", "{}", "-p", `dir=${dir}`, ...CLI_DOCKER],
      {
        env: cliEnv(),
      },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const server = await probeServer(dir);
    const volume = dockerVolumeName(server, { image: IMAGE });
    assert.equal((await runDocker(["volume", "rm", volume])).code, 0);
    const gone = await cli(
      ["call", PROBE_MANIFEST, "probe", "{}", "-p", `dir=${dir}`, ...CLI_DOCKER, "--offline"],
      { env: cliEnv() },
    );
    assert.equal(gone.code, 4, gone.stderr);
    assert.match(gone.stderr, new RegExp(`code volume ${volume} of "docker-probe" is gone`));
    assert.match(gone.stderr, /run mcp-run pull docker-probe --isolation docker/);
    assert.equal(gone.stdout, "");
    const again = await cli(
      ["call", PROBE_MANIFEST, "probe", "{}", "-p", `dir=${dir}`, ...CLI_DOCKER],
      { env: cliEnv() },
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Pulling .* into docker volume/);
    const labels = await runDocker(["volume", "inspect", "--format", "{{json .Labels}}", volume]);
    assert.equal(JSON.parse(labels.stdout)["mcp-run"], "1", "the volume is a pulled one again");
  },
);

/** Kills the launcher by SIGKILL; asserts its stubborn servers and their containers went with it. */
async function assertKillLeavesNothing(launcher: Launcher, dir: string): Promise<void> {
  await killLauncher(launcher);
  await assertAllStopped(dir, 4000);
  assert.deepEqual(await listContainers({ "mcp-run.server": "stubborn" }), []);
}

/** Clean-up after a stubborn launch, whatever happened: launcher, servers, containers. */
async function cleanUpStubborn(launcher: Launcher, dir: string): Promise<void> {
  stopLauncher(launcher);
  killNaming(dir);
  for (const id of await listContainers({ "mcp-run.server": "stubborn" })) {
    await removeContainer(id).catch(() => {}); // may be under way already
  }
}

dockerTest(
  "mcp-run run --isolation docker killed by SIGKILL leaves no container and no server running",
  async () => {
    const dir = sharedDir("mcp-run-stubborn-");
    const launcher = startLauncher(["run", STUBBORN, "-p", `dir=${dir}`, ...CLI_DOCKER], cliEnv());
    try {
      // Positive control: the server runs in its container and its heartbeat advances.
      await waitForHeartbeats(dir, 1);
      assert.equal((await listContainers({ "mcp-run.server": "stubborn" })).length, 1);
      await assertKillLeavesNothing(launcher, dir);
    } finally {
      await cleanUpStubborn(launcher, dir);
    }
  },
);

dockerTest(
  "mcp-run serve --isolation docker killed by SIGKILL leaves none of its sessions' containers",
  async () => {
    const dir = sharedDir("mcp-run-stubborn-");
    const launcher = startLauncher(
      ["serve", STUBBORN, "-p", `dir=${dir}`, ...CLI_DOCKER, "--port", "0"],
      cliEnv(),
    );
    try {
      const [, url] = await launcher.waitFor(/on (http:\/\/\S+)/);
      await openSession(url);
      await openSession(url);
      // Positive control: two sessions, two containers, both heartbeats advance.
      await waitForHeartbeats(dir, 2);
      assert.equal((await listContainers({ "mcp-run.server": "stubborn" })).length, 2);
      await assertKillLeavesNothing(launcher, dir);
    } finally {
      await cleanUpStubborn(launcher, dir);
    }
  },
);

dockerTest(
  "mcp-run call --isolation docker removes orphaned containers before it exits",
  async () => {
    const call = () =>
      cli(["call", "everything", "echo", '{"message":"hi"}', ...CLI_DOCKER], { env: cliEnv() });
    assert.equal((await call()).code, 0, "pulled"); // later calls take the short path
    const deadPid = await exitedPid();
    const orphan = `mcp-run-orphan-${deadPid}`;
    assert.equal((await startLabelled(orphan, deadPid)).code, 0);
    try {
      // Positive control: the orphan is there before the call.
      assert.equal((await listContainers({ "mcp-run.launcher-pid": String(deadPid) })).length, 1);
      const r = await call();
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /hi/);
      assert.deepEqual(
        await listContainers({ "mcp-run.launcher-pid": String(deadPid) }),
        [],
        "the orphan was removed before call exited",
      );
    } finally {
      await removeContainer(orphan);
    }
  },
);

/** A docker client that logs its arguments and refuses `docker pull` (no registry here). */
function loggingDocker(): { path: string; log: string } {
  const bin = tempDir("mcp-run-fake-docker-");
  const log = join(bin, "calls.log");
  const real = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").map((d) => join(d, "docker"))
    .find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    }) ?? "/usr/bin/docker";
  Deno.writeTextFileSync(
    join(bin, "docker"),
    `#!/bin/sh\necho "$*" >> '${log}'\n` +
      `if [ "$1" = pull ]; then echo "refused by the test: no registry" >&2; exit 1; fi\n` +
      `exec '${real}' "$@"\n`,
  );
  Deno.chmodSync(join(bin, "docker"), 0o755);
  return { path: bin, log };
}

function pulls(log: string): string[] {
  try {
    return Deno.readTextFileSync(log).split("\n").filter((line) => line.startsWith("pull "));
  } catch {
    return [];
  }
}

dockerTest(
  "mcp-run refuses unpinned images and never fetches an image on a launch",
  async () => {
    for (const image of ["denoland/deno:latest", "denoland/deno"]) {
      const r = await cli(["run", "everything", "--isolation", "docker", "--image", image], {
        env: cliEnv(),
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`Cannot use "${image}" as the image: .*pinned version`));
    }
    const config = join(tempDir(), "config.json");
    Deno.writeTextFileSync(config, `{ "isolation": "docker", "image": "denoland/deno:latest" }`);
    const fromConfig = await cli(["run", "everything"], {
      env: cliEnv({ MCP_RUN_CONFIG: config }),
    });
    assert.equal(fromConfig.code, 2, fromConfig.stderr);
    assert.match(fromConfig.stderr, new RegExp(`"${config}": .*latest is a moving tag`));

    // A pinned tag the engine lacks: no launch command fetches it.
    const docker = loggingDocker();
    const env = cliEnv({ PATH: `${docker.path}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` });
    const missing = ["--isolation", "docker", "--image", "mcp-run-test/deno:0.0.0-absent"];
    const dir = sharedDir();
    const launches = [
      ["call", "everything", "echo", '{"message":"x"}', ...missing],
      ["inspect", "everything", ...missing],
      ["run", "everything", ...missing],
      ["call", "memory", "read_graph", "{}", "-p", `dir=${dir}`, ...missing],
    ];
    for (const args of launches) {
      const r = await cli(args, { env, stdin: "" });
      assert.equal(r.code, 4, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /image mcp-run-test\/deno:0\.0\.0-absent is not present/);
      assert.match(r.stderr, /run mcp-run pull \S+ --isolation docker --image mcp-run-test/);
    }
    assert.deepEqual(pulls(docker.log), [], "no launch ran docker pull");
    // Positive control: the canary fires; the pull command does fetch the image.
    const pull = await cli(["pull", "everything", ...missing], { env });
    assert.equal(pull.code, 1, pull.stderr);
    assert.match(pull.stderr, /Cannot pull the image mcp-run-test\/deno:0\.0\.0-absent/);
    assert.deepEqual(pulls(docker.log), ["pull -- mcp-run-test/deno:0.0.0-absent"]);
  },
);

dockerTest(
  "${package_dir} works under --isolation docker: inspect and the config --form docker entry",
  async () => {
    const pull = await cli(["pull", "context7", ...CLI_DOCKER], { env: cliEnv() });
    assert.equal(pull.code, 0, pull.stderr);
    // No network for the server itself: listing tools needs none.
    const offline = ["--isolation", "docker", "--image", IMAGE, "--network", "none"];
    const inspect = await cli(["inspect", "context7", "--format", "json", ...offline], {
      env: cliEnv(),
    });
    assert.equal(inspect.code, 0, inspect.stderr);
    const tools = JSON.parse(inspect.stdout).tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes("resolve-library-id"), inspect.stdout);
    assert.ok(
      JSON.parse(inspect.stdout).permissions.some((l: string) => l.includes("/deno-dir/npm/")),
      "the grant points inside the code volume",
    );

    const config = await cli(["config", "context7", "--form", "docker", ...offline], {
      env: cliEnv(),
    });
    assert.equal(config.code, 0, config.stderr);
    const entry = JSON.parse(config.stdout) as { command: string; args: string[] };
    assert.ok(!entry.args.some((a) => a.includes(cache)), "no host cache path in the entry");
    const client = new Client({ name: "docker-test", version: "1.0.0" });
    await client.connect(
      new StdioClientTransport({ command: entry.command, args: entry.args, stderr: "pipe" }),
    );
    try {
      const listed = (await client.listTools()).tools.map((t: { name: string }) => t.name);
      assert.ok(listed.includes("query-docs"), listed.join(", "));
    } finally {
      await client.close();
    }
  },
);

dockerTest(
  "mcp-run as root runs a container as the owner of its write grant, or refuses a root-owned one",
  async () => {
    const dir = tempDir("mcp-run-root-owned-");
    Deno.chmodSync(dir, 0o755);
    const entities = JSON.stringify({
      entities: [{ name: "Ada", entityType: "person", observations: ["first program"] }],
    });
    const call = () =>
      cli(["call", "memory", "create_entities", entities, "-p", `dir=${dir}`, ...CLI_DOCKER], {
        env: cliEnv(),
      });
    const refused = await call();
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, new RegExp(`Cannot let "memory" write "${dir}" in docker`));
    assert.match(refused.stderr, /chown -R 1993:1993/);
    assert.equal(refused.stdout, "");
    // Positive control: the same folder given to a user is written, with that user's ownership.
    Deno.chownSync(dir, 4242, 4242);
    const ok = await call();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(Deno.statSync(join(dir, "memory.jsonl")).uid, 4242);
  },
  { rootOnly: true }, // only a root launcher picks the container's user this way
);

Deno.test("mcp-run refuses a docker mount path it cannot write (exit 3) and bad limits (exit 2)", async () => {
  const parent = sharedDir();
  const dir = join(parent, 'a,b"c');
  Deno.mkdirSync(dir);
  const flags = await cli(["flags", "filesystem", "-p", `dirs=${dir}`, "--isolation", "docker"], {
    env: cliEnv(),
  });
  assert.equal(flags.code, 3, flags.stderr);
  assert.match(flags.stderr, /Cannot grant read access to ".*a,b\"c" in docker: paths containing/);
  // The docker sandbox refuses it on every path: the plan (--dry-run, run) and the pull step.
  for (const command of [["run", "--dry-run"], ["pull"]]) {
    const r = await cli([...command, "filesystem", "-p", `dirs=${dir}`, "--isolation", "docker"], {
      env: cliEnv(),
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Cannot grant read access to ".*a,b\"c" in docker: paths containing/);
  }
  for (const [flag, value] of [["--memory", "lots"], ["--cpus", "many"], ["--cpus", "0"]]) {
    const r = await cli(["flags", "everything", "--isolation", "docker", flag, value], {
      env: cliEnv(),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`Cannot use "${value}" as ${flag}`));
  }
  // Positive control: a plain folder and sane limits print the command.
  const ok = await cli([
    "flags",
    "filesystem",
    "-p",
    `dirs=${parent}`,
    "--isolation",
    "docker",
    "--memory",
    "256m",
    "--cpus",
    "0.5",
  ], { env: cliEnv() });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /--memory 256m/);
});
