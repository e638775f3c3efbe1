/**
 * End to end under gVisor, without network: the registry's filesystem and memory servers answer
 * the real MCP SDK client through `mcp-run run --isolation gvisor` (stdio) and `mcp-run serve
 * --isolation gvisor` (Streamable HTTP, one container per session). While they run, their
 * containers are inspected: each runs under the gVisor runtime with only the granted folder
 * mounted; after the clients close, none is left. The canaries: files beside the granted folder,
 * which the servers never read nor change.
 *
 * In CI (CI=true) these tests never skip: docker or gVisor missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { GVISOR_RUNTIME } from "../runtime/sandbox/docker_names.ts";
import {
  checkFilesystemConfined,
  filesystemScene,
  resultText,
  ROOT,
  tempDir,
  toolEnv,
} from "./_helpers.ts";
import { callText, connectClient } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";
import { removeOnExit } from "./_security.ts";

const problem = await gvisorProblem("gvisor_e2e_test.ts: skipping");
const ignore = problem !== undefined;
const work = ignore ? "/nonexistent" : removeOnExit(tempDir("mcp-run-gvisor-e2e-"));
const cache = join(work, "cache");

/** A folder the container user may write. */
function sharedDir(): string {
  const dir = Deno.makeTempDirSync({ dir: work });
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** The runtime of each mcp-run container that mounts `source` (this test's own containers). */
async function containersMounting(source: string): Promise<string[]> {
  const ids = (await runDocker(["ps", "-q", "--filter", "label=mcp-run=1"])).stdout.split("\n")
    .map((line) => line.trim()).filter((id) => id !== "");
  if (ids.length === 0) return [];
  const inspected = await runDocker(["inspect", ...ids]);
  // Containers may go between `ps` and `inspect`: take what inspect still found.
  const found = JSON.parse(inspected.stdout || "[]") as {
    HostConfig: { Runtime: string };
    Mounts: { Source: string }[];
  }[];
  return found.filter((c) => c.Mounts.some((m) => m.Source === source))
    .map((c) => c.HostConfig.Runtime);
}

/** Waits until no container mounts `source` (the engine removes them asynchronously). */
async function noneMounting(source: string): Promise<void> {
  for (let i = 0; i < 40 && (await containersMounting(source)).length; i++) {
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(await containersMounting(source), [], `containers left mounting ${source}`);
}

/** The launcher's argv of `mcp-run run <server> <params> --isolation gvisor`. */
function runArgs(server: string, params: string[]): string[] {
  return [
    ...["run", "-A", "--quiet", `${ROOT}/mod.ts`, "run", server, ...params],
    ...[...CLI_GVISOR, "--cache", cache],
  ];
}

/** The launcher's environment. */
function launcherEnv(): Record<string, string> {
  return { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root" };
}

/** `mcp-run run <server> … --isolation gvisor` with the real SDK client on its stdio. */
async function runClient(server: string, params: string[]): Promise<Client> {
  const client = new Client({ name: "gvisor-e2e-test", version: "1.0.0" });
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      args: runArgs(server, params),
      env: launcherEnv(),
      stderr: "pipe",
    }),
  );
  return client;
}

/** `mcp-run serve <server> <params> --isolation gvisor` on a free port. */
function serveGvisor(server: string, params: string[]): ReturnType<typeof startServe> {
  return startServe([server, ...params, "--port", "0", "--cache", cache, ...CLI_GVISOR]);
}

function gvisorTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore, sanitizeResources: false, sanitizeOps: false, fn });
}

const ENTITY = {
  entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }],
};

gvisorTest("mcp-run run --isolation gvisor serves filesystem confined to its folder", async () => {
  const scene = filesystemScene(sharedDir(), 0o777);
  const client = await runClient("filesystem", ["-p", `dirs=${scene.granted}`]);
  try {
    assert.deepEqual(await containersMounting(scene.granted), [GVISOR_RUNTIME]);
    await checkFilesystemConfined(client, scene, ["/etc/hostname"]);
  } finally {
    await client.close();
  }
  await noneMounting(scene.granted);
});

