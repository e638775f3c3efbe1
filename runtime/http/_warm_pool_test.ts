// The warm pool with real `deno run` children (the bridge's fixture server): every process it
// starts is a real one, watched through its pid.
import assert from "node:assert/strict";
import {
  checkWarmSize,
  WarmPool,
  type WarmPoolOptions,
  type WarmProcess,
  whenIdle,
} from "./_warm_pool.ts";
import { type ServerProcess, spawnServer } from "../sandbox/server_process.ts";
import {
  cacheFixtures,
  FIXTURE,
  isAlive,
  ROOT,
  waitAllExited,
} from "../../tests/_bridge_helpers.ts";

/** A start function for the pool, and every process it started. */
function fixtureStarts(script = ["--no-config", FIXTURE]): {
  start: () => Promise<WarmProcess<ServerProcess>>;
  started: ServerProcess[];
} {
  const started: ServerProcess[] = [];
  const home = Deno.env.get("HOME") ?? "/root";
  const denoDir = Deno.env.get("DENO_DIR");
  return {
    started,
    start: async () => {
      await cacheFixtures();
      const process = spawnServer("fixture", {
        program: Deno.execPath(),
        args: ["run", "--no-prompt", "--cached-only", ...script],
        env: { HOME: home, ...(denoDir ? { DENO_DIR: denoDir } : {}) },
        cwd: ROOT,
      }, { onStderr: () => {} });
      started.push(process);
      return {
        value: process,
        exited: process.status,
        stop: async () => void await process.stop(500),
      };
    },
  };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Asks a fixture process its pid over its stdio: proof that it runs and answers. */
async function askPid(process: ServerProcess): Promise<number> {
  const reader = process.lines.getReader();
  try {
    await process.send(JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "t", version: "1" },
      },
    }));
    await reader.read();
    await process.send(JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "pid", arguments: {} },
    }));
    const { value } = await reader.read();
    const line = value?.kind === "line" ? new TextDecoder().decode(value.bytes) : "";
    return Number(JSON.parse(line).result.content[0].text);
  } finally {
    reader.releaseLock();
  }
}

async function withPool(
  options: Partial<WarmPoolOptions<ServerProcess>>,
  body: (pool: WarmPool<ServerProcess>, started: ServerProcess[]) => Promise<void>,
): Promise<void> {
  const { start, started } = fixtureStarts();
  const pool = new WarmPool<ServerProcess>({ size: 2, start, ...options });
  try {
    await body(pool, started);
  } finally {
    await pool.close();
    await Promise.all(started.map((process) => process.stop(500)));
    await waitAllExited(started.map((process) => process.pid));
  }
}

Deno.test("checkWarmSize() refuses negative, fractional and beyond-the-limit sizes", () => {
  checkWarmSize(0, 64);
  checkWarmSize(64, 64);
  for (const [size, limit] of [[-1, 64], [1.5, 64], [NaN, 64], [65, 64]]) {
    assert.throws(() => checkWarmSize(size, limit), RangeError, `${size} of ${limit}`);
  }
  assert.throws(() => checkWarmSize(9, 8), /at most 8 sessions: lower the number/);
});

Deno.test("WarmPool.take() gives each caller its own started process and replaces it", async () => {
  await withPool({ size: 2 }, async (pool, started) => {
    pool.fill();
    await waitFor("two processes ahead", () => pool.ready === 2);
    const ahead = started.map((process) => process.pid);
    const taken = [await pool.take(), await pool.take(), await pool.take()];
    // The first two were the ones started ahead; the third a replacement or one of its own.
    assert.deepEqual(taken.slice(0, 2).map((p) => p.pid), ahead);
    assert.equal(new Set(taken).size, 3, "no process is given twice");
    const pids = await Promise.all(taken.map(askPid));
    assert.deepEqual(pids, taken.map((process) => process.pid), "each one answers as itself");
    assert.equal(pool.taken, 3);
    await waitFor("two replacements ahead", () => pool.ready === 2);
    const fresh = started.filter((process) => !taken.includes(process));
    assert.equal(fresh.length, 2);
    assert.ok(fresh.every((process) => isAlive(process.pid)));
    // A taken process that ends is no longer counted.
    await taken[0].stop(500);
    await waitFor("the ended one uncounted", () => pool.taken === 2);
  });
});

Deno.test("WarmPool.close() ends every process no caller took, those still starting too", async () => {
  const { start, started } = fixtureStarts();
  const pool = new WarmPool<ServerProcess>({ size: 3, start });
  pool.fill();
  await waitFor("three ahead", () => pool.ready === 3);
  const taken = await pool.take();
  // The replacement is still starting when the pool closes.
  await pool.close();
  const others = started.filter((process) => process !== taken);
  assert.equal(others.length, 3);
  await waitAllExited(others.map((process) => process.pid));
  assert.ok(isAlive(taken.pid), "a taken process is its session's to end");
  await assert.rejects(() => pool.take(), /shutting down/);
  await taken.stop(500);
  await waitAllExited([taken.pid]);
});

