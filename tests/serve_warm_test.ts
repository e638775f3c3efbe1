// `serve --warm N` end to end: sandboxed processes of the fixture server started ahead of demand,
// reached through the real MCP SDK client over loopback HTTP, with `serveServer` and the CLI.
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveServer, type ServeServerOptions } from "../runtime/http/serve_server.ts";
import { DenoSandbox } from "../runtime/sandbox/deno_sandbox.ts";
import { type AuditChannel, openAuditChannel } from "../runtime/learn/audit_channel.ts";
import { DenialLog } from "../runtime/learn/denial_log.ts";
import type { SandboxSpawnOptions } from "../runtime/sandbox/sandbox.ts";
import type { ServerProcess } from "../runtime/sandbox/server_process.ts";
import { loadManifest } from "../runtime/registry/load.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { callText, connectClient, isAlive, waitAllExited } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { cli, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { removeOnExit } from "./_security.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const cache = removeOnExit(tempDir("mcp-run-serve-warm-"));

/** The native sandbox, recording every process it starts. */
class RecordingSandbox extends DenoSandbox {
  readonly started: ServerProcess[] = [];
  override spawn(server: ResolvedServer, options?: SandboxSpawnOptions): ServerProcess {
    const process = super.spawn(server, options);
    this.started.push(process);
    return process;
  }
}

