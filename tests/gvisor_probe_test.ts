/**
 * Probes inside the gVisor sandbox: the probe fixture (tests/testdata/docker_probe), started by
 * {@linkcode GvisorSandbox} through connectServer as the CLI does, with Deno's permission checks
 * taken out of the plan (`-A`) so that only the container and gVisor stand between it and the
 * host. It sees gVisor's kernel, not the host's; no capabilities, a non-root user and a read-only
 * root; no network interface but its own loopback; no host file outside its mounts. Each probe
 * has a positive control: the same probe under the docker (runc) sandbox sees the host's kernel
 * and, given the host network, reaches a host listener; the same plan without `--read-only` alone
 * writes a world-writable folder on the image's root; a weakened container under gVisor (root,
 * default capabilities, writable root, an extra mount) shows what the probe detects; the host
 * itself reaches its listener and reads its canary. No container is left after each test.
 *
 * In CI (CI=true) these tests never skip: docker or gVisor missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectServer } from "../runtime/sandbox/connect.ts";
import type { DockerLaunchPlan } from "../runtime/sandbox/docker_launch.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import {
  CONTAINER_USER,
  dockerVolumeName,
  GVISOR_RUNTIME,
} from "../runtime/sandbox/docker_names.ts";
import { DockerSandbox } from "../runtime/sandbox/docker_sandbox.ts";
import { GvisorSandbox } from "../runtime/sandbox/gvisor_sandbox.ts";
import type { Sandbox } from "../runtime/sandbox/sandbox.ts";
import { ServerExitedError } from "../runtime/sandbox/server_process.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { resultText, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { IMAGE } from "./_docker.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { onImage, OPEN_FOLDER, openRootImage, withoutReadOnly } from "./_open_root_image.ts";
import { removeOnExit } from "./_security.ts";
import { waitGone } from "./_catalogue_container.ts";

const PROBE_MANIFEST = `${ROOT}/tests/testdata/docker_probe/manifest.jsonc`;
/** The probe's name here (its containers' `mcp-run.server` label), apart from docker_test.ts's. */
const NAME = "gvisor-probe";

const problem = await gvisorProblem("gvisor_probe_test.ts: skipping");
const ignore = problem !== undefined;

const work = ignore ? "/nonexistent" : removeOnExit(tempDir("mcp-run-gvisor-probe-"));
const cache = join(work, "cache");
const OPTIONS = {
  cacheRoot: cache,
  image: IMAGE,
  source: toolEnv(),
  approve: true,
  progress: () => {},
};

// deno-lint-ignore no-explicit-any
type Report = any;

