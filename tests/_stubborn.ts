/**
 * Helpers for the launcher-death tests: the stubborn fixture (ignores SIGTERM and the end of its
 * stdin, writes heartbeat files), the real CLI as a subprocess to SIGKILL, and the canaries —
 * heartbeats that advance or stand still, processes that still name the fixture's folder.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initializeRequest, ROOT, toolEnv } from "./_helpers.ts";

/** The stubborn fixture's manifest. */
export const STUBBORN = `${ROOT}/tests/testdata/stubborn/manifest.jsonc`;

/** The heartbeat count of each of the fixture's heartbeat files in a folder. */
export function heartbeats(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.name.startsWith("beat-")) continue;
    out.set(entry.name, Number(Deno.readTextFileSync(join(dir, entry.name)) || 0));
  }
  return out;
}

/** Waits until `count` heartbeat files exist and each advanced (the positive control). */
export async function waitForHeartbeats(dir: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const before = heartbeats(dir);
    if (before.size >= count) {
      await sleep(400);
      const after = heartbeats(dir);
      const advancing = [...before].filter(([name, n]) => (after.get(name) ?? 0) > n).length;
      if (advancing >= count) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`expected ${count} advancing heartbeats in ${dir}, got ${before.size}`);
    }
    await sleep(100);
  }
}

/**
 * Asserts that no heartbeat advances any more (after giving the supervisor `graceMs` to act)
 * and that no process still names the fixture's folder.
 */
export async function assertAllStopped(dir: string, graceMs = 1500): Promise<void> {
  await sleep(graceMs);
  const before = heartbeats(dir);
  await sleep(800);
  assert.deepEqual(heartbeats(dir), before, "a heartbeat still advances: a server outlived us");
  assert.deepEqual(processesNaming(dir), [], "a process still runs with the fixture's folder");
}

/** Process ids (other than ours) whose command line contains `text`. */
export function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " ");
      if (cmdline.includes(text)) out.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return out;
}

/** Kills (SIGKILL) whatever still names `text`: clean-up after a failed assertion. */
export function killNaming(text: string): void {
  for (const pid of processesNaming(text)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** The real CLI as a subprocess, with its stderr collected. */
export interface Launcher {
  /** The launcher process. */
  child: Deno.ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Waits until its stderr matches, and returns the match. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray>;
}

/** Starts `mcp-run <args>` (stdin piped and kept open, stdout discarded). */
export function startLauncher(args: string[], env: Record<string, string> = {}): Launcher {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, ...args],
    env: { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  (async () => {
    for await (const piece of child.stderr.pipeThrough(new TextDecoderStream())) text += piece;
  })().catch(() => {});
  return {
    child,
    stderr: () => text,
    waitFor: async (pattern) => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const match = pattern.exec(text);
        if (match) return match;
        if (Date.now() > deadline) {
          throw new Error(`no ${pattern} in the launcher's stderr:\n${text}`);
        }
        await sleep(50);
      }
    },
  };
}

/** Kills a launcher with SIGKILL and waits for it. */
export async function killLauncher(launcher: Launcher): Promise<void> {
  launcher.child.kill("SIGKILL");
  const status = await launcher.child.status;
  assert.equal(status.signal, "SIGKILL");
  await launcher.child.stdin.close().catch(() => {});
}

/** Kills a launcher that may already be gone (clean-up). */
export function stopLauncher(launcher: Launcher): void {
  try {
    launcher.child.kill("SIGKILL");
  } catch { /* already gone */ }
}

/** Opens an MCP session over HTTP (initialize), so that `serve` starts a server for it. */
export async function openSession(url: string): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json, text/event-stream" },
    body: JSON.stringify(initializeRequest(1, { name: "launcher-death-test", version: "1.0.0" })),
  });
  await response.body?.cancel();
  assert.equal(response.status, 200, "the session opened");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
