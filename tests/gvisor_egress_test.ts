/**
 * gVisor isolation and the network, for real: the engine's `runsc` runtime, the stand-in images,
 * the real MCP SDK client. A gVisor container has its own network stack, so a server with `net`
 * grants keeps `--network none` and reaches the egress proxy on the host through its mounted
 * socket, by a forwarder running inside its container.
 *
 * Two loopback listeners on the host: one granted to the server (the positive control), one not
 * (the canary, which counts every request). A Deno server (the attacker fixture) and a Python
 * server (the malicious `pypi:` fixture) reach the granted one, are refused the canary (by Deno's
 * own flags, and by the proxy for the Python server, which has no inner wall), and have no route
 * around the proxy. The same servers under docker isolation reach the granted listener too.
 * Through the sandbox API, `mcp-run call`, `mcp-run run` (a real MCP client over stdio) and
 * `mcp-run serve` (one container and one proxy per session); the
 * proxy's refusals reach the launcher's stderr, and Deno's own through the audit FIFO mounted into
 * the gVisor container. Nothing is left running, and no socket folder is left in the cache.
 *
 * In CI (CI=true) these tests never skip: docker or gVisor missing there fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { listContainers } from "../runtime/sandbox/docker_engine.ts";
import { DockerSandbox } from "../runtime/sandbox/docker_sandbox.ts";
import { GvisorSandbox, type GvisorSandboxOptions } from "../runtime/sandbox/gvisor_sandbox.ts";
import { IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { gvisorProblem } from "./_gvisor.ts";
import { EVIL_PACKAGE, evilOptions, pullEvil } from "./_evil_container.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cli, resultText, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { connectClient } from "./_bridge_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { attackerManifest, manifestText, removeOnExit, startCanary } from "./_security.ts";
import { waitGone } from "./_catalogue_container.ts";

const problem = await gvisorProblem("gvisor_egress_test.ts: skipping", { python: true });
const base = { ignore: problem !== undefined, sanitizeResources: false, sanitizeOps: false };

const dir = base.ignore ? "/nonexistent" : removeOnExit(tempDir("mcp-run-gvisor-egress-"));
const cache = join(dir, "cache");
const granted = base.ignore ? undefined : startCanary();
const canary = base.ignore ? undefined : startCanary();
globalThis.addEventListener("unload", () => {
  granted?.close();
  canary?.close();
});

const grantedUrl = () => `http://127.0.0.1:${granted!.port}/granted`;
const canaryUrl = () => `http://127.0.0.1:${canary!.port}/canary`;

/** A manifest granting the granted listener alone: loopback is granted only by a parameter. */
function grantedServer(name: string, pkg?: string): ResolvedServer {
  const manifest = attackerManifest({
    name,
    ...(pkg ? { package: pkg } : {}),
    parameters: { upstream: { type: "host[]", description: "Hosts", required: true } },
    permissions: { net: ["${upstream}"] },
  });
  return resolveServer(manifest, {
    cacheRoot: cache,
    params: { upstream: [`127.0.0.1:${granted!.port}`] },
  });
}

/** The sandbox options: the stand-in images, the host network for the Deno pull. */
function options(): GvisorSandboxOptions {
  return { ...evilOptions(cache, toolEnv()), image: IMAGE, network: "host" };
}

// deno-lint-ignore no-explicit-any
type Report = any;

/** Starts a server in a sandbox, calls tools, stops it; returns the reports and its stderr. */
async function session(
  server: ResolvedServer,
  sandbox: DockerSandbox | GvisorSandbox,
  calls: [tool: string, args: Record<string, unknown>][],
): Promise<{ reports: Report[]; stderr: string }> {
  let stderr = "";
  const connected = await connectServer(server, {
    ...options(),
    autoPull: false,
    sandbox,
    onStderr: (line: string) => stderr += `${line}\n`,
    timeoutMs: 90_000,
  });
  const reports: Report[] = [];
  try {
    for (const [name, args] of calls) {
      const result = await connected.request(
        "tools/call",
        (o) => connected.client.callTool({ name, arguments: args }, undefined, o),
      );
      reports.push(JSON.parse(resultText(result as { content?: unknown })));
    }
  } finally {
    await connected.close();
  }
  return { reports, stderr };
}

