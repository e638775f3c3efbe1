/**
 * The egress cap for containers, applied for real: a network namespace the test creates (only
 * its loopback, nothing leaves the machine), capped with the plan's own commands, then a bounded
 * transfer measured inside it. The positive control: the same transfer without the cap is many
 * times faster. Then docker mode: `serve --egress-rate` sets the cap on the container's own
 * interface (and only with the option).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { applyEgressRate, egressRatePlan, parseRate } from "../runtime/sandbox/egress_rate.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cli, resultText, ROOT } from "./_helpers.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";
import { docker } from "./_deploy_image.ts";
import { startServe } from "./_serve_cli.ts";

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
  const own = await Deno.readLink("/proc/self/ns/net");
  for (;;) {
    // Until unshare has made its namespace, the process is still in this one: entering it then
    // would set up (and cap) this machine's own loopback.
    const theirs = await Deno.readLink(`/proc/${child.pid}/ns/net`).catch(() => own);
    if (theirs === own) {
      if (Date.now() > deadline) throw new Error("unshare did not make a network namespace");
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
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
      // Nothing to resolve: the checkout's configuration and lockfile stay out of it.
      "--no-config",
      "--no-lock",
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

const dockerMissing = root
  ? await dockerProblem("deploy_egress_rate_test.ts: docker part skipping")
  : "not root";

/** The root qdisc of a running container's eth0, as tc shows it. */
async function containerQdisc(container: string): Promise<string> {
  const pid = (await docker(["inspect", "--format", "{{.State.Pid}}", container])).trim();
  const out = await new Deno.Command("nsenter", {
    args: ["--target", pid, "--net", "--", "tc", "qdisc", "show", "dev", "eth0"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Serves the fixture in docker mode, opens one session, and returns its container's qdisc. */
async function servedQdisc(extra: string[]): Promise<string> {
  const served = await startServe([
    join(ROOT, "tests/testdata/egress_rate/manifest.jsonc"),
    "--isolation",
    "docker",
    "--image",
    IMAGE,
    "--network",
    "bridge",
    "--port",
    "0",
    ...extra,
  ]);
  try {
    const client = new Client({ name: "egress-rate-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(served.url)));
    try {
      const result = await client.callTool({ name: "echo", arguments: { text: "capped" } });
      assert.equal(resultText(result), "echo: capped");
      const names = (await docker([
        "ps",
        "--format",
        "{{.Names}}",
        "--filter",
        "name=mcp-run-egress-rate-fixture",
      ])).trim().split("\n").filter((n) => n !== "");
      assert.equal(names.length, 1, `containers: ${names.join(", ")}\n${served.stderr()}`);
      // The cap is set just after the container starts: wait for it, briefly.
      const deadline = Date.now() + 10_000;
      let qdisc = await containerQdisc(names[0]);
      while (extra.length > 0 && !/tbf/.test(qdisc) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        qdisc = await containerQdisc(names[0]);
      }
      return qdisc;
    } finally {
      await client.close();
    }
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
  }
}

Deno.test({
  name: "serve --isolation docker --egress-rate caps the container's interface, only when asked",
  ignore: dockerMissing !== undefined,
  fn: async () => {
    // Positive control: without the option the container keeps its default queue.
    assert.doesNotMatch(await servedQdisc([]), /tbf/);
    assert.match(await servedQdisc(["--egress-rate", "8mbit"]), /qdisc tbf .*rate 8Mbit/);
  },
});

Deno.test("mcp-run refuses --egress-rate without docker, or as a rate it cannot read", async () => {
  const manifest = join(ROOT, "tests/testdata/egress_rate/manifest.jsonc");
  const cases: [string[], RegExp][] = [
    [
      ["run", manifest, "--egress-rate", "8mbit", "--isolation", "deno"],
      /needs --isolation docker/,
    ],
    [
      ["run", manifest, "--isolation", "docker", "--egress-rate", "fast"],
      /Cannot cap egress at "fast"/,
    ],
    [
      ["call", manifest, "echo", "--egress-rate", "8mbit"],
      /--egress-rate is not an option of call/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
