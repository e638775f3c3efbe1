/**
 * Security proofs, native mode (the output floods under gVisor too): faults of the child process
 * are contained (SECURITY.md invariant 8). `mcp-run run` is spawned like an MCP client spawns it and spoken to by hand in
 * JSON-RPC over its stdin and stdout, so nothing between the test and the launcher hides a fault.
 */
import assert from "node:assert/strict";
import { LineSplitter } from "../runtime/sandbox/line_splitter.ts";
import { tempDir, toolEnv } from "./_helpers.ts";
import { attackerManifest, MOD, prePull, removeOnExit, writeManifest } from "./_security.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";

const root = removeOnExit(tempDir("mcp-run-sec-stdio-"));
await prePull(attackerManifest(), root);
const manifest = writeManifest(removeOnExit(tempDir()), {});
const gvisorMissing = await gvisorProblem("security_stdio_test.ts: skipping gvisor");

/**
 * The isolations the output floods are proven under: natively (the test's plain name), and in
 * the gVisor sandbox (the name ends "(gvisor)"), where the server's output crosses runsc and
 * docker's stdio first.
 */
const FLOOD_ISOLATIONS = [
  { suffix: "", args: [], ignore: false },
  { suffix: " (gvisor)", args: CLI_GVISOR, ignore: gvisorMissing !== undefined },
];

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The launcher's peak resident memory must stay far below the 1 GiB the server writes. */
const MAX_LAUNCHER_RSS = 400 * MiB;

// deno-lint-ignore no-explicit-any
type Message = Record<string, any>;

/** `mcp-run run` as a client sees it: JSON-RPC lines in and out, stderr drained and counted. */
class Launcher {
  readonly child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: ReadableStreamDefaultReader<{ kind: string; bytes?: Uint8Array }>;
  #seen: Message[] = [];
  #nextId = 1;
  /** Bytes the launcher wrote to its stderr. */
  stderrBytes = 0;
  /** The launcher's stderr lines, each cut to 200 characters, at most 2000 kept per kind. */
  stderrLines: string[] = [];
  /** How many stderr lines each substring was seen in. */
  stderrCounts = new Map<string, number>();
  readonly stderrDone: Promise<void>;

  constructor(args: string[] = []) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MOD, "run", manifest, "--cache", root, ...args],
      env: toolEnv(),
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#lines = this.child.stdout.pipeThrough(new LineSplitter(64 * MiB)).getReader();
    this.stderrDone = this.child.stderr
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform: (chunk, controller) => {
            this.stderrBytes += chunk.length;
            controller.enqueue(chunk);
          },
        }),
      )
      .pipeThrough(new LineSplitter(1 * MiB))
      .pipeTo(
        new WritableStream({
          write: (piece) => {
            const text = piece.kind === "line"
              ? new TextDecoder().decode(piece.bytes)
              : `[oversized ${piece.size}]`;
            for (const key of ["flood line", "truncated", "stderr flood done"]) {
              if (text.includes(key)) {
                this.stderrCounts.set(key, (this.stderrCounts.get(key) ?? 0) + 1);
              }
            }
            if (!text.includes("flood line") && this.stderrLines.length < 2000) {
              this.stderrLines.push(text.slice(0, 200));
            }
          },
        }),
      );
  }

  /** Sends a request and returns its id. */
  async request(method: string, params: Message = {}): Promise<number> {
    const id = this.#nextId++;
    await this.send({ jsonrpc: "2.0", id, method, params });
    return id;
  }

  /** Sends raw bytes. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    await this.#writer.write(bytes);
  }

  /** Sends one message. */
  async send(message: Message): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  }

  /** Waits for the message answering `id`. */
  async response(id: number, timeoutMs = 120_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.#seen.find((m) => m.id === id);
      if (found) return found;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        this.#lines.read(),
        new Promise<"timeout">((r) =>
          timer = setTimeout(() => r("timeout"), deadline - Date.now())
        ),
      ]);
      clearTimeout(timer);
      if (next === "timeout") throw new Error(`No answer to ${id}: ${this.stderrLines.join("\n")}`);
      if (next.done) throw new Error(`Stdout closed before ${id}: ${this.stderrLines.join("\n")}`);
      const piece = next.value;
      assert.equal(piece.kind, "line", "the launcher never writes an oversized line");
      this.#seen.push(JSON.parse(new TextDecoder().decode(piece.bytes!)));
    }
  }

  /** Initializes the MCP session. */
  async initialize(): Promise<void> {
    const id = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "by-hand", version: "1.0.0" },
    });
    assert.equal((await this.response(id)).result.serverInfo.name, "attacker");
    await this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  }

  /** Calls a tool and returns the raw JSON-RPC answer. */
  async call(name: string, args: Message = {}): Promise<Message> {
    return await this.response(await this.request("tools/call", { name, arguments: args }));
  }

  /** The launcher's peak resident memory (VmHWM), in bytes. */
  peakRss(): number {
    const status = Deno.readTextFileSync(`/proc/${this.child.pid}/status`);
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  /** Closes the client side and waits for the launcher to exit. */
  async end(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    return await this.finish();
  }

  /** Kills the launcher if it still runs, and waits for it. */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already exited */ }
    await this.finish();
  }

  /** Waits for the launcher to exit, with everything drained. */
  async finish(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await this.stderrDone.catch(() => {});
    await this.#lines.cancel().catch(() => {});
    return status;
  }
}

