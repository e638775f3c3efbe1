/**
 * The tool-pinning scenes: the rug-pull fixture started by `mcp-run run` (a subprocess) or
 * `mcp-run serve`, with the real MCP SDK client on the other side.
 *
 * @module
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { cli, type CliResult, ROOT, toolEnv } from "./_helpers.ts";

/** The rug-pull fixture's manifest. */
export const RUG_PULL: string = join(ROOT, "tests", "testdata", "rug_pull", "manifest.jsonc");

/** What the fixture's changed tools answer when they are reached. */
export const CANARY = "CANARY-RUG-PULL";

/**
 * A user config whose poisoning scan only warns: the rug pull's changed description would be
 * blocked by the scan on its own, and these scenes prove what the pins alone do.
 */
const SCAN_WARNS = Deno.makeTempFileSync({ prefix: "mcp-run-pins-config-", suffix: ".json" });
Deno.writeTextFileSync(SCAN_WARNS, `{ "scan": "warn" }`);

/** The CLI's environment in a scene: its own cache (and a scan that only warns). */
export function sceneEnv(cache: string): Record<string, string> {
  return {
    HOME: Deno.env.get("HOME") ?? "/root",
    MCP_RUN_CACHE: cache,
    MCP_RUN_CONFIG: SCAN_WARNS,
  };
}

/** A connected SDK client and what the launcher wrote on stderr. */
export interface Connected {
  /** The client, initialized. */
  client: Client;
  /** The launcher's stderr so far. */
  stderr(): string;
  /** Closes the client and its launcher. */
  close(): Promise<void>;
}

/**
 * Starts `mcp-run run <rug-pull> [options] -- <mode>` as a client config would, and connects.
 *
 * @param cache The scene's cache root.
 * @param mode The fixture's mode (innocent, changed, live).
 * @param options More launcher options (docker's).
 */
export async function runClient(
  cache: string,
  mode: string,
  options: string[] = [],
): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", join(ROOT, "mod.ts"), "run", RUG_PULL, ...options, "--", mode],
    env: { ...toolEnv(), ...sceneEnv(cache) },
    stderr: "pipe",
  });
  let stderr = "";
  const decoder = new TextDecoder();
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  const client = new Client({ name: "pins-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

/** A running `mcp-run serve` and its URL. */
export interface Served {
  /** The endpoint. */
  url: URL;
  /** Its stderr so far. */
  stderr(): string;
  /** Stops it. */
  stop(): Promise<void>;
}

/**
 * Starts `mcp-run serve <rug-pull> --port 0 [options] -- <mode>` and waits for its address.
 *
 * @param cache The scene's cache root.
 * @param mode The fixture's mode.
 * @param options More options (`--session-mode shared`, docker's).
 */
export async function serve(cache: string, mode: string, options: string[] = []): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(ROOT, "mod.ts"),
      "serve",
      RUG_PULL,
      "--port",
      "0",
      ...options,
      "--",
      mode,
    ],
    env: { ...toolEnv(), ...sceneEnv(cache) },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => void (stderr += text) }),
  );
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already ended */ }
    await child.status;
    await reading;
  };
  for (let i = 0; i < 600; i++) {
    const match = stderr.match(/on (http:\/\/\S+\/mcp)/);
    if (match) return { url: new URL(match[1]), stderr: () => stderr, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`serve did not start: ${stderr}`);
}

/**
 * Connects an SDK client to a served endpoint (a new session).
 *
 * @param served The server.
 */
export async function httpClient(served: Served): Promise<Connected> {
  const client = new Client({ name: "pins-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(served.url));
  return { client, stderr: served.stderr, close: () => client.close() };
}

/**
 * `mcp-run approve <rug-pull> --yes -- <mode>`: the user approves what the fixture offers now.
 *
 * @param cache The scene's cache root.
 * @param mode The fixture's mode.
 * @param options More launcher options (docker's).
 */
export async function approve(
  cache: string,
  mode: string,
  options: string[] = [],
): Promise<CliResult> {
  const result = await cli(["approve", RUG_PULL, "--yes", ...options, "--", mode], {
    env: sceneEnv(cache),
  });
  if (result.code !== 0) throw new Error(`approve failed (${result.code}): ${result.stderr}`);
  return result;
}

/**
 * Calls the fixture's arm tool and waits for the list_changed notification that follows, as a
 * client that acts on it would.
 *
 * @param client A client of a fixture started in live mode.
 */
export async function armAndWait(client: Client): Promise<void> {
  const { ToolListChangedNotificationSchema } = await import(
    "@modelcontextprotocol/sdk/types.js"
  );
  const changed = new Promise<void>((resolve) =>
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve())
  );
  const armed = await callText(client, "arm");
  if (armed !== "armed") throw new Error(`arm answered ${armed}`);
  await changed;
}

/** The text a tool call answers, or the error it was refused with. */
export async function callText(client: Client, name: string): Promise<string> {
  try {
    const result = await client.callTool({ name, arguments: { path: "/etc/hostname" } });
    return ((result.content ?? []) as { text?: string }[]).map((c) => c.text).join("\n");
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

/** The names of the tools the client sees, every page. */
export async function toolNames(client: Client): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? undefined : { cursor });
    names.push(...page.tools.map((t: { name: string }) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names.sort();
}
