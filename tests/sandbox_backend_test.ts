/**
 * A third sandbox backend plugs in with no change to the callers: a sandbox that starts the
 * native plan through a wrapper program (`env`) and records what it was asked, driving the real
 * `connectServer` and `serveServer` with a real MCP SDK client and a real server process.
 */
import assert from "node:assert/strict";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { DenoSandbox, type DenoSandboxOptions } from "../runtime/sandbox/deno_sandbox.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "../runtime/sandbox/sandbox.ts";
import { type ServerProcess, spawnServer } from "../runtime/sandbox/server_process.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { serveServer } from "../runtime/http/serve_server.ts";
import { callText, connectClient } from "./_bridge_helpers.ts";
import { ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { attackerManifest, removeOnExit } from "./_security.ts";

const FAULTY = `${ROOT}/tests/testdata/faulty/server.ts`;
const WRAPPER = "/usr/bin/env";
const cache = removeOnExit(tempDir("mcp-run-sandbox-backend-"));

/** The third backend: the native plan run through a wrapper, every call recorded in order. */
class WrapperSandbox implements Sandbox {
  readonly isolation = "wrapper";
  readonly unit = "wrapped process";
  /** The calls, in order (`verify` when a caller awaited the cache check). */
  readonly calls: string[] = [];
  /** The plans started. */
  readonly started: LaunchPlan[] = [];
  #inner: DenoSandbox;

  constructor(options: DenoSandboxOptions) {
    this.#inner = new DenoSandbox(options);
  }

  plan(server: ResolvedServer, _options?: SandboxPlanOptions): LaunchPlan {
    this.calls.push("plan");
    const inner = this.#inner.plan(server);
    return { ...inner, program: WRAPPER, args: [inner.program, ...inner.args] };
  }

  async pull(server: ResolvedServer): Promise<void> {
    this.calls.push("pull");
    await this.#inner.pull(server);
  }

  async prepare(server: ResolvedServer): Promise<PreparedLaunch> {
    this.calls.push("prepare");
    const prepared = await this.#inner.prepare(server);
    return {
      verify: () => {
        this.calls.push("verify");
        return prepared.verify();
      },
    };
  }

  spawn(server: ResolvedServer, options: SandboxSpawnOptions = {}): ServerProcess {
    this.calls.push("spawn");
    const plan = options.plan ?? this.plan(server);
    this.started.push(plan);
    return spawnServer(server.name, plan, options);
  }
}

function faultyServer(): ResolvedServer {
  const manifest = attackerManifest({ name: "wrapped", package: FAULTY, args: ["crash-in-call"] });
  return resolveServer(manifest, { cacheRoot: cache });
}

function wrapperSandbox(): WrapperSandbox {
  return new WrapperSandbox({ cacheRoot: cache, source: toolEnv(), progress: () => {} });
}

Deno.test("connectServer() starts a server in a third sandbox backend through its plan", async () => {
  const sandbox = wrapperSandbox();
  const server = faultyServer();
  const connected = await connectServer(server, {
    cacheRoot: cache,
    sandbox,
    onStderr: () => {},
  });
  try {
    const result = await connected.client.callTool({ name: "echo", arguments: { text: "hi" } });
    assert.deepEqual(result.content, [{ type: "text", text: "hi" }]);
  } finally {
    await connected.close();
  }
  assert.deepEqual(sandbox.calls, ["plan", "prepare", "spawn", "verify"]);
  assert.equal(sandbox.started.length, 1);
  assert.equal(sandbox.started[0].program, WRAPPER, "the wrapper started the server");
  // The native plan it wraps (under prlimit where util-linux has it).
  assert.ok(sandbox.started[0].args.includes("run"), sandbox.started[0].args.join(" "));
});

Deno.test("serveServer() serves a server from a third sandbox backend, one process per session", async () => {
  const sandbox = wrapperSandbox();
  const server = faultyServer();
  const served = await serveServer(server, {
    cacheRoot: cache,
    sandbox,
    hostname: "127.0.0.1",
    port: 0,
    onStderr: () => {},
  });
  try {
    for (const text of ["one", "two"]) {
      const { client } = await connectClient({ url: served.url });
      try {
        assert.equal(await callText(client, "echo", { text }), text);
      } finally {
        await client.close();
      }
    }
  } finally {
    await served.shutdown();
    await served.finished;
  }
  // Verified before listening: no session reaches code that was not checked.
  assert.deepEqual(sandbox.calls.slice(0, 3), ["plan", "prepare", "verify"]);
  assert.deepEqual(sandbox.calls.slice(3).filter((c) => c === "spawn"), ["spawn", "spawn"]);
  // One plan per process: the first session starts the plan made before listening.
  assert.equal(sandbox.calls.filter((c) => c === "plan").length, 2);
  assert.ok(sandbox.started.every((plan) => plan.program === WRAPPER));
});