/** The text of a tool result. */
function toolText(answer: Message): string {
  assert.ok(answer.result, `expected a result, got ${JSON.stringify(answer).slice(0, 500)}`);
  return answer.result.content[0].text;
}

/** Whether a process is gone (exited and reaped, or a zombie no one will run again). */
function isGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isGone(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return isGone(pid);
}

for (const { suffix, args, ignore } of FLOOD_ISOLATIONS) {
  Deno.test({
    name: `mcp-run run answers a 1 GiB stdout line with a JSON-RPC error and stays small${suffix}`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async () => {
    const launcher = new Launcher(args);
    try {
      await launcher.initialize();
      // Positive control: a line of 1 MiB is passed on whole.
      const small = await launcher.call("stdout_line", { bytes: 1 * MiB });
      const text = toolText(small);
      assert.ok(/^A+$/.test(text) && text.length > MiB - 128, `${text.length} bytes`);
      const floodId = await launcher.request("tools/call", {
        name: "stdout_line",
        arguments: { bytes: GiB },
      });
      const answer = await launcher.response(floodId);
      assert.equal(answer.result, undefined);
      assert.equal(answer.error.code, -32603);
      // The size counts the line without its newline.
      assert.match(
        answer.error.message,
        new RegExp(`sent a ${GiB - 1}-byte response; it was dropped`),
      );
      // The launcher still relays: the server answers the next request.
      const pid = JSON.parse(toolText(await launcher.call("pid"))).pid;
      assert.equal(typeof pid, "number");
      const peak = launcher.peakRss();
      assert.ok(peak < MAX_LAUNCHER_RSS, `launcher peak RSS ${(peak / MiB).toFixed(0)} MiB`);
      assert.ok(launcher.stderrLines.some((l) => l.includes(`dropped a ${GiB - 1}-byte message`)));
      assert.equal((await launcher.end()).code, 0);
    } finally {
      await launcher.kill();
    }
  });
}

Deno.test("mcp-run call fails at once on a 1 GiB response and stays small", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MOD, "call", manifest, "stdout_line", `{"bytes":${GiB}}`],
    env: { ...toolEnv(), MCP_RUN_CACHE: root },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
    } catch { /* exited */ }
  }, 50);
  const started = Date.now();
  const out = await child.output();
  clearInterval(sampler);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1, stderr);
  assert.match(stderr, new RegExp(`MCP error -32603: Server "attacker" sent a ${GiB - 1}-byte`));
  assert.ok(Date.now() - started < 50_000, "answered before the SDK's 60 s request timeout");
  assert.ok(peak > 0 && peak < MAX_LAUNCHER_RSS, `peak RSS ${(peak / MiB).toFixed(0)} MiB`);
  // Positive control: a 1 MiB response comes through whole.
  const small = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MOD, "call", manifest, "stdout_line", `{"bytes":${MiB}}`],
    env: { ...toolEnv(), MCP_RUN_CACHE: root },
    clearEnv: true,
    stdin: "null",
  }).output();
  assert.equal(small.code, 0, new TextDecoder().decode(small.stderr));
  assert.ok(small.stdout.length > MiB - 128);
});