/** A folder the container user may write. */
function sharedDir(): string {
  const dir = Deno.makeTempDirSync({ dir: work });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

async function probeServer(dir: string): Promise<ResolvedServer> {
  const { manifest, dir: manifestDir } = await loadManifest(PROBE_MANIFEST);
  return resolveServer({ ...manifest, name: NAME }, {
    params: { dir },
    manifestDir,
    cacheRoot: cache,
    isolation: "gvisor",
  });
}

/**
 * The sandbox's plan with Deno's permission flags replaced by `-A`: everything else (runtime,
 * user, capabilities, mounts, limits) as the sandbox planned it; the engine's network as planned
 * unless `network` names another.
 */
function containerWallOnly(plan: DockerLaunchPlan, network?: string): DockerLaunchPlan {
  const at = plan.args.indexOf(IMAGE);
  assert.ok(at > 0, `the plan runs ${IMAGE}: ${plan.args.join(" ")}`);
  const deno = plan.args.slice(at + 1).filter((a) => !/^--(allow|deny)-|^--ignore-env$/.test(a));
  assert.equal(deno[0], "run");
  const engine = plan.args.slice(0, at);
  if (network) engine[engine.indexOf("--network") + 1] = network;
  return { ...plan, args: [...engine, IMAGE, "run", "-A", ...deno.slice(1)] };
}

/**
 * Starts the probe in a sandbox (container wall only), calls one tool, stops it. `edit` changes
 * the plan once more (for positive controls).
 */
async function probeIn(
  sandbox: Sandbox,
  server: ResolvedServer,
  tool = "probe",
  args: Record<string, unknown> = {},
  network?: string,
  edit: (plan: LaunchPlan) => LaunchPlan = (plan) => plan,
): Promise<Report> {
  const plan = edit(containerWallOnly(sandbox.plan(server) as DockerLaunchPlan, network));
  const connected = await connectServer(server, {
    ...OPTIONS,
    sandbox,
    plan,
    onStderr: () => {},
  });
  try {
    const result = await connected.request(
      "tools/call",
      (options) => connected.client.callTool({ name: tool, arguments: args }, undefined, options),
    );
    return JSON.parse(resultText(result as { content?: unknown }));
  } finally {
    await connected.close();
  }
}

/**
 * A deliberately weak container under gVisor, for positive controls: root, default
 * capabilities, a writable root and an executable /tmp, plus `extra` engine options.
 */
async function weakProbe(
  server: ResolvedServer,
  args: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<Report> {
  const client = new Client({ name: "gvisor-probe-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: "docker",
      args: [
        ...["run", "-i", "--rm", "--pull", "never", "--runtime", GVISOR_RUNTIME],
        ...["--label", "mcp-run=1", "--label", `mcp-run.server=${NAME}`],
        ...["--user", "0:0", "--network", "none", "--tmpfs", "/tmp:rw,exec"],
        "--mount",
        `type=volume,src=${dockerVolumeName(server, { image: IMAGE })},dst=/deno-dir,readonly`,
        "--mount",
        `type=bind,src=${server.localDir},dst=${server.localDir},readonly`,
        ...extra,
        ...[IMAGE, "run", "-A", "--no-config", server.specifier],
      ],
      stderr: "pipe",
    }),
  );
  try {
    return JSON.parse(resultText(await client.callTool({ name: "probe", arguments: args })));
  } finally {
    await client.close();
  }
}

/** Asserts that no container of the probe is left (the engine removes them asynchronously). */
async function noneLeft(): Promise<void> {
  assert.deepEqual(await waitGone(NAME), [], "containers left");
}

function gvisorTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      try {
        await fn();
      } finally {
        await noneLeft();
      }
    },
  });
}

gvisorTest("GvisorSandbox runs the server on gVisor's kernel, not the host's", async () => {
  const server = await probeServer(sharedDir());
  const gvisor = new GvisorSandbox(OPTIONS);
  const plan = gvisor.plan(server);
  assert.equal(plan.args[plan.args.indexOf("--runtime") + 1], GVISOR_RUNTIME);
  const inside = await probeIn(gvisor, server);
  assert.equal(inside.kernel, "4.4.0", JSON.stringify(inside));
  assert.notEqual(inside.kernel, Deno.osRelease());
  // Positive control: the same probe in the docker (runc) sandbox sees the host's kernel.
  const docker = new DockerSandbox(OPTIONS);
  assert.ok(!docker.plan(server).args.includes("--runtime"));
  const control = await probeIn(docker, server);
  assert.equal(control.kernel, Deno.osRelease(), JSON.stringify(control));
});