async function fixture(): Promise<ResolvedServer> {
  const { manifest, dir } = await loadManifest(MANIFEST);
  return resolveServer(manifest, { cacheRoot: cache, manifestDir: dir });
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function withWarmServe(
  options: Partial<ServeServerOptions>,
  body: (url: string, sandbox: RecordingSandbox) => Promise<void>,
): Promise<void> {
  const sandbox = new RecordingSandbox({ cacheRoot: cache, source: toolEnv(), progress: () => {} });
  const served = await serveServer(await fixture(), {
    cacheRoot: cache,
    sandbox,
    port: 0,
    onStderr: () => {},
    ...options,
  });
  try {
    await body(served.url, sandbox);
  } finally {
    await served.shutdown();
    await served.finished;
  }
  // Every process, those no session took included, ended with the bridge.
  await waitAllExited(sandbox.started.map((process) => process.pid));
}

Deno.test("serveServer() with warm gives each session its own process, started ahead", async () => {
  let audits = 0;
  let guards = 0;
  await withWarmServe({
    warm: 2,
    openAudit: () => (audits++, Promise.resolve(undefined)),
    guardStages: () => (guards++, []),
  }, async (url, sandbox) => {
    await waitFor("two processes ahead", () => sandbox.started.length === 2);
    const ahead = sandbox.started.map((process) => process.pid);
    const seen: number[] = [];
    const a = await connectClient({ url });
    const b = await connectClient({ url });
    try {
      seen.push(Number(await callText(a.client, "pid")), Number(await callText(b.client, "pid")));
      assert.deepEqual(seen, ahead, "the sessions got the processes started ahead, in order");
      assert.equal(await callText(a.client, "count"), "1");
      assert.equal(await callText(b.client, "count"), "1", "no state shared between sessions");
    } finally {
      await a.transport.terminateSession();
      await a.client.close();
    }
    await waitFor("the first session's process ended", () => !isAlive(seen[0]));
    const c = await connectClient({ url });
    try {
      const pid = Number(await callText(c.client, "pid"));
      assert.ok(!seen.includes(pid), "a process never serves a second session");
      assert.equal(await callText(c.client, "count"), "1");
      seen.push(pid);
    } finally {
      await c.client.close();
      await b.client.close();
    }
    assert.equal(new Set(seen).size, 3);
    // Two kept ahead again, beside the three the sessions had.
    await waitFor("replacements ahead", () => sandbox.started.length === 5);
  });
  // Each process had its own audit channel and guard, those started ahead too.
  assert.equal(audits, 5);
  assert.equal(guards, 5);
});

Deno.test("serveServer() replaces a warm process that dies before a session takes it", async () => {
  const errors: string[] = [];
  await withWarmServe({ warm: 1, onError: (e) => errors.push(e.message) }, async (url, sandbox) => {
    await waitFor("one process ahead", () => sandbox.started.length === 1);
    const first = sandbox.started[0];
    first.kill("SIGKILL");
    await first.status;
    await waitFor("a replacement", () => sandbox.started.length === 2);
    assert.match(errors.join("\n"), /exited before any session used it/);
    const { client } = await connectClient({ url });
    try {
      assert.equal(Number(await callText(client, "pid")), sandbox.started[1].pid);
    } finally {
      await client.close();
    }
  });
});

Deno.test("serveServer() refuses warm in shared mode and beyond the session limit", async () => {
  const sandbox = new RecordingSandbox({ cacheRoot: cache, source: toolEnv(), progress: () => {} });
  const server = await fixture();
  const base = { cacheRoot: cache, sandbox, port: 0, onStderr: () => {} };
  await assert.rejects(
    () => serveServer(server, { ...base, warm: 1, sessionMode: "shared" }),
    (error: Error) => error instanceof RangeError && /in shared mode/.test(error.message),
  );
  await assert.rejects(
    () => serveServer(server, { ...base, warm: 9, maxSessions: 8 }),
    (error: Error) => error instanceof RangeError && /at most 8 sessions/.test(error.message),
  );
  assert.equal(sandbox.started.length, 0, "nothing started");
});

Deno.test("serveServer() releases a process's audit channel when its spawn throws", async () => {
  class FailingSandbox extends DenoSandbox {
    override spawn(): ServerProcess {
      throw new Error("spawn refused");
    }
  }
  const sandbox = new FailingSandbox({ cacheRoot: cache, source: toolEnv(), progress: () => {} });
  const channels: AuditChannel[] = [];
  const errors: string[] = [];
  const server = await fixture();
  const served = await serveServer(server, {
    cacheRoot: cache,
    sandbox,
    port: 0,
    onStderr: () => {},
    warm: 1,
    onError: (error) => errors.push(error.message),
    openAudit: async () => {
      const channel = await openAuditChannel({ cacheRoot: cache, log: new DenialLog(server) });
      channels.push(channel);
      return channel;
    },
  });
  try {
    await waitFor("a failed start", () => errors.length > 0);
    assert.ok(channels.length > 0);
    // Released: the FIFO and its folder are gone, nothing left reading.
    for (const channel of channels) {
      await waitFor(`${channel.path} removed`, () => {
        try {
          Deno.statSync(channel.path);
          return false;
        } catch {
          return true;
        }
      }, 5_000);
    }
  } finally {
    await served.shutdown();
    await served.finished;
  }
});

/** The fixture server processes a process started (its children), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out.filter((child) => {
    try {
      return Deno.readTextFileSync(`/proc/${child}/cmdline`).includes("bridge_fixture_server");
    } catch {
      return false;
    }
  });
}

Deno.test("mcp-run serve --warm starts processes ahead and ends them on SIGTERM", async () => {
  const served = await startServe([MANIFEST, "--port", "0", "--warm", "2", "--cache", cache]);
  let ahead: number[] = [];
  try {
    assert.match(served.stderr(), /one sandboxed process per session, 2 started ahead/);
    await waitFor("two children", () => childrenOf(served.child.pid).length === 2);
    ahead = childrenOf(served.child.pid);
    const { client } = await connectClient({ url: served.url });
    try {
      assert.ok(ahead.includes(Number(await callText(client, "pid"))));
    } finally {
      await client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    const status = await served.child.status;
    assert.equal(status.code, 0, served.stderr());
  }
  await waitAllExited(ahead);
});

Deno.test("mcp-run serve --help documents --warm", async () => {
  const r = await cli(["serve", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--warm N +Keep N sandboxed processes started ahead/);
});

Deno.test("mcp-run serve refuses a bad --warm before starting anything", async () => {
  const cases: [string[], RegExp][] = [
    [["--warm=-1"], /--warm must be a positive number/],
    [["--warm", "1.5"], /--warm 1\.5: .*give a whole number, 0 or more/],
    [["--warm", "9", "--max-sessions", "8"], /--warm 9: .*with at most 8 sessions/],
    [["--warm", "2", "--session-mode", "shared"], /--warm 2: .*in shared mode.*use isolated/],
    // --public's stricter default session limit bounds it too.
    [["--public", "--tools", "echo", "--warm", "17"], /with at most 16 sessions/],
  ];
  for (const [flags, message] of cases) {
    const r = await cli(["serve", MANIFEST, "--cache", cache, ...flags]);
    assert.equal(r.code, 2, `${flags.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
