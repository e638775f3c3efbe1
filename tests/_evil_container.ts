/**
 * The malicious Python fixture (tests/testdata/python/evil_server.py) as a `pypi:` package for
 * the container security tests: built as a wheel, served by a loopback simple index, pulled by
 * mcp-run's own Python pull (`PIP_INDEX_URL`; the pull's egress proxy allows that index only), then
 * launched under a manifest by the docker sandbox. Also runs the same fixture unsandboxed on
 * the host, the positive control that proves a canary can fire.
 *
 * Requires docker, the Python stand-in image (tools/docker_setup.sh) and `pip`/`python3` on
 * the host.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { type ConnectedServer, connectServer } from "../runtime/sandbox/connect.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { DockerSandbox, type DockerSandboxOptions } from "../runtime/sandbox/docker_sandbox.ts";
import { GvisorSandbox } from "../runtime/sandbox/gvisor_sandbox.ts";
import { pythonPull } from "../runtime/sandbox/python_pull.ts";
import { pythonImageOf } from "../runtime/sandbox/python_plan.ts";
import type { LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { parseOciPackage } from "../runtime/policy/package_kind.ts";
import type { PythonPullRecord } from "../runtime/sandbox/python_cache.ts";
import { buildWheel, EVIL_PROJECT, PYTHON_TESTDATA, startPypiIndex } from "./_pypi_index.ts";
import { publishEvilServerImage } from "./_oci_server_image.ts";
import { startOciRegistry } from "./oci_registry.ts";
import { dockerProblem, IMAGE, PYTHON_IMAGE } from "./_docker.ts";
import { resultText, toolEnv } from "./_helpers.ts";

/** The stand-in Python image tools/docker_setup.sh builds (see tests/_docker.ts). */
export const PYTHON_TEST_IMAGE: string = PYTHON_IMAGE;

/** The fixture's package, as a manifest names it. */
export const EVIL_PACKAGE = "pypi:mcp-run-test-evil@0.1.0";

/** What a test's manifest grants the fixture. */
export interface EvilGrants {
  /** The manifest's name (also the `mcp-run.server` label of its containers). */
  name: string;
  /** The package (default {@linkcode EVIL_PACKAGE}; an `oci:` image of the same fixture). */
  package?: string;
  /** Folders it may read (`permissions.read`). */
  read?: string[];
  /** Folders it may write (`permissions.write`). */
  write?: string[];
  /** Hosts it may reach (`permissions.net`), through the egress proxy. */
  net?: string[];
  /** Variable names it gets from the launcher's environment (`permissions.env`). */
  env?: string[];
}

/**
 * Resolves the fixture's manifest as the CLI does.
 *
 * @param grants Name and permissions.
 * @param cacheRoot The test's cache root.
 * @returns The resolved server.
 */
export function evilServer(grants: EvilGrants, cacheRoot: string): ResolvedServer {
  const permissions = Object.fromEntries(
    (["read", "write", "net", "env"] as const).flatMap((k) => grants[k] ? [[k, grants[k]]] : []),
  );
  const manifest = parseManifest(JSON.stringify({
    name: grants.name,
    description: "A malicious Python test server",
    package: grants.package ?? EVIL_PACKAGE,
    permissions,
  }));
  return resolveServer(manifest, { cacheRoot });
}

/**
 * The docker sandbox options of these tests: the stand-in images, and the launcher's
 * environment as `source` (what declared env names are read from).
 *
 * @param cacheRoot The test's cache root.
 * @param source The launcher's environment.
 * @returns The options.
 */
export function evilOptions(
  cacheRoot: string,
  source: Record<string, string> = toolEnv(),
): DockerSandboxOptions {
  return {
    cacheRoot,
    image: IMAGE,
    pythonImage: PYTHON_TEST_IMAGE,
    source,
    approve: true,
    progress: () => {},
  };
}

/**
 * Builds the fixture's wheel, serves it on a loopback index and pulls it with mcp-run's Python
 * pull into the cache; the index is closed again.
 *
 * @param server The resolved fixture (its grants do not matter to the pull).
 * @param cacheRoot The test's cache root.
 * @returns The pull record, and the index's request log.
 */
export async function pullEvil(
  server: ResolvedServer,
  cacheRoot: string,
): Promise<{ record: PythonPullRecord; requests: string[] }> {
  const wheels = await Deno.makeTempDir({ prefix: "mcp-run-evil-wheel-" });
  const index = await startPypiIndex({ files: [await buildWheel(EVIL_PROJECT, wheels)] });
  try {
    const record = await pythonPull(server, {
      // No network option: as for a user, the pull containers reach the index named by
      // PIP_INDEX_URL only, through the egress proxy.
      ...evilOptions(cacheRoot, { ...toolEnv(), PIP_INDEX_URL: index.url }),
      pullImage: false,
    });
    return { record, requests: [...index.requests] };
  } finally {
    await index.close();
    await Deno.remove(wheels, { recursive: true });
  }
}

/**
 * A tool's JSON report: `ok` says whether the attempt worked; the rest depends on the tool
 * (see evil_server.py).
 */
