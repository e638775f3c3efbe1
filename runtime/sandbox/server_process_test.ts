import assert from "node:assert/strict";
import type { LaunchPlan } from "./launch_plan.ts";
import { ServerExitedError, ServerProcess, spawnServer, startPlan } from "./server_process.ts";
import type { SplitLine } from "./line_splitter.ts";
import { openAuditChannel } from "../learn/audit_channel.ts";
import { DenialLog } from "../learn/denial_log.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

/** A plan that runs a POSIX shell script with nothing but PATH in its environment. */
function sh(script: string, env: Record<string, string> = {}): LaunchPlan {
  return {
    program: "/bin/sh",
    args: ["-c", script],
    env: { PATH: "/usr/bin:/bin", ...env },
    cwd: Deno.cwd(),
  };
}

const text = (piece: SplitLine): string =>
  piece.kind === "line" ? new TextDecoder().decode(piece.bytes) : `!${piece.size}`;

/** Reads the next stdout line (the child's "ready" signal, or an echo). */
async function nextLine(reader: ReadableStreamDefaultReader<SplitLine>): Promise<string> {
  const { value, done } = await reader.read();
  assert.ok(!done, "stdout ended before the expected line");
  return text(value);
}

function quiet(): { onStderr: (line: string) => void; seen: string[] } {
  const seen: string[] = [];
  return { onStderr: (line) => seen.push(line), seen };
}

Deno.test("ServerProcess.stop() closes stdin first and lets a cooperative server exit", async () => {
  const child = spawnServer("eof", sh("echo ready; cat >/dev/null; exit 3"), quiet());
  const reader = child.lines.getReader();
  assert.equal(await nextLine(reader), "ready");
  const started = Date.now();
  const status = await child.stop(5_000);
  assert.equal(status.code, 3, "the server's own exit code, not a signal");
  assert.equal(status.signal, null);
  assert.ok(Date.now() - started < 4_000, "no grace period was waited out");
  reader.releaseLock();
});

Deno.test("ServerProcess.stop() sends SIGTERM when the server ignores the end of stdin", async () => {
  // The loop never reads stdin, so only a signal ends it.
  const child = spawnServer("deaf", sh("echo ready; while :; do sleep 0.05; done"), quiet());
  const reader = child.lines.getReader();
  assert.equal(await nextLine(reader), "ready");
  const started = Date.now();
  const status = await child.stop(300);
  assert.equal(status.signal, "SIGTERM");
  assert.ok(Date.now() - started >= 250, "SIGTERM came only after the grace period");
  reader.releaseLock();
});

Deno.test("ServerProcess.stop() escalates to SIGKILL when the server ignores SIGTERM", async () => {
  const child = spawnServer(
    "stubborn",
    sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"),
    quiet(),
  );
  const reader = child.lines.getReader();
  assert.equal(await nextLine(reader), "ready");
  const started = Date.now();
  const first = child.stop(300);
  const second = child.stop(300);
  assert.equal(first, second, "a second stop() joins the first");
  const status = await first;
  assert.equal(status.signal, "SIGKILL");
  assert.equal(status.success, false);
  assert.ok(Date.now() - started >= 550, "two grace periods passed before SIGKILL");
  // Once it is gone, signals are ignored rather than thrown.
  child.kill("SIGTERM");
  reader.releaseLock();
});

Deno.test("ServerProcess.send() writes strings and bytes as whole lines", async () => {
  const child = spawnServer("echo", sh("exec cat"), quiet());
  const reader = child.lines.getReader();
  await child.send('{"id":1}');
  await child.send(new TextEncoder().encode('{"id":2}'));
  assert.equal(await nextLine(reader), '{"id":1}');
  assert.equal(await nextLine(reader), '{"id":2}');
  reader.releaseLock();
  assert.equal((await child.stop(1_000)).code, 0);
});

Deno.test("ServerProcess.lines drops a stdout line over maxLineBytes and keeps the next", async () => {
  const child = spawnServer(
    "big",
    sh("head -c 5000 /dev/zero | tr '\\0' x; echo; echo small"),
    { ...quiet(), maxLineBytes: 1024 },
  );
  const lines = (await Array.fromAsync(child.lines)).map(text);
  assert.deepEqual(lines, ["!5000", "small"]);
  await child.status;
});

