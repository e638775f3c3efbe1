/**
 * How each client reads one entry of its configuration and what it spawns: its parser, its
 * variable syntax and its secret mechanism, for any entry name, so a test can start an entry
 * mcp-run wrote (installed or adopted) exactly as the client would.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseJsonc } from "jsonc-parser";
import { parse as parseYaml } from "yaml";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { ClientId } from "../runtime/clients/types.ts";
import { toolEnv } from "./_helpers.ts";

/** The command a client starts, after it expanded its variables. */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** What a reader gets: the file, the entry, and the user's secrets and folders. */
export interface ReadContext {
  /** The configuration file (for Continue: any file of its block folder). */
  file: string;
  /** Entry name. */
  name: string;
  /** The client's own environment, and the values the user typed at prompts. */
  vars: Record<string, string>;
  home: string;
  project: string;
}

type Vars = Record<string, string>;

function expand(value: string, pattern: RegExp, lookup: (...groups: string[]) => string): string {
  return value.replace(pattern, (_m, ...groups: string[]) => lookup(...groups));
}

function expandAll(launch: Launch, fn: (s: string) => string): Launch {
  return {
    command: fn(launch.command),
    args: launch.args.map(fn),
    env: Object.fromEntries(Object.entries(launch.env).map(([k, v]) => [k, fn(v)])),
  };
}

function need(vars: Vars, name: string, client: string): string {
  if (vars[name] === undefined) throw new Error(`${client}: ${name} is not set`);
  return vars[name];
}

function jsoncFile(text: string): Record<string, unknown> {
  const errors: { error: number }[] = [];
  const value = parseJsonc(text.replace(/^\uFEFF/, ""), errors as never, {
    allowTrailingComma: true,
  });
  assert.equal(errors.length, 0, "the client would fail to parse its file");
  return value;
}

function strictJson(text: string): Record<string, unknown> {
  return JSON.parse(text);
}

type Entries = Record<string, Record<string, unknown>>;

/** Each client's reader. */
export const READERS: Record<ClientId, (ctx: ReadContext) => Promise<Launch>> = {
  async "claude-desktop"({ file, name }) {
    const entry = (strictJson(await Deno.readTextFile(file)).mcpServers as Entries)[name];
    return {
      command: entry.command as string,
      args: (entry.args ?? []) as string[],
      env: (entry.env ?? {}) as Vars,
    };
  },
  async vscode({ file, name, vars, project, home }) {
    const config = jsoncFile(await Deno.readTextFile(file));
    const entry = (config.servers as Entries)[name];
    assert.equal(entry.type, "stdio");
    const inputs = (config.inputs ?? []) as { id: string; password?: boolean; type: string }[];
    const launch = { command: entry.command, args: entry.args ?? [], env: entry.env ?? {} };
    return expandAll(
      launch as Launch,
      (s) =>
        expand(s, /\$\{(input|env|workspaceFolder|userHome)(?::([^}]+))?\}/g, (kind, arg) => {
          if (kind === "workspaceFolder") return project;
          if (kind === "userHome") return home;
          if (kind === "env") return vars[arg] ?? "";
          const input = inputs.find((i) => i.id === arg);
          assert.ok(input, `VS Code has no input "${arg}"`);
          assert.equal(input.type, "promptString");
          assert.equal(input.password, true, "a secret input must be a password prompt");
          return need(vars, arg.slice(`${name}-`.length), "VS Code prompt");
        }),
    );
  },
  async cursor({ file, name, vars, home, project }) {
    const entry = (jsoncFile(await Deno.readTextFile(file)).mcpServers as Entries)[name];
    return expandAll(
      entry as unknown as Launch,
      (s) =>
        expand(
          s,
          /\$\{(env:([A-Za-z_][A-Za-z0-9_]*)|userHome|workspaceFolder)\}/g,
          (k, n) => k === "userHome" ? home : k === "workspaceFolder" ? project : vars[n] ?? "",
        ),
    );
  },
  async "claude-code"({ file, name, vars }) {
    const entry = (strictJson(await Deno.readTextFile(file)).mcpServers as Entries)[name];
    assert.equal(entry.type, "stdio");
    return expandAll(
      entry as unknown as Launch,
      (s) =>
        expand(
          s,
          /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
          (n, fallback) => vars[n] ?? fallback ?? need(vars, n, "Claude Code"),
        ),
    );
  },
  async windsurf({ file, name, vars }) {
    const entry = (jsoncFile(await Deno.readTextFile(file)).mcpServers as Entries)[name];
    return expandAll(
      entry as unknown as Launch,
      (s) => expand(s, /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (n) => vars[n] ?? ""),
    );
  },
  // Zed expands nothing; the server inherits Zed's environment.
  async zed({ file, name, vars }) {
    const entry = (jsoncFile(await Deno.readTextFile(file)).context_servers as Entries)[name];
    assert.ok(Array.isArray(entry.args), "Zed requires args");
    return {
      command: entry.command as string,
      args: entry.args as string[],
      env: { ...vars, ...(entry.env as Vars) },
    };
  },
  async goose({ file, name, vars }) {
    const ext = parseYaml(await Deno.readTextFile(file)).extensions[name];
    assert.equal(ext.enabled, true);
    assert.equal(ext.type, "stdio");
    assert.equal(ext.name, name);
    const env: Vars = { ...ext.envs };
    for (const key of ext.env_keys ?? []) env[key] = need(vars, key, "goose");
    return { command: ext.cmd, args: ext.args, env };
  },
  async continue({ file, name, vars }) {
    const dir = join(file, "..");
    for await (const f of Deno.readDir(dir)) {
      if (!/\.ya?ml$/.test(f.name)) continue;
      const block = parseYaml(await Deno.readTextFile(join(dir, f.name)));
      assert.ok(block.name && block.version && block.schema, "a block needs name, version, schema");
      const entry = (block.mcpServers ?? []).find((s: { name: string }) => s.name === name);
      if (!entry) continue;
      return expandAll(
        { command: entry.command, args: entry.args, env: entry.env ?? {} },
        (s) =>
          expand(
            s,
            /\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
            (n) => need(vars, n, "Continue .env"),
          ),
      );
    }
    throw new Error(`Continue found no block for ${name}`);
  },
};

/**
 * Starts an entry exactly as its client would (its command, arguments and environment), connects
 * the real MCP SDK client and hands it to `use`; a failure carries the server's stderr.
 *
 * @param launch The entry as the client reads it.
 * @param label Names the client in the client's name and in errors.
 * @param use What to do with the connected client.
 * @returns What `use` returns.
 */
export async function withEntryClient<T>(
  launch: Launch,
  label: string,
  use: (mcp: Client) => Promise<T>,
): Promise<T> {
  const transport = new StdioClientTransport({
    command: launch.command,
    args: launch.args,
    env: { ...toolEnv(), ...launch.env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += new TextDecoder().decode(chunk));
  const mcp = new Client({ name: `entry-${label}`, version: "1.0.0" });
  try {
    await mcp.connect(transport);
    return await use(mcp);
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}\nserver stderr: ${stderr}`, {
      cause: error,
    });
  } finally {
    await mcp.close();
  }
}
