/**
 * Helpers for the security tests: the malicious fixture server under any manifest, launched
 * sandboxed (through connectServer, exactly as the CLI does) or unsandboxed (`deno run -A`, the
 * positive control), loopback canary listeners, and the CLI inside a mount namespace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { serverDirs } from "../runtime/sandbox/cache_dirs.ts";
import { type ConnectedServer, connectServer } from "../runtime/sandbox/connect.ts";
import { denoLaunchPlan, type LaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import type { Manifest } from "../runtime/policy/manifest.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { pull } from "../runtime/sandbox/pull.ts";
import { type ResolvedServer, resolveServer } from "../runtime/policy/resolve.ts";
import { resultText, ROOT, toolEnv } from "./_helpers.ts";

/** Removes a folder (recursively) when the test process exits; returns it. */
export function removeOnExit(dir: string): string {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  return dir;
}

/** The malicious fixture server. */
export const ATTACKER = `${ROOT}/tests/testdata/attacker/server.ts`;

/** The CLI entry point. */
export const MOD = `${ROOT}/mod.ts`;

/** What an attack tool reports. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: string };

/** The manifest fields a test sets; the rest are filled in. */
export interface ManifestSpec {
  name?: string;
  package?: string;
  args?: string[];
  parameters?: Record<string, unknown>;
  permissions?: Record<string, string[]>;
  env?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
}

/** The JSON text of a manifest for the attacker fixture (or another local package). */
export function manifestText(spec: ManifestSpec = {}): string {
  return JSON.stringify(
    {
      name: spec.name ?? "attacker",
      description: "A malicious test server",
      package: spec.package ?? ATTACKER,
      args: spec.args ?? [],
      parameters: spec.parameters ?? {},
      permissions: spec.permissions ?? {},
      env: spec.env ?? {},
      secrets: spec.secrets ?? {},
    },
    null,
    2,
  );
}

/** A validated manifest for the attacker fixture. */
export function attackerManifest(spec: ManifestSpec = {}): Manifest {
  return parseManifest(manifestText(spec));
}

/** Writes a manifest file into `dir` and returns its path. */
export function writeManifest(dir: string, spec: ManifestSpec = {}, file = "server.jsonc"): string {
  const path = join(dir, file);
  Deno.writeTextFileSync(path, manifestText(spec));
  return path;
}

/** Options for {@linkcode launch}. */
export interface LaunchOptions {
  /** The test file's cache root. */
  root: string;
  /** User parameters. */
  params?: Record<string, string | string[]>;
  /** The launcher's environment (the source of declared variables). */
  source?: Record<string, string>;
  /** Run with `deno run -A` and the whole `source` environment: the positive control. */
  unsandboxed?: boolean;
  /** Variables added to the sandboxed plan's environment (what mcp-run must never pass). */
  planEnv?: Record<string, string>;
  /** Deno flags (by prefix) left out of the sandboxed plan: a positive control for one flag. */
  withoutFlags?: string[];
  /** Options passed to resolveServer. */
  symlinkScanLimit?: number;
}