gvisorTest("GvisorSandbox drops capabilities and runs non-root on a read-only root", async () => {
  const dir = sharedDir();
  const server = await probeServer(dir);
  const hard = await probeIn(new GvisorSandbox(OPTIONS), server, "probe", {
    write: [join(dir, "ok.txt")],
  });
  assert.equal(`${hard.uid}:${hard.gid}`, CONTAINER_USER);
  for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd"]) {
    assert.equal(hard.status[set], "0000000000000000", `${set}: ${JSON.stringify(hard.status)}`);
  }
  // gVisor's /proc/self/status has no CapAmb line; where a kernel shows one, it is empty too.
  assert.ok([undefined, "0000000000000000"].includes(hard.status.CapAmb), hard.status.CapAmb);
  assert.match(hard.rootWrite, /Read-only file system|PermissionDenied/);
  assert.match(hard.etcWrite, /Read-only file system|PermissionDenied/);
  // The root is read-only: on a copy of the image with a world-writable folder on its root,
  // which the container user may write, the write is refused as a read-only file system...
  const open = await openRootImage(IMAGE);
  const onOpen = (plan: LaunchPlan) => onImage(plan, IMAGE, open);
  const target = `${OPEN_FOLDER}/probe.txt`;
  const gvisor = new GvisorSandbox(OPTIONS);
  const sealed = await probeIn(gvisor, server, "probe", { write: [target] }, undefined, onOpen);
  assert.equal(`${sealed.uid}:${sealed.gid}`, CONTAINER_USER);
  assert.match(sealed.write[target], /Read-only file system/, JSON.stringify(sealed.write));
  // ...and the same plan without --read-only alone (same user, no capabilities) lets it through.
  const unsealed = await probeIn(
    gvisor,
    server,
    "probe",
    { write: [target] },
    undefined,
    (plan) => withoutReadOnly(onOpen(plan)),
  );
  assert.equal(`${unsealed.uid}:${unsealed.gid}`, CONTAINER_USER);
  assert.equal(unsealed.status.CapEff, "0000000000000000");
  assert.equal(unsealed.write[target], "ok", JSON.stringify(unsealed.write));
  assert.match(hard.tmpExec, /PermissionDenied|Permission denied/);
  assert.deepEqual(hard.dockerSocket, []);
  // Positive control inside: the granted folder takes a file.
  assert.equal(hard.write[join(dir, "ok.txt")], "ok");
  assert.match(Deno.readTextFileSync(join(dir, "ok.txt")), /^probe /);

  // Positive control: a weak container under gVisor shows root, capabilities, a root it may
  // write and an executable /tmp to the same probe.
  const weak = await weakProbe(server);
  assert.equal(weak.kernel, "4.4.0");
  assert.equal(weak.uid, "0");
  assert.notEqual(weak.status.CapEff, "0000000000000000");
  assert.equal(weak.rootWrite, "ok");
  assert.equal(weak.tmpExec, "ran");
});

gvisorTest(
  "GvisorSandbox gives the server only its own loopback: a host listener is never reached",
  async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    let connections = 0;
    const accepting = (async () => {
      for await (const conn of listener) {
        connections++;
        conn.close();
      }
    })().catch(() => {});
    try {
      const server = await probeServer(sharedDir());
      const gvisor = new GvisorSandbox(OPTIONS);
      const planned = gvisor.plan(server);
      assert.equal(planned.args[planned.args.indexOf("--network") + 1], "none");
      const seen = await probeIn(gvisor, server);
      assert.equal(seen.interfaces, "lo");
      const loopback = await probeIn(gvisor, server, "connect", { host: "127.0.0.1", port });
      assert.match(loopback.result, /ConnectionRefused/, JSON.stringify(loopback));
      const bridge = await probeIn(gvisor, server, "connect", { host: "172.17.0.1", port });
      assert.match(bridge.result, /^error: /, JSON.stringify(bridge));
      // No route at all: a refusal would mean a route reached a host that is not listening there.
      assert.doesNotMatch(bridge.result, /ConnectionRefused/, JSON.stringify(bridge));
      // Even a plan that asked the engine for the host's network gets none under gVisor: the
      // runtime is registered with --network=none, so only its own loopback is there.
      const host = "host";
      const askedSeen = await probeIn(gvisor, server, "probe", {}, host);
      assert.equal(askedSeen.interfaces, "lo", JSON.stringify(askedSeen));
      const asked = await probeIn(gvisor, server, "connect", { host: "127.0.0.1", port }, host);
      assert.match(asked.result, /ConnectionRefused/, JSON.stringify(asked));
      assert.equal(connections, 0, "the listener was reached from inside");

      // Positive controls: the host reaches the listener, and so does the same probe in the
      // docker (runc) sandbox given the host's network.
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      const runc = await probeIn(new DockerSandbox(OPTIONS), server, "connect", {
        host: "127.0.0.1",
        port,
      }, host);
      assert.equal(runc.result, "ok", JSON.stringify(runc));
      for (let i = 0; i < 40 && connections < 2; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(connections, 2);
    } finally {
      listener.close();
      await accepting;
    }
  },
);