// deno-lint-ignore no-explicit-any
export type Report = any;

/**
 * Builds the fixture's image, pushes it to a loopback registry and pulls it by digest with the
 * docker sandbox's pull step (the engine's copy of the pushed digest is removed first, so only
 * the pull brings it back); the registry is closed again. The caller removes the reference.
 *
 * @param grants The manifest's name and permissions (its package is the image).
 * @param options The sandbox options ({@linkcode evilOptions}).
 * @returns The resolved `oci:` server and the image reference.
 */
export async function pullEvilImage(
  grants: EvilGrants,
  options: DockerSandboxOptions,
): Promise<{ server: ResolvedServer; reference: string }> {
  const registry = await startOciRegistry();
  try {
    const reference = await publishEvilServerImage(registry);
    await runDocker(["rmi", reference]);
    const server = evilServer({ ...grants, package: `oci:${reference}` }, options.cacheRoot);
    await new DockerSandbox(options).pull(server);
    return { server, reference };
  } finally {
    await registry.close();
  }
}

/** A connected fixture in its container. */
export class EvilContainer {
  /** The connection. */
  readonly connected: ConnectedServer;
  /** @param connected The connection. */
  constructor(connected: ConnectedServer) {
    this.connected = connected;
  }
  /**
   * Calls an attack tool and returns its JSON report (`ok` says whether the attempt worked).
   *
   * @param tool The tool.
   * @param args Its arguments.
   * @returns The report.
   */
  async call(tool: string, args: Record<string, unknown> = {}): Promise<Report> {
    const result = await this.connected.request(
      "tools/call",
      (options) =>
        this.connected.client.callTool({ name: tool, arguments: args }, undefined, options),
    );
    return JSON.parse(resultText(result as { content?: unknown }));
  }
  /** Stops the container. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.connected.close();
  }
}

/** The container isolations the attacks run under: docker (runc) or gVisor. */
export type ContainerIsolation = "docker" | "gvisor";

/**
 * Starts the pulled fixture in the docker or gVisor sandbox and connects the real MCP SDK
 * client.
 *
 * @param server The resolved fixture.
 * @param options The sandbox options ({@linkcode evilOptions}).
 * @param isolation The sandbox: `docker` (default) or `gvisor`.
 * @param edit Changes the sandbox's plan before the start (for positive controls).
 * @returns The connected fixture; dispose of it to stop the container.
 */
export async function launchEvil(
  server: ResolvedServer,
  options: DockerSandboxOptions,
  isolation: ContainerIsolation = "docker",
  edit?: (plan: LaunchPlan) => LaunchPlan | Promise<LaunchPlan>,
): Promise<EvilContainer> {
  const sandboxOptions = { ...options, autoPull: false };
  const sandbox = isolation === "gvisor"
    ? new GvisorSandbox(sandboxOptions)
    : new DockerSandbox(sandboxOptions);
  const connected = await connectServer(server, {
    ...options,
    autoPull: false,
    sandbox,
    ...(edit ? { plan: await edit(sandbox.plan(server)) } : {}),
    onStderr: () => {},
    timeoutMs: 60_000,
  });
  return new EvilContainer(connected);
}

/**
 * The image the fixture runs in: the Python image of a `pypi:` package, the image of an
 * `oci:` one, as the sandbox's plan names it.
 *
 * @param server The resolved fixture.
 * @param options The sandbox options ({@linkcode evilOptions}).
 * @returns The image reference.
 */
export function evilImage(server: ResolvedServer, options: DockerSandboxOptions): string {
  return server.specifier.startsWith("oci:")
    ? parseOciPackage(server.specifier).reference
    : pythonImageOf(server, options.pythonImage);
}

/**
 * The positive control: runs the same fixture unsandboxed, as a plain host process from a copy
 * of its source, with the environment given, and returns the report of one tool call.
 *
 * @param tool The tool.
 * @param args Its arguments.
 * @param env The process's whole environment.
 * @returns The report.
 */
export async function callUnsandboxed(
  tool: string,
  args: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<Report> {
  const copy = await Deno.makeTempDir({ prefix: "mcp-run-evil-host-" });
  try {
    await Deno.copyFile(join(PYTHON_TESTDATA, "evil_server.py"), join(copy, "evil_server.py"));
    const messages = [
      { jsonrpc: "2.0", id: 1, method: "initialize", params: {} },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: args } },
    ];
    const child = new Deno.Command("python3", {
      args: ["-I", join(copy, "evil_server.py")],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(messages.map((m) => JSON.stringify(m)).join("\n")));
    await writer.close();
    const out = await child.output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    const reply = JSON.parse(lines.at(-1)!);
    assert.equal(reply.id, 2, new TextDecoder().decode(out.stderr));
    return JSON.parse(reply.result.content[0].text);
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}

/**
 * Why these tests cannot run here (no docker, no stand-in images), if they cannot; in CI they
 * never skip.
 *
 * @returns The reason, or undefined.
 * @throws {Error} In CI (CI=true), when they would skip.
 */
export async function evilProblem(): Promise<string | undefined> {
  return await dockerProblem(undefined, { python: true });
}
