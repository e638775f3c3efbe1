/**
 * Catalogue entries that run in a container (`pypi:`, `oci:`), end to end through the CLI: an
 * entry is pulled with `mcp-run pull`, then `mcp-run run <entry>` is started by the real MCP SDK
 * client over stdio, optionally inside a fake internet (see fake_internet.ts) — the launcher
 * runs in the namespace, since it hosts the egress proxy. While the server runs, a probe
 * (`docker exec` in its container, found by the `mcp-run.server` label) shows from the inside
 * what the manifest does not allow: a variable not declared, a path not mounted, a host not
 * granted (through the proxy and directly).
 *
 * Images are the stand-ins of tools/docker_setup.sh, through a user config (`MCP_RUN_CONFIG`).
 *
 * @module
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { listContainers, runDocker } from "../runtime/sandbox/docker_engine.ts";
import type { FakeRequest, FakeRoute } from "./fake_api.ts";
import { fakeInternetPlan, type TestCertificates } from "./fake_internet.ts";
import { IMAGE } from "./_docker.ts";
import { PYTHON_IMAGE } from "./_oci_server_image.ts";
import { cli, ROOT, toolEnv } from "./_helpers.ts";

/** A variable set in every launcher's environment that no manifest declares. */
export const CANARY_NAME = "MCP_RUN_TEST_CANARY";
/** Its value: must never be seen inside a container. */
export const CANARY_VALUE = "canary-5d1e-never-in-the-container";

/**
 * Writes a user config pointing each package kind's image at the local stand-ins.
 *
 * @param dir Folder to write `config.json` in.
 * @returns The file, for `MCP_RUN_CONFIG`.
 */
export function standInConfig(dir: string): string {
  const file = join(dir, "config.json");
  Deno.writeTextFileSync(file, JSON.stringify({ images: { deno: IMAGE, python: PYTHON_IMAGE } }));
  return file;
}

/** Options for {@linkcode pullEntry} and {@linkcode startEntry}. */
export interface EntryOptions {
  /** mcp-run's cache folder (`--cache`). */
  cache: string;
  /** The stand-in config from {@linkcode standInConfig}. */
  config: string;
  /** `-p NAME=VALUE` values. */
  params?: Record<string, string>;
}

function paramArgs(params: Record<string, string> = {}): string[] {
  return Object.entries(params).flatMap(([k, v]) => ["-p", `${k}=${v}`]);
}

/**
 * Pulls an entry (a registry name or a manifest file) with `mcp-run pull`; the pull container
 * uses the host network, where the package registries are.
 *
 * @param entry Registry name or manifest path.
 * @param options Cache, config, parameters.
 * @returns Nothing.
 * @throws {Error} If the pull fails, with its output.
 */
export async function pullEntry(entry: string, options: EntryOptions): Promise<void> {
  const r = await cli(
    [
      "pull",
      entry,
      ...paramArgs(options.params),
      "--network",
      "host",
      "--yes",
      "--cache",
      options.cache,
    ],
    { env: { HOME: Deno.env.get("HOME") ?? "/root", MCP_RUN_CONFIG: options.config } },
  );
  if (r.code !== 0) throw new Error(`mcp-run pull ${entry} failed (${r.code}): ${r.stderr}`);
}

/** The fake internet an entry runs in. */
export interface EntryInternet {
  /** Host names and the address each resolves to. */
  hosts: Record<string, string>;
  /** Certificates covering every faked host; the CA reaches the container as TLS trust. */
  certificates: TestCertificates;
  /** Canned answers. */
  routes: FakeRoute[];
  /** Folder for the fake internet's files. */
  dir: string;
}

/** Options for {@linkcode startEntry}. */
export interface StartEntryOptions extends EntryOptions {
  /** Runs the launcher in a fake internet. */
  internet?: EntryInternet;
  /** More launcher variables (the canary is always set). */
  env?: Record<string, string>;
}