Deno.test("WarmPool replaces a process that dies while it waits", async () => {
  const errors: string[] = [];
  await withPool({ size: 1, onError: (e) => errors.push(e.message) }, async (pool, started) => {
    pool.fill();
    await waitFor("one ahead", () => pool.ready === 1);
    const first = started[0];
    first.kill("SIGKILL");
    await first.status;
    await waitFor("a replacement ahead", () => pool.ready === 1 && started.length === 2);
    assert.match(errors.join("\n"), /exited before any session used it/);
    const replacement = await pool.take();
    assert.notEqual(replacement, first);
    assert.equal(await askPid(replacement), replacement.pid);
  });
});

Deno.test("WarmPool backs off while processes keep dying at start", async () => {
  const { start, started } = fixtureStarts([
    "--no-config",
    `${ROOT}tests/testdata/no_such_server.ts`,
  ]);
  const errors: string[] = [];
  const pool = new WarmPool<ServerProcess>({
    size: 1,
    start,
    backoffMs: 200,
    onError: (error) => errors.push(error.message),
  });
  try {
    pool.fill();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // 200, 400, 800 ms apart, plus the start-up of each: at most 4 starts in 2 s, not dozens.
    assert.ok(started.length >= 2 && started.length <= 4, `${started.length} starts`);
    assert.equal(pool.ready, 0);
  } finally {
    await pool.close();
  }
  await waitAllExited(started.map((process) => process.pid));
  const count = started.length;
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(started.length, count, "nothing starts after close");
});

Deno.test("WarmPool keeps fewer ahead as taken processes near the limit", async () => {
  await withPool({ size: 2, limit: 3 }, async (pool, started) => {
    pool.fill();
    await waitFor("two ahead", () => pool.ready === 2);
    const a = await pool.take();
    const b = await pool.take();
    // Two taken of three: one more may be alive.
    await waitFor("one ahead", () => pool.ready === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(started.length, 3, "no process beyond the limit");
    const c = await pool.take();
    const d = await pool.take(); // beyond the limit: a caller still gets one
    assert.equal(pool.taken, 4);
    assert.equal(pool.ready, 0);
    assert.equal(new Set([a, b, c, d]).size, 4);
    await Promise.all([a, b].map((process) => process.stop(500)));
    // Two taken of three once more.
    await waitFor("one ahead again", () => pool.ready === 1);
  });
});

Deno.test("WarmPool starts at most maxBooting processes ahead until they have booted", async () => {
  const { start, started } = fixtureStarts();
  const boots: (() => void)[] = [];
  const pool = new WarmPool<ServerProcess>({
    size: 3,
    maxBooting: 1,
    start: async () => {
      const process = await start();
      return { ...process, booted: () => new Promise<void>((resolve) => boots.push(resolve)) };
    },
  });
  try {
    pool.fill();
    await waitFor("the first one booting", () => boots.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(started.length, 1, "the next one waits for the first one's boot");
    boots[0]();
    await waitFor("the second one booting", () => boots.length === 2);
    assert.equal(started.length, 2);
    // A session that finds none booted still gets one at once.
    const taken = await pool.take();
    assert.equal(taken, started[0]);
    // One after the other, each once the one before has booted.
    for (const next of [2, 3]) {
      boots[next - 1]();
      await waitFor(`process ${next + 1} booting`, () => boots.length === next + 1);
    }
    assert.equal(pool.ready, 3);
    boots.forEach((boot) => boot());
  } finally {
    await pool.close();
    await Promise.all(started.map((process) => process.stop(500)));
  }
  await waitAllExited(started.map((process) => process.pid));
});

Deno.test("whenIdle() waits while a process uses the CPU, not once it sleeps", async () => {
  const busy = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "const end = Date.now() + 600; while (Date.now() < end); setTimeout(() => {}, 5000);",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const t0 = Date.now();
    await whenIdle(busy.pid);
    assert.ok(Date.now() - t0 >= 500, `idle after ${Date.now() - t0} ms, while it was busy`);
    // Idle now: the next wait is short.
    const t1 = Date.now();
    await whenIdle(busy.pid);
    assert.ok(Date.now() - t1 < 400, `${Date.now() - t1} ms`);
  } finally {
    busy.kill("SIGKILL");
    await busy.status;
  }
  // An ended process, or a pid that is no process: at once.
  await whenIdle(busy.pid);
  await whenIdle(0);
});
