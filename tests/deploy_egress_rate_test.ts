/**
 * The egress cap for containers, applied for real: a network namespace the test creates (only
 * its loopback, nothing leaves the machine), capped with the plan's own commands, then a bounded
 * transfer measured inside it. The positive control: the same transfer without the cap is many
 * times faster.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { applyEgressRate, egressRatePlan, parseRate } from "../runtime/sandbox/egress_rate.ts";
import { ROOT } from "./_helpers.ts";

const root = Deno.uid() === 0;
if (!root) console.error("deploy_egress_rate_test.ts: skipping, namespaces and tc need root");

/** A process alone in a new network namespace, its loopback up. */
async function namespace(): Promise<{ pid: number; stop: () => Promise<void> }> {
  const child = new Deno.Command("unshare", {
    args: ["--net", "sleep", "120"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 5000;
  for (;;) {
    const up = await new Deno.Command("nsenter", {
      args: ["--target", String(child.pid), "--net", "--", "ip", "link", "set", "lo", "up"],
      stderr: "null",
    }).output();
    if (up.success) break;
    if (Date.now() > deadline) throw new Error("the namespace's loopback did not come up");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid,
    stop: async () => {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** Sends `bytes` over 127.0.0.1 inside the namespace; returns the rate in bits per second. */
async function measure(pid: number, bytes: number): Promise<number> {
  const out = await new Deno.Command("nsenter", {
    args: [
      "--target",
      String(pid),
      "--net",
      "--",
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      join(ROOT, "tests/testdata/egress_rate/transfer.ts"),
      String(bytes),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const { bytes: got, ms } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(got, bytes);
  return (got * 8) / (ms / 1000);
}

Deno.test({
  name: "applyEgressRate() caps what a namespace sends at the rate, and only with the cap",
  ignore: !root,
  fn: async () => {
    const ns = await namespace();
    try {
      const bytes = 2_000_000;
      // Positive control: the transfer is fast without a cap.
      const free = await measure(ns.pid, bytes);
      const cap = parseRate("8mbit");
      await applyEgressRate(egressRatePlan(ns.pid, { bitsPerSecond: cap, device: "lo" }));
      const capped = await measure(ns.pid, bytes);
      // The bucket lets its burst through at once; the rest leaves at the rate.
      assert.ok(capped <= cap * 1.25, `capped transfer ran at ${Math.round(capped)} bit/s`);
      assert.ok(capped >= cap * 0.5, `capped transfer too slow: ${Math.round(capped)} bit/s`);
      assert.ok(free > capped * 5, `uncapped ${Math.round(free)} vs capped ${Math.round(capped)}`);
      // Applying again replaces the cap.
      await applyEgressRate(egressRatePlan(ns.pid, { bitsPerSecond: cap * 4, device: "lo" }));
      const raised = await measure(ns.pid, bytes);
      assert.ok(raised > capped * 2, `raised cap ran at ${Math.round(raised)} bit/s`);
    } finally {
      await ns.stop();
    }
  },
});

Deno.test({
  name: "applyEgressRate() says what failed when the namespace is gone",
  ignore: !root,
  fn: async () => {
    const ns = await namespace();
    await ns.stop();
    await assert.rejects(
      () => applyEgressRate(egressRatePlan(ns.pid, { bitsPerSecond: 8000 })),
      /Cannot cap egress: nsenter .* failed/,
    );
  },
});