Deno.test("mcp-run run drops a client's 256 MiB line without growing", async () => {
  const launcher = new Launcher();
  try {
    await launcher.initialize();
    const chunk = new TextEncoder().encode(`{"jsonrpc":"2.0","id":99,"method":"ping","x":"`);
    await launcher.sendRaw(chunk);
    const filler = new Uint8Array(MiB).fill(67);
    for (let i = 0; i < 256; i++) await launcher.sendRaw(filler);
    await launcher.sendRaw(new TextEncoder().encode(`"}\n`));
    // Positive control: the next request, of ordinary size, is relayed and answered.
    assert.equal(typeof JSON.parse(toolText(await launcher.call("pid"))).pid, "number");
    const peak = launcher.peakRss();
    assert.ok(peak < MAX_LAUNCHER_RSS, `launcher peak RSS ${(peak / MiB).toFixed(0)} MiB`);
    assert.ok(
      launcher.stderrLines.some((l) => /dropped a \d+-byte message from the client/.test(l)),
    );
    assert.equal((await launcher.end()).code, 0);
  } finally {
    await launcher.kill();
  }
});

for (const { suffix, args, ignore } of FLOOD_ISOLATIONS) {
  Deno.test({
    name: `mcp-run run passes a stderr flood on in bounded lines and stays small${suffix}`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
  }, async () => {
    const launcher = new Launcher(args);
    try {
      await launcher.initialize();
      const lines = 20_000;
      const answer = await launcher.call("stderr_flood", { lineBytes: 512 * MiB, lines });
      assert.equal(JSON.parse(toolText(answer)), "flooded");
      const pid = JSON.parse(toolText(await launcher.call("pid"))).pid;
      assert.equal(typeof pid, "number");
      const peak = launcher.peakRss();
      assert.equal((await launcher.end()).code, 0);
      assert.ok(peak < MAX_LAUNCHER_RSS, `launcher peak RSS ${(peak / MiB).toFixed(0)} MiB`);
      // The huge line was cut to a short one that says so; every short line passed (the positive
      // control); the launcher wrote a few MiB, not the 512 MiB it was given.
      assert.equal(launcher.stderrCounts.get("truncated"), 1);
      assert.ok(launcher.stderrLines.some((l) => l.includes("BBBB")));
      assert.equal(launcher.stderrCounts.get("flood line"), lines);
      assert.equal(launcher.stderrCounts.get("stderr flood done"), 1);
      assert.ok(launcher.stderrBytes < 16 * MiB, `launcher wrote ${launcher.stderrBytes} bytes`);
    } finally {
      await launcher.kill();
    }
  });
}

Deno.test("mcp-run run answers the open request when the server crashes, and exits with its code", async () => {
  const launcher = new Launcher();
  try {
    await launcher.initialize();
    // Positive control: the server answers before it crashes.
    assert.equal(typeof JSON.parse(toolText(await launcher.call("pid"))).pid, "number");
    const answer = await launcher.call("crash", { code: 7 });
    assert.equal(answer.error.code, -32603);
    assert.match(answer.error.message, /exited with code 7 before answering/);
    const status = await launcher.finish();
    assert.equal(status.code, 7);
  } finally {
    await launcher.kill();
  }
});

for (const trap of [false, true]) {
  const how = trap ? "a server that ignores SIGTERM" : "its server";
  Deno.test(`SIGTERM to mcp-run run stops ${how} and leaves no child`, async () => {
    const launcher = new Launcher();
    let pid = 0;
    try {
      await launcher.initialize();
      pid = JSON.parse(toolText(await launcher.call(trap ? "trap" : "pid"))).pid;
      // Positive control: the child is alive while the launcher runs.
      assert.equal(isGone(pid), false);
      launcher.child.kill("SIGTERM");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        launcher.finish(),
        new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 15_000)),
      ]);
      clearTimeout(timer);
      assert.ok(status, "the launcher exits");
      assert.ok(status.code === 143 || status.code === 137, `exit code ${status.code}`);
      assert.ok(await waitGone(pid), `server ${pid} is still running`);
    } finally {
      await launcher.kill();
      if (pid && !isGone(pid)) Deno.kill(pid, "SIGKILL");
    }
  });
}