gvisorTest(
  "GvisorSandbox keeps host files outside the mounts out of reach; the canary is untouched",
  async () => {
    const granted = sharedDir();
    const outside = sharedDir();
    const canary = `CANARY-${crypto.randomUUID()}`;
    const secret = join(outside, "secret.txt");
    Deno.writeTextFileSync(secret, canary);
    const server = await probeServer(granted);
    const hard = await probeIn(new GvisorSandbox(OPTIONS), server, "probe", {
      read: [secret, join(granted, "..", outside.split("/").at(-1)!, "secret.txt"), "/etc/shadow"],
      write: [secret, join(outside, "planted.txt"), join(granted, "ok.txt")],
    });
    assert.match(hard.read[secret], /NotFound/);
    assert.match(hard.write[secret], /NotFound|Read-only/);
    assert.match(hard.write[join(outside, "planted.txt")], /NotFound|Read-only/);
    assert.equal(hard.write[join(granted, "ok.txt")], "ok", "the granted folder is writable");
    assert.ok(!JSON.stringify(hard).includes(canary));
    assert.equal(Deno.readTextFileSync(secret), canary);
    assert.deepEqual([...Deno.readDirSync(outside)].map((e) => e.name), ["secret.txt"]);
    // Positive control: mounted into a container under gVisor, the same probe reads the canary.
    const weak = await weakProbe(server, { read: [secret] }, [
      "--mount",
      `type=bind,src=${outside},dst=${outside},readonly`,
    ]);
    assert.equal(weak.read[secret], canary);
  },
);

/** Runs a probe that should end the sandbox; returns how it ended (or fails the test). */
async function endedBy(probe: Promise<Report>): Promise<ServerExitedError> {
  const error = await probe.then(
    (report) => assert.fail(`the sandbox survived: ${JSON.stringify(report)}`),
    (error: Error) => error,
  );
  assert.ok(error instanceof ServerExitedError, String(error));
  return error;
}

gvisorTest(
  "GvisorSandbox stops a fork bomb at its process cap: the sandbox ends, the host does not",
  async () => {
    const server = await probeServer(sharedDir());
    // The cap counts gVisor's own host threads and processes too: the bomb ends the sandbox
    // long before 100 children.
    const bomb = await endedBy(
      probeIn(new GvisorSandbox({ ...OPTIONS, pidsLimit: 256 }), server, "fork_bomb", {
        count: 100,
      }),
    );
    assert.notEqual(bomb.code, 0, bomb.message);
    await noneLeft();
    // Positive control: with a cap far above it, the same bomb starts all 100 under gVisor.
    const roomy = new GvisorSandbox({ ...OPTIONS, pidsLimit: 4096 });
    const control = await probeIn(roomy, server, "fork_bomb", { count: 100 });
    assert.equal(control.started, 100, JSON.stringify(control));
  },
);

gvisorTest(
  "GvisorSandbox stops a memory bomb at its memory cap, and the launcher says how it ended",
  async () => {
    const server = await probeServer(sharedDir());
    const killed = await endedBy(
      probeIn(new GvisorSandbox({ ...OPTIONS, memory: "160m" }), server, "memory_bomb", {
        mb: 300,
      }),
    );
    assert.equal(killed.code, 137, killed.message);
    await noneLeft();
    // Positive control: with room, the same bomb completes under gVisor.
    const roomy = new GvisorSandbox({ ...OPTIONS, memory: "768m" });
    const control = await probeIn(roomy, server, "memory_bomb", { mb: 300 });
    assert.equal(control.allocatedMb, 300, JSON.stringify(control));
  },
);
