/**
 * The poisoned fixture server (tests/testdata/poisoned) as the scan and filter tests use it: a
 * work folder for its canary files, an MCP SDK client through `mcp-run run` or straight to the
 * fixture (the unguarded positive control), and a check for hidden characters.
 *
 * @module
 */
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ROOT, toolEnv } from "./_helpers.ts";

/** The fixture's folder. */
export const POISONED = join(ROOT, "tests", "testdata", "poisoned");

/** The fixture's manifest with no guard settings. */
export const POISONED_MANIFEST: string = join(POISONED, "manifest.jsonc");

/** Any character the client must never receive from a server's definitions. */
export const HIDDEN =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u{e0000}-\u{e007f}]/u;

/** A work folder outside /tmp (a container's HOME is a tmpfs there) that its user can write. */
export interface PoisonedScene {
  /** The folder. */
  work: string;
  /** The fixture's canary folder (its `dir` parameter). */
  dir: string;
  /** mcp-run's cache. */
  cache: string;
  /** Whether the fixture was called with a tool (its canary file exists). */
  called(tool: string): boolean;
  /** Removes the folder. */
  remove(): void;
}

/** Makes a scene. */
export function poisonedScene(): PoisonedScene {
  const work = Deno.makeTempDirSync({ dir: "/var/tmp", prefix: "mcp-run-poisoned-" });
  Deno.chmodSync(work, 0o777);
  const dir = join(work, "canary");
  Deno.mkdirSync(dir);
  Deno.chmodSync(dir, 0o777);
  return {
    work,
    dir,
    cache: join(work, "cache"),
    called: (tool) => {
      try {
        Deno.statSync(join(dir, `called-${tool}`));
        return true;
      } catch {
        return false;
      }
    },
    remove: () => Deno.removeSync(work, { recursive: true }),
  };
}

/** Every string in a value (keys too), at any depth. */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...allStrings(v)]);
}

/** A connected SDK client and the launcher's stderr. */
export interface PoisonedClient {
  /** The client. */
  client: Client;
  /** What the launcher wrote on stderr so far. */
  stderr(): string;
  /** Closes the client (and so the launcher). */
  close(): Promise<void>;
}

async function connect(command: string, args: string[], env: Record<string, string>) {
  const transport = new StdioClientTransport({ command, args, env, stderr: "pipe" });
  let text = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => text += new TextDecoder().decode(chunk));
  const client = new Client({ name: "scan-test", version: "1.0.0" });
  await client.connect(transport, { timeout: 120_000 });
  return { client, stderr: () => text, close: () => client.close() };
}

/**
 * Connects the real SDK client to the fixture through `mcp-run run`, as a client entry would.
 *
 * @param scene The work folder.
 * @param options Extra CLI options, and another manifest of the fixture.
 */
export function connectGuarded(
  scene: PoisonedScene,
  options: { args?: string[]; manifest?: string; env?: Record<string, string> } = {},
): Promise<PoisonedClient> {
  const args = [
    "run",
    "-A",
    "--quiet",
    join(ROOT, "mod.ts"),
    "run",
    options.manifest ?? POISONED_MANIFEST,
    "-p",
    `dir=${scene.dir}`,
    "--cache",
    scene.cache,
    ...options.args ?? [],
  ];
  const env = { ...toolEnv(), HOME: Deno.env.get("HOME") ?? "/root", ...options.env };
  return connect(Deno.execPath(), args, env);
}

/** Connects the SDK client straight to the fixture, with nothing between: the positive control. */
export function connectDirect(scene: PoisonedScene): Promise<PoisonedClient> {
  const args = [
    "run",
    "--quiet",
    `--allow-write=${scene.dir}`,
    join(POISONED, "server.ts"),
    scene.dir,
  ];
  return connect(Deno.execPath(), args, toolEnv());
}