Deno.test("ServerProcess keeps a bounded stderr tail and truncates long stderr lines", async () => {
  const sink = quiet();
  const child = spawnServer(
    "noisy",
    sh(
      "i=0; while [ $i -lt 50 ]; do echo line-$i >&2; i=$((i+1)); done; " +
        "head -c 3000 /dev/zero | tr '\\0' y >&2; echo >&2; echo last >&2; exit 7",
    ),
    { ...sink, stderrTailBytes: 64, maxStderrLineBytes: 100 },
  );
  const status = await child.status;
  await child.stderrEnded;
  assert.equal(status.code, 7);
  assert.ok(child.stderrTail.length <= 64, `tail is ${child.stderrTail.length} characters`);
  assert.ok(child.stderrTail.endsWith("last"));
  assert.ok(!child.stderrTail.includes("line-0\n"), "the oldest lines fell out of the tail");
  assert.equal(sink.seen.length, 52, "every stderr line reached onStderr");
  assert.equal(sink.seen[0], "line-0");
  const long = sink.seen[50];
  assert.ok(long.endsWith("… [3000 bytes, truncated]"), long);
  // Only the first few hundred bytes of the 3000 are kept.
  assert.ok(long.length < 400, `the long line was passed on with ${long.length} characters`);
});

Deno.test("ServerExitedError names the server, the exit and the stderr tail", () => {
  const byCode = new ServerExitedError("time", { success: false, code: 2, signal: null }, "boom");
  assert.equal(byCode.message, 'Server "time" exited with code 2:\nboom');
  assert.equal(byCode.name, "ServerExitedError");
  assert.equal(byCode.code, 2);
  assert.equal(byCode.stderrTail, "boom");
  const bySignal = new ServerExitedError(
    "time",
    { success: false, code: 137, signal: "SIGKILL" },
    "",
  );
  assert.equal(bySignal.message, 'Server "time" was killed by SIGKILL');
  assert.equal(bySignal.signal, "SIGKILL");
});

Deno.test("startPlan() gives the child only the planned environment and folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.env.set("MCP_RUN_TEST_LEAK", "secret");
    const child = startPlan({ ...sh("env; pwd", { ONLY: "this" }), cwd: dir });
    await child.stdin.close();
    const out = new TextDecoder().decode((await child.output()).stdout);
    assert.ok(out.includes("ONLY=this\n"));
    assert.ok(!out.includes("MCP_RUN_TEST_LEAK"), "an inherited variable reached the child");
    assert.ok(!/^HOME=/m.test(out), "HOME was inherited");
    assert.ok(out.trimEnd().endsWith(await Deno.realPath(dir)));
  } finally {
    Deno.env.delete("MCP_RUN_TEST_LEAK");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startPlan() throws NotFound for a program that is not installed", () => {
  assert.throws(
    () =>
      startPlan({ program: "/nonexistent/mcp-run-no-such-program", args: [], env: {}, cwd: "/" }),
    Deno.errors.NotFound,
  );
});

Deno.test("spawnServer() returns a ServerProcess whose pid is the child's", async () => {
  const child = spawnServer("pid", sh("echo $$"), quiet());
  assert.ok(child instanceof ServerProcess);
  const [first] = (await Array.fromAsync(child.lines)).map(text);
  assert.equal(Number(first), child.pid);
  await child.status;
});

Deno.test("ServerProcess closes its audit channel only after released(), with or without stop()", async () => {
  const cacheRoot = await Deno.makeTempDir();
  try {
    for (const stopped of [true, false]) {
      const events: string[] = [];
      const audit = await openAuditChannel({
        cacheRoot,
        log: new DenialLog(serverFixture()),
        onClose: () => void events.push("closed"),
      });
      // What a container's removal is to a docker process: slower than the client's exit.
      class Released extends ServerProcess {
        protected override async released(): Promise<void> {
          await new Promise((r) => setTimeout(r, 100));
          events.push("released");
        }
      }
      const child = new Released("r", startPlan(sh("exit 0")), { ...quiet(), audit });
      if (stopped) await child.stop();
      else {
        await child.status;
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.deepEqual(events, ["released", "closed"], stopped ? "with stop()" : "without stop()");
    }
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});

Deno.test("spawnServer() explains an exit once stderr ended, and says when it was stopped", async () => {
  const plan = (script: string) => ({
    program: "/bin/sh",
    args: ["-c", script],
    env: {},
    cwd: "/",
  });
  const seen: [number, string, boolean][] = [];
  const lines: string[] = [];
  const explainExit = (status: Deno.CommandStatus, tail: string, stopped: boolean) => {
    seen.push([status.code, tail, stopped]);
    return `explained ${status.code}`;
  };
  const died = spawnServer("x", plan("echo 'Reached heap limit' >&2; exit 3"), {
    explainExit,
    onStderr: (line) => lines.push(line),
  });
  await died.status;
  await died.stop();
  assert.deepEqual(seen, [[3, "Reached heap limit", false]]);
  assert.deepEqual(lines, ["Reached heap limit", "explained 3"]);
  const stopped = spawnServer("y", plan("exec sleep 30"), { explainExit, onStderr: () => {} });
  await stopped.stop(200);
  assert.equal(seen[1][2], true);
});
