/**
 * Memory caps end to end, natively, in docker and under gVisor: `mcp-run run` with a real MCP SDK client, a
 * malicious fixture that allocates heap or ArrayBuffers without bound, and a user config that
 * sets small caps. The canary: the server's peak RSS (natively, its VmHWM in /proc) and the
 * launcher's stay bounded; the server is stopped and the launcher says which cap, its value and
 * how to raise it. The positive control: a bounded allocation bigger than the small caps fails
 * under them and succeeds once the manifest asks for more (and its RSS then shows above the
 * small cap's bound, so the canary can fire).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";
import { cli, resultText, ROOT, toolEnv } from "./_helpers.ts";
import { findPrlimit, V8_RESERVED_MB } from "../runtime/sandbox/resource_caps.ts";
import { CAN_UNSHARE } from "./_security.ts";

const problem = await dockerProblem("resource_caps_test.ts: skipping docker");
const gvisorMissing = await gvisorProblem("resource_caps_test.ts: skipping gvisor");
const FIXTURE = join(ROOT, "tests", "testdata", "caps");
/** The user's small caps: the defaults of every server in these tests. */
const SMALL = { heapMb: 128, memoryMb: 256 };
/** A folder outside /tmp (the container's HOME is a tmpfs there), shared by every test. */
const work = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-caps-" });
Deno.chmodSync(work, 0o777);
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const config = join(work, "config.json");
Deno.writeTextFileSync(config, JSON.stringify({ limits: SMALL }));

type Isolation = "deno" | "docker" | "gvisor";

/** A launch of the fixture through the CLI, its stderr, and peak RSS readings. */
interface Session {
  client: Client;
  stderr(): string;
  /** Peak RSS (MiB) of the server (natively) and of the launcher, as last read in /proc. */
  peak: { server: number; launcher: number };
  /** Resolves once the launcher has exited. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/** Reads VmHWM (peak RSS, MiB) of a process; 0 once it is gone. */
function vmHwm(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function start(manifest: string, isolation: Isolation): Promise<Session> {
  const iso = isolation === "docker"
    ? CLI_DOCKER
    : isolation === "gvisor"
    ? CLI_GVISOR
    : ["--isolation", "deno"];
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", join(ROOT, "mod.ts"), "run", manifest, ...iso, "--yes"],
    env: {
      ...toolEnv(),
      HOME: Deno.env.get("HOME") ?? "/root",
      MCP_RUN_CACHE: join(work, `cache-${isolation}`),
      MCP_RUN_CONFIG: config,
    },
    cwd: work,
    stderr: "pipe",
  });
  let stderr = "";
  const decoder = new TextDecoder();
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  let onClosed = () => {};
  const closed = new Promise<void>((resolve) => onClosed = resolve);
  const client = new Client({ name: "caps-test", version: "1.0.0" });
  client.onclose = () => onClosed();
  await client.connect(transport);
  const peak = { server: 0, launcher: 0 };
  // Natively the fixture's pid is the server process itself (prlimit execs deno).
  const serverPid = () => Number(/caps-fixture pid (\d+)/.exec(stderr)?.[1] ?? 0);
  const timer = setInterval(() => {
    if (isolation === "deno" && serverPid()) {
      peak.server = Math.max(peak.server, vmHwm(serverPid()));
    }
    if (transport.pid) peak.launcher = Math.max(peak.launcher, vmHwm(transport.pid));
  }, 10);
  closed.then(() => clearInterval(timer));
  return {
    client,
    stderr: () => stderr,
    peak,
    closed,
    close: async () => {
      await client.close();
      await closed;
    },
  };
}

/** Calls a tool; its parsed result, or the error the launcher answered with. */
async function call(
  session: Session,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ value?: Record<string, unknown>; error?: Error }> {
  try {
    const result = await session.client.callTool({ name, arguments: args });
    return { value: JSON.parse(resultText(result)) };
  } catch (error) {
    return { error: error as Error };
  }
}

