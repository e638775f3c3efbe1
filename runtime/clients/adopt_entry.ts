/**
 * Recognising what an existing client entry runs: the package behind `npx`, `npm exec`, `node`,
 * `uvx`, `pipx run`, `python -m`, `deno run` and `docker run` commands. Pure: no file is read
 * and no registry is asked (see `resolveAdoptVersion()` for missing versions).
 *
 * @module
 */
import type { ClientId } from "./types.ts";
import {
  denoCommand,
  dockerCommand,
  nodeCommand,
  npxCommand,
  pipxCommand,
  pythonCommand,
  uvxCommand,
} from "./_adopt_parsers.ts";

/** Where a recognised server's code comes from (the manifest package kinds). */
export type AdoptKind = "npm" | "pypi" | "oci" | "jsr" | "local";

/** The package an entry runs, with its arguments and environment. */
export interface AdoptPackage {
  /** Package kind. */
  kind: AdoptKind;
  /** Package name (`@scope/name`, a PyPI project, an image without tag, a jsr name, a path). */
  name: string;
  /** The exact version, when the command pins one (`1.2.3`, `sha256:…` for an image). */
  version?: string;
  /** What the command asked for when it is not exact (`latest`, `^1.2`, an image tag). */
  wanted?: string;
  /** The server's own arguments. */
  args: string[];
  /** The entry's environment (values as written, which may be secrets). */
  env: Record<string, string>;
  /** Environment names `docker run -e NAME` passes from the client's environment. */
  passEnv: string[];
  /** How the package was found, for the plan (`npx`, `uvx`, `python -m`, …). */
  via: string;
  /** For `node …/node_modules/<pkg>/…`: the installed package folder (its version is read there). */
  installedAt?: string;
  /** The name is a guess (a `python -m` module taken as its project's name). */
  guessed?: boolean;
  /** For `npx -p pkg bin`: the package's bin the entry runs (not always its default one). */
  bin?: string;
  /** Sentences for the plan: options of the command the adopted entry does not keep. */
  notes?: string[];
}

/** What {@link recogniseEntry} found: a package, or why the entry cannot be adopted. */
export type RecognisedEntry =
  | { adoptable: true; package: AdoptPackage }
  | { adoptable: false; reason: string };

/** An entry's command, arguments and environment, whatever the client calls them. */
interface EntryCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Recognise what a client entry runs.
 *
 * Reads the entry in the shape its client stores it (`command`/`args`/`env`, goose's
 * `cmd`/`envs`, Zed's older `command: {path, args, env}`), then recognises `npx [-y] pkg[@v]`,
 * `npm exec [--yes] [--] pkg`, `pnpm dlx`, `bunx`, `node path/to/pkg`, `uvx [--from X] pkg[==v]`,
 * `uv tool run`, `pipx run [--spec X] pkg`, `python -m module`, `deno run … spec` and
 * `docker run … image`. HTTP, SSE and URL entries, entries mcp-run already manages and unknown
 * commands are not adoptable, with the reason. Pure.
 *
 * @param entry The entry as stored in the client's file.
 * @param client The client (decides the key names).
 * @returns The package, or the reason the entry is left as it is.
 * @example
 * ```ts
 * import { recogniseEntry } from "./adopt_entry.ts";
 * const found = recogniseEntry(
 *   { command: "npx", args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"] },
 *   "cursor",
 * );
 * console.assert(found.adoptable && found.package.name === "@modelcontextprotocol/server-filesystem");
 * ```
 */
export function recogniseEntry(entry: unknown, client: ClientId): RecognisedEntry {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return { adoptable: false, reason: "the entry is not an object" };
  }
  const e = entry as Record<string, unknown>;
  const url = [e.url, e.serverUrl, e.uri].find((u) => typeof u === "string") as string | undefined;
  const type = typeof e.type === "string" ? e.type.toLowerCase() : "";
  if (url !== undefined || ["http", "sse", "streamable_http", "streamable-http"].includes(type)) {
    return {
      adoptable: false,
      reason: `a remote ${type || "HTTP"} server${
        url ? ` at ${url}` : ""
      }: it runs elsewhere, so there is nothing to sandbox here`,
    };
  }
  if (["builtin", "platform", "frontend", "inline_python"].includes(type)) {
    return { adoptable: false, reason: `a ${type} extension of the client, not a server command` };
  }
  if (e.enabled === false) return { adoptable: false, reason: "the entry is disabled" };
  const cmd = entryCommand(e, client);
  if (typeof cmd === "string") return { adoptable: false, reason: cmd };
  if (cmd.env.MCP_RUN_MANAGED === "1") {
    return { adoptable: false, reason: "mcp-run already runs this entry" };
  }
  return recogniseCommand(cmd);
}