/** A running entry and what can be asked of it. */
export interface RunningEntry {
  /** The connected MCP SDK client. */
  client: Client;
  /** The launcher's standard error so far. */
  stderr(): string;
  /** Requests the fake API received so far (none without a fake internet). */
  requests(): FakeRequest[];
  /** Runs a command in the server's container as its user. */
  exec(command: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The container's configured environment (`docker inspect`). */
  containerEnv(): Promise<string[]>;
  /** Closes the client (stops the launcher) and waits until its containers are gone. */
  close(): Promise<void>;
}

/**
 * Starts `mcp-run run <entry>` under an MCP SDK client, offline (the entry must be pulled).
 *
 * @param entry Registry name or manifest path.
 * @param name The server's name (its containers' `mcp-run.server` label).
 * @param options Cache, config, parameters, fake internet, more environment.
 * @returns The running entry.
 * @throws {Error} If it does not start, with the launcher's output.
 */
export async function startEntry(
  entry: string,
  name: string,
  options: StartEntryOptions,
): Promise<RunningEntry> {
  const env: Record<string, string> = {
    ...toolEnv(),
    HOME: Deno.env.get("HOME") ?? "/root",
    MCP_RUN_CONFIG: options.config,
    [CANARY_NAME]: CANARY_VALUE,
    ...options.env,
  };
  if (options.internet) {
    env.SSL_CERT_FILE = options.internet.certificates.caFile;
    env.REQUESTS_CA_BUNDLE = options.internet.certificates.caFile;
  }
  let plan = {
    program: Deno.execPath(),
    args: [
      ...["run", "-A", "--quiet", join(ROOT, "mod.ts"), "run", entry],
      ...[...paramArgs(options.params), "--offline", "--yes", "--cache", options.cache],
    ],
    env,
    cwd: ROOT,
  };
  let requests = (): FakeRequest[] => [];
  if (options.internet) {
    const net = await fakeInternetPlan(plan, options.internet);
    plan = { ...net.plan, env: net.plan.env ?? env, cwd: net.plan.cwd ?? ROOT };
    requests = net.requests;
  }
  const transport = new StdioClientTransport({
    command: plan.program,
    args: plan.args,
    env: plan.env,
    cwd: plan.cwd,
    stderr: "pipe",
  });
  let stderr = "";
  const decoder = new TextDecoder();
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  const client = new Client({ name: "catalogue-container-test", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => {});
    throw new Error(`${entry} did not start: ${(error as Error).message}\n${stderr}`, {
      cause: error,
    });
  }
  const container = async (): Promise<string> => {
    const out = await runDocker([
      ...["ps", "--filter", `label=mcp-run.server=${name}`],
      ...["--format", '{{.ID}} {{.Label "mcp-run.role"}}'],
    ]);
    const found = out.stdout.split("\n").map((l) => l.trim().split(" ")).filter((l) => l[0]);
    const server = found.filter((l) => l[1] !== "egress");
    if (server.length !== 1) throw new Error(`expected one container of ${name}: ${out.stdout}`);
    return server[0][0];
  };
  return {
    client,
    stderr: () => stderr,
    requests,
    exec: async (command) => await runDocker(["exec", await container(), ...command]),
    containerEnv: async () =>
      JSON.parse(
        (await runDocker(["inspect", "--format", "{{json .Config.Env}}", await container()]))
          .stdout,
      ),
    close: async () => {
      await client.close();
      await waitGone(name);
    },
  };
}

/**
 * Waits (up to 15 s) until no container of the server is left.
 *
 * @param name The server's name.
 * @returns The names still there (none when all went).
 */
export async function waitGone(name: string): Promise<string[]> {
  let left = await listContainers({ "mcp-run.server": name });
  for (let i = 0; i < 60 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 250));
    left = await listContainers({ "mcp-run.server": name });
  }
  return left;
}

/** What {@linkcode PROBE} found in a container. */
export interface ProbeResult {
  /** The canary's value there, or null. */
  canary: string | null;
  /** Each probed path: whether it exists. */
  paths: Record<string, boolean>;
  /** A direct TCP connection to the address: "connected" or the error. */
  direct: string;
  /** A request through the container's HTTP proxy: status and body, or the error. */
  proxied: string;
}

/**
 * A Python probe run in a container with `docker exec <id> python3 -c PROBE <address> <url>
 * <path>…`: prints a {@linkcode ProbeResult} as JSON.
 */
export const PROBE = `
import json, os, socket, sys, urllib.request, urllib.error
address, url, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
out = {"canary": os.environ.get("${CANARY_NAME}"), "paths": {p: os.path.exists(p) for p in paths}}
try:
    socket.create_connection((address, 443), timeout=5).close(); out["direct"] = "connected"
except Exception as e:
    out["direct"] = "error: " + repr(e)
try:
    r = urllib.request.urlopen(url, timeout=10); out["proxied"] = str(r.status) + " " + r.read(200).decode()
except urllib.error.HTTPError as e:
    out["proxied"] = str(e.code) + " " + e.read(300).decode()
except Exception as e:
    out["proxied"] = "error: " + repr(e)
print(json.dumps(out))
`;

/**
 * Runs {@linkcode PROBE} in the entry's container.
 *
 * @param running The running entry.
 * @param address An address to connect to directly (port 443).
 * @param url A URL to fetch through the proxy the container is given.
 * @param paths Paths whose existence is reported.
 * @returns What the probe found.
 * @throws {Error} If the probe does not run.
 */
export async function probe(
  running: RunningEntry,
  address: string,
  url: string,
  paths: string[],
): Promise<ProbeResult> {
  const r = await running.exec(["python3", "-c", PROBE, address, url, ...paths]);
  if (r.code !== 0) throw new Error(`the probe failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}
