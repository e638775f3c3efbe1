import assert from "node:assert/strict";
import { join } from "../runtime/_path.ts";
import { spawnDockerServer } from "../runtime/sandbox/docker_process.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { EGRESS_INSIDE_READY, egressSocketDir } from "../runtime/sandbox/egress_inside.ts";
import { dockerProblem, IMAGE } from "./_docker.ts";

const problem = await dockerProblem("skipping the inside egress watch tests");

/** The containers of that exact name, running or not. */
async function named(name: string): Promise<string> {
  return (await runDocker(["ps", "-aq", "--filter", `name=^${name}$`])).stdout.trim();
}

/** A plan whose container runs `script` where the wrapper and server would, with inside egress. */
function plan(cacheRoot: string, suffix: string, script: string) {
  const container = `mcp-run-watch-${suffix}`;
  return {
    program: "docker",
    args: [
      "run",
      "--rm",
      "-i",
      "--name",
      container,
      "--network",
      "none",
      IMAGE,
      "sh",
      "-c",
      script,
    ],
    env: {},
    cwd: cacheRoot,
    container,
    egress: {
      suffix,
      allow: ["a.test"],
      deny: [],
      inside: {
        socketPath: join(egressSocketDir(cacheRoot, suffix), "proxy.sock"),
        forwarderDir: join(cacheRoot, "egress", "forwarder"),
        runtime: "deno" as const,
      },
    },
  };
}

Deno.test({
  name: "spawnDockerServer() stops a container whose forwarder never says ready, with the reason",
  ignore: problem !== undefined,
  fn: async () => {
    const cacheRoot = await Deno.makeTempDir({ prefix: "mcp-run-watch-" });
    try {
      // A forwarder that hangs: the wrapper would wait for its ready line for ever.
      const lines: string[] = [];
      const hung = spawnDockerServer("hung", plan(cacheRoot, "hung1", "read -r line"), {
        cacheRoot,
        forwarderStartMs: 3000,
        onStderr: (line) => lines.push(line),
      });
      const started = Date.now();
      const status = await hung.status;
      assert.ok(Date.now() - started < 30_000, "the container was not stopped in time");
      assert.equal(status.success, false);
      assert.ok(
        lines.includes(
          'mcp-run: the egress forwarder of "hung" did not start within 3 s, so the server could ' +
            "not reach its granted hosts; its container was stopped",
        ),
        lines.join("\n"),
      );
      await hung.stop();
      assert.equal(await named("mcp-run-watch-hung1"), "");
      assert.throws(() => Deno.statSync(egressSocketDir(cacheRoot, "hung1")), Deno.errors.NotFound);

      // Positive control: a wrapper that says ready keeps running past the same deadline, and its
      // mark is not passed on.
      const seen: string[] = [];
      const ready = spawnDockerServer(
        "ready",
        plan(
          cacheRoot,
          "ready1",
          `echo '${EGRESS_INSIDE_READY}' >&2; echo server up >&2; read -r line`,
        ),
        { cacheRoot, forwarderStartMs: 3000, onStderr: (line) => seen.push(line) },
      );
      await new Promise((resolve) => setTimeout(resolve, 6000));
      assert.deepEqual(seen, ["server up"]);
      const racing = await Promise.race([ready.status, Promise.resolve("running")]);
      assert.equal(racing, "running");
      await ready.stop();
      assert.equal(await named("mcp-run-watch-ready1"), "");
    } finally {
      await Deno.remove(cacheRoot, { recursive: true });
    }
  },
});