/** A running fixture with an SDK client. */
export class Attack {
  /** The resolved server. */
  readonly server: ResolvedServer;
  /** The connection. */
  readonly connected: ConnectedServer;
  /** @param server The resolved server. @param connected Its connection. */
  constructor(server: ResolvedServer, connected: ConnectedServer) {
    this.server = server;
    this.connected = connected;
  }
  /** The SDK client. */
  get client(): Client {
    return this.connected.client;
  }
  /** Calls an attack tool and returns its parsed report. */
  // deno-lint-ignore no-explicit-any
  async call(tool: string, args: Record<string, unknown> = {}): Promise<any> {
    const result = await this.client.callTool({ name: tool, arguments: args });
    assert.notEqual(result.isError, true, `${tool} failed: ${resultText(result)}`);
    return JSON.parse(resultText(result));
  }
  /** Stops the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.connected.close();
  }
}

/**
 * Resolves a manifest as the CLI does and connects the real MCP SDK client to it, sandboxed
 * (the launch plan mcp-run builds) or unsandboxed (`deno run -A`, for positive controls).
 */
export async function launch(manifest: Manifest, options: LaunchOptions): Promise<Attack> {
  const server = resolveServer(manifest, {
    params: options.params,
    cacheRoot: options.root,
    symlinkScanLimit: options.symlinkScanLimit,
  });
  const source = { ...pullSource(), ...options.source };
  let plan = options.unsandboxed ? unsandboxedPlan(server, options.root, source) : undefined;
  if (options.planEnv || options.withoutFlags) {
    plan ??= denoLaunchPlan(server, { cacheRoot: options.root, source });
    const dropped = options.withoutFlags ?? [];
    plan = {
      ...plan,
      args: plan.args.filter((arg) => !dropped.some((prefix) => arg.startsWith(prefix))),
      env: { ...plan.env, ...options.planEnv },
    };
  }
  const connected = await connectServer(server, {
    cacheRoot: options.root,
    source,
    plan,
    progress: () => {},
    onStderr: () => {},
    // Each test launches the fixture under the manifest it needs, in one shared cache.
    approve: true,
  });
  return new Attack(server, connected);
}

/** The launcher variables pull needs on this machine (TLS trust); none reaches the server. */
export function pullSource(): Record<string, string> {
  const env = Deno.env.toObject();
  const out: Record<string, string> = {};
  for (const name of ["DENO_CERT", "DENO_TLS_CA_STORE", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"]) {
    if (env[name]) out[name] = env[name];
  }
  return out;
}

/**
 * Pulls a manifest's code into a cache root ahead of the tests, with only the TLS settings of
 * this machine, so later launches given hostile launcher environments (proxies) run offline.
 */
export async function prePull(manifest: Manifest, root: string): Promise<void> {
  await pull(resolveServer(manifest, { cacheRoot: root }), {
    cacheRoot: root,
    source: pullSource(),
    progress: () => {},
    approve: true,
  });
}

/**
 * The same server, same cached code, but `deno run -A` with the launcher's whole environment:
 * what the attack would do with no sandbox.
 */
export function unsandboxedPlan(
  server: ResolvedServer,
  root: string,
  source: Record<string, string>,
): LaunchPlan {
  const plan = denoLaunchPlan(server, { cacheRoot: root, source });
  const dirs = serverDirs(server.name, server.specifier, root);
  return {
    ...plan,
    args: [
      "run",
      "-A",
      "--no-config",
      "--cached-only",
      `--lock=${dirs.lockFile}`,
      server.specifier,
      ...server.args,
    ],
    env: { ...source, ...plan.env },
  };
}

/** Asserts that an outcome is a refusal by Deno's permissions, not some other failure. */
export function assertDenied(outcome: Outcome, what: string): void {
  assert.equal(outcome.ok, false, `${what} should be denied, got ${JSON.stringify(outcome)}`);
  assert.match(
    (outcome as { error: string }).error,
    /NotCapable|Requires (read|write|net|run|env|sys|import) access|requires unscoped|permission/i,
    `${what} failed for another reason than permissions: ${JSON.stringify(outcome)}`,
  );
}

/** Asserts that an outcome succeeded (the positive control) and returns its value. */
export function assertAllowed(outcome: Outcome, what: string): unknown {
  assert.equal(outcome.ok, true, `${what} should succeed, got ${JSON.stringify(outcome)}`);
  return (outcome as { value: unknown }).value;
}

/** A loopback HTTP listener on 127.0.0.1 and [::1] (same port) that records every hit. */
export interface Canary {
  /** The port both listeners use. */
  port: number;
  /** Paths requested so far, each with the listener that saw it (`v4` or `v6`). */
  hits: string[];
  /** Stops both listeners. */
  close(): Promise<void>;
}

/**
 * Starts a canary listener. `/redirect?to=URL` answers 302 to URL; anything else answers
 * `canary`. Only loopback addresses are bound.
 */
export function startCanary(): Canary {
  const hits: string[] = [];
  const handler = (family: string) => (request: Request) => {
    const url = new URL(request.url);
    hits.push(`${family} ${url.pathname}`);
    const to = url.searchParams.get("to");
    if (url.pathname === "/redirect" && to) return Response.redirect(to, 302);
    return new Response("canary");
  };
  for (let tries = 0;; tries++) {
    const v4 = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler("v4"));
    try {
      const v6 = Deno.serve(
        { hostname: "::1", port: v4.addr.port, onListen: () => {} },
        handler("v6"),
      );
      return {
        port: v4.addr.port,
        hits,
        close: async () => {
          await v4.shutdown();
          await v6.shutdown();
        },
      };
    } catch (error) {
      v4.shutdown();
      if (tries > 10) throw error;
    }
  }
}

/**
 * How `unshare` makes a private mount namespace here: as root (`-m`), or inside a user
 * namespace (`-rm`); `undefined` when neither works.
 */
const UNSHARE_FLAGS: string[] | undefined = [["-m"], ["-r", "-m"]].find((flags) => {
  try {
    return new Deno.Command("unshare", {
      args: [...flags, "sh", "-c", "mount --bind /etc/hosts /etc/hosts"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
});

/** Whether this machine lets the tests make a private mount namespace. */
export const CAN_UNSHARE: boolean = UNSHARE_FLAGS !== undefined;

/** Result of a process run to completion. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Deno program inside a private mount namespace where `hostsFile` is `/etc/hosts`, so
 * test names resolve to loopback without touching the machine.
 */
export async function denoWithHosts(
  hostsFile: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const out = await new Deno.Command("unshare", {
    args: [
      ...UNSHARE_FLAGS ?? ["-m"],
      "sh",
      "-c",
      'mount --bind "$0" /etc/hosts && exec "$@"',
      hostsFile,
      Deno.execPath(),
      ...args,
    ],
    env: { ...toolEnv(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