/** The entry's command parts, or why there are none. */
function entryCommand(e: Record<string, unknown>, client: ClientId): EntryCommand | string {
  let command = client === "goose" ? e.cmd : e.command;
  let args = e.args;
  let env = client === "goose" ? e.envs : e.env;
  if (typeof command === "object" && command !== null && !Array.isArray(command)) {
    // Zed's older shape: "command": { "path", "args", "env" }.
    const c = command as Record<string, unknown>;
    [command, args, env] = [c.path, c.args, c.env];
  }
  if (typeof command !== "string" || command.trim() === "") return "the entry has no command";
  args ??= [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    return "its arguments are not a list of strings";
  }
  env ??= {};
  if (typeof env !== "object" || env === null || Array.isArray(env)) {
    return "its environment is not a map";
  }
  const envMap: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) envMap[k] = String(v);
  return { command, args: args as string[], env: envMap };
}

/** The program's name without folder or Windows suffix (`C:\…\npx.cmd` → `npx`). */
function programName(command: string): string {
  const base = command.split(/[\\/]/).pop()!.toLowerCase();
  return base.replace(/\.(cmd|exe|bat|ps1)$/, "");
}

/**
 * Recognise a command line (the program and its arguments). See {@link recogniseEntry}.
 *
 * @param cmd The program, its arguments and the entry's environment.
 * @returns The package, or why the command is not recognised.
 * @example
 * ```ts
 * import { recogniseCommand } from "./adopt_entry.ts";
 * const found = recogniseCommand({ command: "uvx", args: ["mcp-server-time==2026.10.19"], env: {} });
 * console.assert(found.adoptable && found.package.version === "2026.10.19");
 * ```
 */
export function recogniseCommand(
  cmd: { command: string; args: string[]; env: Record<string, string> },
): RecognisedEntry {
  const program = programName(cmd.command);
  const args = cmd.args;
  const words = [program, ...args];
  // A shell wrapper hides the real command: say so rather than guess.
  if (["sh", "bash", "zsh", "cmd", "powershell", "pwsh"].includes(program)) {
    return { adoptable: false, reason: `a shell command (${program}) whose program is not fixed` };
  }
  let found: RecognisedEntry | undefined;
  if (program === "npx" || program === "bunx") found = npxCommand(args, program, cmd.env);
  else if (program === "npm" && ["exec", "x"].includes(args[0])) {
    found = npxCommand(args.slice(1), "npm exec", cmd.env);
  } else if (program === "pnpm" && args[0] === "dlx") {
    found = npxCommand(args.slice(1), "pnpm dlx", cmd.env);
  } else if (program === "node" || program === "nodejs") found = nodeCommand(args, cmd.env);
  else if (program === "uvx") found = uvxCommand(args, "uvx", cmd.env);
  else if (program === "uv" && args[0] === "tool" && args[1] === "run") {
    found = uvxCommand(args.slice(2), "uv tool run", cmd.env);
  } else if (program === "pipx" && args[0] === "run") found = pipxCommand(args.slice(1), cmd.env);
  else if (/^python(\d+(\.\d+)?)?$/.test(program) || program === "py") {
    found = pythonCommand(args, cmd.env);
  } else if (program === "deno") found = denoCommand(args, cmd.env);
  else if (program === "docker" || program === "podman") found = dockerCommand(args, cmd.env);
  return found ?? {
    adoptable: false,
    reason: `an unknown command (${words.slice(0, 3).join(" ")}): mcp-run recognises npx, ` +
      "npm exec, node, uvx, pipx run, python -m, deno run and docker run",
  };
}