/** No container of the server is left, and no egress socket folder in the cache. */
async function assertNothingLeft(name: string): Promise<void> {
  assert.deepEqual(await waitGone(name), [], "containers left");
  const sockets = [];
  try {
    for (const entry of Deno.readDirSync(join(cache, "egress"))) {
      if (entry.name.startsWith("socket-")) sockets.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error; // no egress folder
  }
  assert.deepEqual(sockets, [], "socket folders left");
}

/** The listeners' hit counts now, for {@linkcode assertHitsThenNothingLeft}. */
function hitCounts(): { granted: number; canary: number } {
  return { granted: granted!.hits.length, canary: canary!.hits.length };
}

/**
 * A test's end: the granted listener got `grantedHits` requests since `before` (the positive
 * control), the canary none; and nothing of the server is left.
 */
async function assertHitsThenNothingLeft(
  before: { granted: number; canary: number },
  grantedHits: number,
  name: string,
): Promise<void> {
  assert.equal(granted!.hits.length, before.granted + grantedHits);
  assert.equal(canary!.hits.length, before.canary, "the canary was reached");
  await assertNothingLeft(name);
}

let denoPulled: Promise<ResolvedServer> | undefined;
/** The Deno fixture, pulled once (the pull container is docker's, on the host network). */
function pulledDeno(): Promise<ResolvedServer> {
  denoPulled ??= (async () => {
    const server = grantedServer("gvisor-net-deno");
    await new GvisorSandbox(options()).pull(server);
    return server;
  })();
  return denoPulled;
}

Deno.test({
  ...base,
  name: "GvisorSandbox gives a Deno server its granted host through the proxy and nothing else",
  fn: async () => {
    const server = await pulledDeno();
    const before = hitCounts();
    const { reports: [ok, refused, direct], stderr } = await session(
      server,
      new GvisorSandbox(options()),
      [
        ["fetch", { url: grantedUrl() }],
        ["fetch", { url: canaryUrl() }],
        ["connect", { hostname: "127.0.0.1", port: granted!.port }],
      ],
    );
    assert.equal(ok.ok, true, JSON.stringify(ok) + stderr);
    assert.equal(ok.value.status, 200);
    assert.equal(ok.value.body, "canary");
    // Deno's own flags refuse the canary before any byte leaves.
    assert.equal(refused.ok, false);
    assert.match(refused.error, /NotCapable|Requires net access/);
    // Around the proxy: the container's loopback is its own, the host's listener is not there.
    assert.equal(direct.ok, false, JSON.stringify(direct));
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

Deno.test({
  ...base,
  name: "DockerSandbox gives the same Deno server its granted host (positive control)",
  fn: async () => {
    const server = await pulledDeno();
    const before = hitCounts();
    const { reports: [ok] } = await session(server, new DockerSandbox(options()), [
      ["fetch", { url: grantedUrl() }],
    ]);
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.value.body, "canary");
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

let pythonPulled: Promise<ResolvedServer> | undefined;
/** The malicious Python fixture granted the granted listener alone, pulled once. */
function pulledPython(): Promise<ResolvedServer> {
  pythonPulled ??= (async () => {
    const server = grantedServer("gvisor-net-python", EVIL_PACKAGE);
    await pullEvil(server, cache);
    return server;
  })();
  return pythonPulled;
}

Deno.test({
  ...base,
  name:
    "GvisorSandbox gives a pypi: server its granted host through the proxy, and the proxy refuses the rest",
  fn: async () => {
    const server = await pulledPython();
    const before = hitCounts();
    const { reports: [ok, refused, direct, resolve], stderr } = await session(
      server,
      new GvisorSandbox({ ...options(), pythonImage: PYTHON_IMAGE }),
      [
        ["fetch", { url: grantedUrl() }],
        ["fetch", { url: canaryUrl() }],
        ["connect", { host: "127.0.0.1", port: canary!.port }],
        ["resolve", { host: "example.com" }],
      ],
    );
    assert.equal(ok.ok, true, JSON.stringify(ok) + stderr);
    assert.equal(ok.status, 200);
    // No inner wall in Python: the proxy is what refuses the canary.
    assert.equal(refused.ok, false, JSON.stringify(refused));
    assert.match(JSON.stringify(refused), /403/);
    assert.equal(direct.ok, false, JSON.stringify(direct));
    assert.equal(resolve.ok, false, JSON.stringify(resolve));
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

Deno.test({
  ...base,
  name: "DockerSandbox gives the same pypi: server its granted host (positive control)",
  fn: async () => {
    const server = await pulledPython();
    const before = hitCounts();
    const { reports: [ok] } = await session(
      server,
      new DockerSandbox({ ...options(), pythonImage: PYTHON_IMAGE }),
      [["fetch", { url: grantedUrl() }]],
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

/** Writes a manifest file for the CLI: the granted listener alone, by parameter. */
function manifestFile(name: string, pkg?: string): string {
  const path = join(dir, `${name}.jsonc`);
  Deno.writeTextFileSync(
    path,
    manifestText({
      name,
      ...(pkg ? { package: pkg } : {}),
      parameters: { upstream: { type: "host[]", description: "Hosts", required: true } },
      permissions: { net: ["${upstream}"] },
    }),
  );
  return path;
}

/** The CLI options of every launch here: the granted listener, gvisor, the cache. */
function launchOptions(): string[] {
  return ["-p", `upstream=127.0.0.1:${granted!.port}`, "--isolation", "gvisor", "--cache", cache];
}

/** Writes the user config naming the stand-in images; returns its path. */
function userConfig(): string {
  const config = join(dir, "config.json");
  Deno.writeTextFileSync(config, JSON.stringify({ images: { deno: IMAGE, python: PYTHON_IMAGE } }));
  return config;
}

/** `mcp-run call … --isolation gvisor` with the stand-in images. */
async function cliCall(manifest: string, url: string) {
  return await cli([
    "call",
    manifest,
    "fetch",
    JSON.stringify({ url }),
    ...launchOptions(),
    "--yes",
  ], {
    env: { HOME: Deno.env.get("HOME") ?? "/root", NO_COLOR: "1", MCP_RUN_CONFIG: userConfig() },
  });
}

Deno.test({
  ...base,
  name: "mcp-run call --isolation gvisor gives a Deno server its granted host through the proxy",
  fn: async () => {
    const server = await pulledDeno();
    const manifest = manifestFile(server.name);
    const before = hitCounts();
    const ok = await cliCall(manifest, grantedUrl());
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { ok: true, value: { status: 200, body: "canary" } });
    const refused = await cliCall(manifest, canaryUrl());
    assert.equal(JSON.parse(refused.stdout).ok, false, refused.stdout);
    // Deno's own refusal, from the audit FIFO mounted into the gVisor container: the only one
    // (the forwarder's own permission checks never reach the server's audit).
    assert.match(
      refused.stderr,
      new RegExp(`^Refused \\(1\\):\\n  net 127\\.0\\.0\\.1:${canary!.port}: `, "m"),
    );
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

Deno.test({
  ...base,
  name:
    "mcp-run call --isolation gvisor gives a pypi: server its granted host, and reports the proxy's refusal",
  fn: async () => {
    const server = await pulledPython();
    const manifest = manifestFile(server.name, EVIL_PACKAGE);
    const before = hitCounts();
    const ok = await cliCall(manifest, grantedUrl());
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).status, 200, ok.stdout);
    const refused = await cliCall(manifest, canaryUrl());
    assert.match(refused.stdout, /403/);
    assert.match(
      refused.stderr,
      new RegExp(`^mcp-run egress: refused 127\\.0\\.0\\.1:${canary!.port}: .*not granted`, "m"),
    );
    await assertHitsThenNothingLeft(before, 1, server.name);
  },
});

Deno.test({
  ...base,
  name:
    "mcp-run run --isolation gvisor serves a real MCP client a pypi: server that reaches only its granted host",
  fn: async () => {
    const server = await pulledPython();
    const manifest = manifestFile(server.name, EVIL_PACKAGE);
    const config = userConfig();
    const before = hitCounts();
    const client = new Client({ name: "gvisor-egress-test", version: "1.0.0" });
    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      args: [
        "run",
        "-A",
        "--quiet",
        join(ROOT, "mod.ts"),
        "run",
        manifest,
        ...launchOptions(),
        "--yes",
      ],
      env: {
        ...toolEnv(),
        HOME: Deno.env.get("HOME") ?? "/root",
        NO_COLOR: "1",
        MCP_RUN_CONFIG: config,
      },
      stderr: "pipe",
    });
    await client.connect(transport);
    try {
      const call = async (url: string) =>
        JSON.parse(resultText(await client.callTool({ name: "fetch", arguments: { url } })));
      assert.equal((await call(grantedUrl())).status, 200);
      assert.match(JSON.stringify(await call(canaryUrl())), /403/);
      assert.equal((await call(grantedUrl())).status, 200);
    } finally {
      await client.close();
    }
    await assertHitsThenNothingLeft(before, 2, server.name);
  },
});

Deno.test({
  ...base,
  name:
    "mcp-run serve --isolation gvisor gives each session its own container and egress proxy, and removes both",
  fn: async () => {
    const server = await pulledDeno();
    const manifest = manifestFile(server.name);
    const before = hitCounts();
    const served = await startServe([
      manifest,
      ...launchOptions(),
      ...["--port", "0", "--image", IMAGE, "--yes"],
    ]);
    try {
      const a = await connectClient({ url: served.url });
      const b = await connectClient({ url: served.url });
      try {
        const fetchGranted = async (client: typeof a.client) =>
          JSON.parse(
            resultText(await client.callTool({ name: "fetch", arguments: { url: grantedUrl() } })),
          );
        assert.equal((await fetchGranted(a.client)).value?.status, 200, served.stderr());
        assert.equal((await fetchGranted(b.client)).value?.status, 200, served.stderr());
        assert.equal((await listContainers({ "mcp-run.server": server.name })).length, 2);
        const sockets = [...Deno.readDirSync(join(cache, "egress"))]
          .filter((e) => e.name.startsWith("socket-"));
        assert.equal(sockets.length, 2, "one proxy per session");
      } finally {
        await a.client.close();
        await b.client.close();
      }
    } finally {
      served.child.kill("SIGTERM");
      assert.equal((await served.child.status).code, 0, served.stderr());
    }
    await assertHitsThenNothingLeft(before, 2, server.name);
  },
});