function capTest(name: string, isolation: Isolation, fn: () => Promise<void>): void {
  Deno.test({
    name: `${name} (${isolation})`,
    ignore: (isolation === "docker" && problem !== undefined) ||
      (isolation === "gvisor" && gvisorMissing !== undefined),
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

for (const isolation of ["deno", "docker", "gvisor"] as const) {
  const manifest = join(FIXTURE, "manifest.jsonc");

  capTest(
    "mcp-run run stops a heap bomb at the heap cap and says how to raise it",
    isolation,
    async () => {
      const session = await start(manifest, isolation);
      const bomb = await call(session, "heap_bomb");
      await session.closed;
      assert.ok(bomb.error, "the call fails: the server is gone");
      assert.match(
        session.stderr(),
        /mcp-run: "caps-fixture" was stopped by its heap cap \(128 MiB, limits\.heapMb\).*"heapMb"/,
      );
      if (isolation === "deno") {
        assert.ok(session.peak.server > 64, `the watch saw the server: ${session.peak.server}`);
        assert.ok(session.peak.server < SMALL.memoryMb, `server peak ${session.peak.server} MiB`);
      }
      assert.ok(session.peak.launcher < 400, `launcher peak ${session.peak.launcher} MiB`);
    },
  );

  capTest(
    "mcp-run run stops an ArrayBuffer bomb at the process cap and says how to raise it",
    isolation,
    async () => {
      const session = await start(manifest, isolation);
      const bomb = await call(session, "buffer_bomb");
      await session.closed;
      assert.ok(bomb.error, "the call fails: the server is gone");
      const how = isolation === "deno" ? "prlimit --data" : "docker --memory";
      assert.match(
        session.stderr(),
        new RegExp(
          `mcp-run: "caps-fixture" was stopped by its process memory cap \\(256 MiB, ` +
            `limits\\.memoryMb, ${how}\\)`,
        ),
      );
      if (isolation === "deno") {
        // RLIMIT_DATA counts V8's reservations too: the bound is the cap plus that allowance.
        const bound = SMALL.memoryMb + V8_RESERVED_MB;
        assert.ok(session.peak.server > 128, `the watch saw the server: ${session.peak.server}`);
        assert.ok(session.peak.server < bound, `server peak ${session.peak.server} MiB`);
      }
      assert.ok(session.peak.launcher < 400, `launcher peak ${session.peak.launcher} MiB`);
    },
  );

  capTest(
    "mcp-run run gives a server the bigger caps its manifest asks for",
    isolation,
    async () => {
      // Under the user's small caps, a bounded 400 MiB allocation of either kind fails...
      for (const kind of ["heap", "buffer"]) {
        const session = await start(manifest, isolation);
        const small = await call(session, "big", { kind, mb: 400 });
        await session.closed;
        assert.ok(small.error, `${kind}: 400 MiB does not fit the small caps`);
        assert.match(session.stderr(), /was stopped by its (heap|process memory) cap/);
      }
      // ...and succeeds when the manifest asks for more (the positive control).
      const session = await start(join(FIXTURE, "big.jsonc"), isolation);
      try {
        for (const kind of ["heap", "buffer"]) {
          const big = await call(session, "big", { kind, mb: 400 });
          assert.equal(big.error, undefined, `${kind}: ${big.error?.message}\n${session.stderr()}`);
          assert.equal(big.value?.allocatedMb, 400);
          assert.ok(Number(big.value?.rssMb) > SMALL.memoryMb, `${kind}: rss ${big.value?.rssMb}`);
        }
      } finally {
        await session.close();
      }
      assert.ok(!session.stderr().includes("was stopped by its"), session.stderr());
      if (isolation === "deno") {
        assert.ok(session.peak.server > SMALL.memoryMb, `the canary fires: ${session.peak.server}`);
      }
    },
  );
}

Deno.test("mcp-run call ends its error with the cap that stopped the server", async () => {
  const run = await cli(["call", join(FIXTURE, "manifest.jsonc"), "heap_bomb", "--yes"], {
    env: {
      HOME: Deno.env.get("HOME") ?? "/root",
      MCP_RUN_CACHE: join(work, "cache-call"),
      MCP_RUN_CONFIG: config,
    },
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    /mcp-run: "caps-fixture" was stopped by its heap cap \(128 MiB, limits\.heapMb\)/,
  );
});

Deno.test({
  name: "mcp-run run says once that only the heap is capped where prlimit is missing",
  ignore: !CAN_UNSHARE || findPrlimit() === undefined,
  fn: async () => {
    // A private mount namespace where every place prlimit is looked for holds /dev/null.
    const hide = "for p in /usr/bin/prlimit /bin/prlimit /usr/local/bin/prlimit; do " +
      '[ -f "$p" ] && mount --bind /dev/null "$p"; done; exec "$@"';
    const out = await new Deno.Command("unshare", {
      args: [
        ...(Deno.uid() === 0 ? ["-m"] : ["-r", "-m"]),
        ...["sh", "-c", hide, "sh", Deno.execPath(), "run", "-A", "--quiet"],
        ...[join(ROOT, "mod.ts"), "run", join(FIXTURE, "manifest.jsonc"), "--dry-run"],
      ],
      env: {
        ...toolEnv(),
        HOME: Deno.env.get("HOME") ?? "/root",
        MCP_RUN_CACHE: join(work, "c"),
        MCP_RUN_CONFIG: config,
      },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const notes = stderr.split("\n").filter((l) => l.startsWith("mcp-run: no process memory cap"));
    assert.equal(notes.length, 1, stderr);
    assert.match(notes[0], /only the V8 heap is capped \(limits\.heapMb\)/);
    const stdout = new TextDecoder().decode(out.stdout);
    const command = stdout.split("\n").find((l) => l.startsWith("command: ")) ?? stdout;
    assert.match(command, /^command: \S*deno run .*--v8-flags=--max-old-space-size=128 /);
  },
});

Deno.test({
  name: "mcp-run config --form deno writes an entry whose whole process is capped",
  ignore: findPrlimit() === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const manifest = join(FIXTURE, "manifest.jsonc");
    const env = {
      HOME: Deno.env.get("HOME") ?? "/root",
      MCP_RUN_CACHE: join(work, "cache-entry"),
      MCP_RUN_CONFIG: config,
    };
    const pulled = await cli(["pull", manifest, "--isolation", "deno", "--yes"], { env });
    assert.equal(pulled.code, 0, pulled.stderr);
    const made = await cli(["config", manifest, "--form", "deno", "--yes"], { env });
    assert.equal(made.code, 0, made.stderr);
    const entry = JSON.parse(made.stdout) as {
      command: string;
      args: string[];
      env: Record<string, string>;
    };
    assert.equal(entry.command, findPrlimit(), made.stdout);
    const bound = (SMALL.memoryMb + V8_RESERVED_MB) * 1024 * 1024;
    assert.equal(entry.args[0], `--data=${bound}`);
    // The canary: ArrayBuffers outside the 128 MiB heap, past the process cap, are refused.
    // The positive control: a small one fits.
    for (const [mb, fits] of [[32, true], [400, false]] as const) {
      const client = new Client({ name: "caps-entry-test", version: "1.0.0" });
      await client.connect(
        new StdioClientTransport({ ...entry, stderr: "pipe" }),
      );
      let failed = false;
      try {
        const result = await client.callTool({ name: "big", arguments: { kind: "buffer", mb } });
        failed = result.isError === true;
      } catch {
        failed = true;
      } finally {
        await client.close();
      }
      assert.equal(failed, !fits, `${mb} MiB`);
    }
  },
});
