/** Shared test helpers: temp folders, the CLI as a subprocess, registry servers resolved. */
import assert from "node:assert/strict";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { fileURLToPath as fromFileUrl } from "node:url";
import { loadManifest } from "../runtime/registry/load.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";

/** The repository root. */
export const ROOT: string = fromFileUrl(new URL("..", import.meta.url)).replace(/\/$/, "");

/** A fresh canonical temp folder. */
export function tempDir(prefix = "mcp-run-test-"): string {
  return Deno.realPathSync(Deno.makeTempDirSync({ prefix }));
}

/** Result of running the CLI. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `mcp-run` (this checkout's mod.ts) with the given arguments. */
export async function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; cwd?: string } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, ...args],
    env: options.env && { ...toolEnv(), ...options.env },
    clearEnv: options.env !== undefined,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * The variables the Deno running mcp-run itself needs when a test gives the CLI a bare
 * environment: where its own module cache is, and how to trust TLS on this machine.
 */
export function toolEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  const out: Record<string, string> = {
    DENO_DIR: env.DENO_DIR ?? `${env.HOME}/.cache/deno`,
    PATH: env.PATH ?? "/usr/bin:/bin",
  };
  for (const name of ["DENO_CERT", "DENO_TLS_CA_STORE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"]) {
    if (env[name]) out[name] = env[name];
  }
  return out;
}

/** Loads a registry manifest and resolves it against a cache root. */
export async function registryServer(
  name: string,
  cacheRoot: string,
  params: Record<string, string | string[]> = {},
): Promise<ResolvedServer> {
  const { manifest } = await loadManifest(name);
  return resolveServer(manifest, { params, cacheRoot });
}

/** Text of the text items of a tool result. */
export function resultText(result: { content?: unknown }): string {
  return ((result.content ?? []) as { type: string; text?: string }[])
    .filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

/** A work folder for the filesystem server: a granted folder with a note, and canaries outside. */
export interface FilesystemScene {
  work: string;
  granted: string;
  canary: string;
}

/**
 * Lays out `work/granted/note.txt`, and the same canary in `work/secret.txt` and in the
 * sibling-prefix folder `work/granted-evil/s.txt`.
 */
export function filesystemScene(work: string, mode?: number): FilesystemScene {
  const granted = `${work}/granted`;
  Deno.mkdirSync(granted, { mode });
  if (mode !== undefined) Deno.chmodSync(granted, mode);
  Deno.writeTextFileSync(`${granted}/note.txt`, "inside the grant");
  const canary = `CANARY-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(`${work}/secret.txt`, canary);
  Deno.mkdirSync(`${work}/granted-evil`);
  Deno.writeTextFileSync(`${work}/granted-evil/s.txt`, canary);
  return { work, granted, canary };
}

/**
 * Drives a connected filesystem server through the scene: reads the note, is refused (with no
 * canary in the answer) outside the grant — by path, `..` and sibling prefix, plus `extraDenied`
 * — and writes inside the grant.
 */
export async function checkFilesystemConfined(
  client: Client,
  scene: FilesystemScene,
  extraDenied: string[] = [],
): Promise<void> {
  const { work, granted, canary } = scene;
  const ok = await client.callTool({
    name: "read_text_file",
    arguments: { path: `${granted}/note.txt` },
  });
  assert.equal(resultText(ok), "inside the grant");
  const outside = [
    `${work}/secret.txt`,
    `${granted}/../secret.txt`,
    `${work}/granted-evil/s.txt`,
    ...extraDenied,
  ];
  for (const path of outside) {
    const denied = await client.callTool({ name: "read_text_file", arguments: { path } });
    assert.equal(denied.isError, true, path);
    assert.ok(!JSON.stringify(denied).includes(canary), path);
  }
  const wrote = await client.callTool({
    name: "write_file",
    arguments: { path: `${granted}/out.txt`, content: "written" },
  });
  assert.notEqual(wrote.isError, true, resultText(wrote));
  assert.equal(Deno.readTextFileSync(`${granted}/out.txt`), "written");
  assert.equal(Deno.readTextFileSync(`${work}/secret.txt`), canary);
}

/**
 * The `initialize` request that opens an MCP session (protocol 2025-06-18, no capabilities).
 *
 * @param id The JSON-RPC request id.
 * @param clientInfo The client's name and version.
 * @returns The JSON-RPC message, to be serialized by the caller.
 * @example
 * ```ts ignore
 * await writer.write(JSON.stringify(initializeRequest(1, { name: "test", version: "1" })) + "\n");
 * ```
 */
export function initializeRequest(
  id: number,
  clientInfo: { name: string; version: string },
): Record<string, unknown> {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo },
  };
}