gvisorTest("mcp-run run --isolation gvisor serves memory, which writes only its file", async () => {
  const parent = sharedDir();
  const dir = join(parent, "graph");
  Deno.mkdirSync(dir);
  Deno.chmodSync(dir, 0o777);
  const canary = `CANARY-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(join(parent, "canary.txt"), canary);
  const first = await runClient("memory", ["-p", `dir=${dir}`]);
  try {
    assert.deepEqual(await containersMounting(dir), [GVISOR_RUNTIME]);
    const made = await first.callTool({ name: "create_entities", arguments: ENTITY });
    assert.notEqual(made.isError, true, resultText(made));
  } finally {
    await first.close();
  }
  await noneMounting(dir);
  // A second run, in a new container, reads what the first wrote.
  const second = await runClient("memory", ["-p", `dir=${dir}`]);
  try {
    const graph = await second.callTool({ name: "read_graph", arguments: {} });
    assert.match(resultText(graph), /wrote the first program/);
  } finally {
    await second.close();
  }
  await noneMounting(dir);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["memory.jsonl"]);
  assert.deepEqual([...Deno.readDirSync(parent)].map((e) => e.name).sort(), [
    "canary.txt",
    "graph",
  ]);
  assert.equal(Deno.readTextFileSync(join(parent, "canary.txt")), canary);
});

gvisorTest(
  "mcp-run serve --isolation gvisor gives each session its own gVisor container, none left after",
  async () => {
    const scene = filesystemScene(sharedDir(), 0o777);
    const served = await serveGvisor("filesystem", ["-p", `dirs=${scene.granted}`]);
    try {
      const a = await connectClient({ url: served.url });
      const b = await connectClient({ url: served.url });
      try {
        const path = join(scene.granted, "note.txt");
        assert.equal(await callText(a.client, "read_text_file", { path }), "inside the grant");
        assert.equal(await callText(b.client, "read_text_file", { path }), "inside the grant");
        // Two sessions, two containers, both under gVisor.
        assert.deepEqual(await containersMounting(scene.granted), [GVISOR_RUNTIME, GVISOR_RUNTIME]);
        await checkFilesystemConfined(a.client, scene);
      } finally {
        // A client that ends its session (DELETE) ends its container.
        for (const session of [a, b]) {
          await session.transport.terminateSession();
          await session.client.close();
        }
      }
      await noneMounting(scene.granted);
    } finally {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    }
    await noneMounting(scene.granted);
  },
);

gvisorTest(
  "mcp-run serve --isolation gvisor serves memory: what one session writes, another reads",
  async () => {
    const dir = sharedDir();
    const served = await serveGvisor("memory", ["-p", `dir=${dir}`]);
    try {
      const a = await connectClient({ url: served.url });
      try {
        const made = await a.client.callTool({ name: "create_entities", arguments: ENTITY });
        assert.notEqual(made.isError, true, resultText(made));
        const b = await connectClient({ url: served.url });
        try {
          assert.deepEqual(await containersMounting(dir), [GVISOR_RUNTIME, GVISOR_RUNTIME]);
          assert.match(await callText(b.client, "read_graph", {}), /wrote the first program/);
        } finally {
          await b.client.close();
        }
      } finally {
        await a.client.close();
      }
    } finally {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    }
    await noneMounting(dir);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["memory.jsonl"]);
  },
);

gvisorTest(
  "mcp-run run --isolation gvisor leaves no container when it is stopped or killed",
  async () => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const dir = sharedDir();
      const launcher = new Deno.Command(Deno.execPath(), {
        args: runArgs("filesystem", ["-p", `dirs=${dir}`]),
        env: launcherEnv(),
        clearEnv: true,
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      try {
        // Positive control: the container is there, under gVisor, while the launcher runs.
        let running: string[] = [];
        for (let i = 0; i < 120 && running.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 250));
          running = await containersMounting(dir);
        }
        assert.deepEqual(running, [GVISOR_RUNTIME], `${signal}: no container started`);
        launcher.kill(signal);
        const status = await launcher.status;
        assert.equal(status.code, { SIGTERM: 143, SIGKILL: 137 }[signal], signal);
        await noneMounting(dir);
      } finally {
        await launcher.stdin.close().catch(() => {});
        try {
          launcher.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }
  },
);

gvisorTest(
  "mcp-run serve --isolation gvisor killed by SIGKILL leaves none of its sessions' containers",
  async () => {
    const scene = filesystemScene(sharedDir(), 0o777);
    const served = await serveGvisor("filesystem", ["-p", `dirs=${scene.granted}`]);
    try {
      const a = await connectClient({ url: served.url });
      const b = await connectClient({ url: served.url });
      // Positive control: two sessions, two gVisor containers, while serve runs.
      assert.deepEqual(await containersMounting(scene.granted), [GVISOR_RUNTIME, GVISOR_RUNTIME]);
      served.child.kill("SIGKILL");
      assert.equal((await served.child.status).signal, "SIGKILL");
      await noneMounting(scene.granted);
      await a.client.close().catch(() => {});
      await b.client.close().catch(() => {});
    } finally {
      try {
        served.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
  },
);
