/**
 * Start-up timing shared by the benchmarks: spawn a plan, initialize, and time until the first
 * `tools/list` answer; medians, and ratios taken round by round.
 *
 * @module
 */
import { startPlan } from "../runtime/sandbox/server_process.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { initializeRequest } from "./_helpers.ts";

/** A named way to start the server measured: a fresh plan each time. */
export type BenchVariant = [string, () => LaunchPlan];

/**
 * Spawns a plan and times spawn → initialize → `tools/list` answered, then stops it.
 *
 * @param plan The plan to start.
 * @returns Milliseconds.
 * @throws {Error} When the process exits before answering.
 */
export async function timeToToolsList(plan: LaunchPlan): Promise<number> {
  const start = performance.now();
  const child = startPlan(plan, "null");
  const writer = child.stdin.getWriter();
  const send = (m: unknown) => writer.write(new TextEncoder().encode(JSON.stringify(m) + "\n"));
  await send(initializeRequest(1, { name: "b", version: "1" }));
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let elapsed = -1;
  while (elapsed < 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${plan.program} exited before answering`);
    buffered += value;
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const msg = JSON.parse(line);
      if (msg.id === 1) {
        await send({ jsonrpc: "2.0", method: "notifications/initialized" });
        await send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
      } else if (msg.id === 2 && msg.result?.tools?.length) {
        elapsed = performance.now() - start;
      }
    }
  }
  await writer.close();
  reader.cancel();
  try {
    child.kill("SIGTERM");
  } catch { /* exited */ }
  await child.status;
  return elapsed;
}

/**
 * The median of some samples.
 *
 * @param xs The samples.
 * @returns The middle one (the upper of two).
 */
export function medianOf(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/**
 * The median of round-by-round ratios: each round runs every variant back to back, so a ratio
 * taken per round is not moved by the machine's speed drifting over the run.
 *
 * @param samples Milliseconds per variant, one per round.
 * @param name The variant measured.
 * @param base The variant it is divided by.
 * @returns The median ratio.
 */
export function ratioOf(samples: Map<string, number[]>, name: string, base: string): number {
  return medianOf(samples.get(name)!.map((ms, i) => ms / samples.get(base)![i]));
}
