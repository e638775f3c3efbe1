/**
 * Recognising what an existing client entry runs: the package behind `npx`, `npm exec`, `node`,
 * `uvx`, `pipx run`, `python -m`, `deno run` and `docker run` commands. Pure: no file is read
 * and no registry is asked (see `resolveAdoptVersion()` for missing versions).
 *
 * @module
 */
import type { ClientId } from "./types.ts";

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

function adopted(pkg: Omit<AdoptPackage, "passEnv"> & { passEnv?: string[] }): RecognisedEntry {
  return { adoptable: true, package: { passEnv: [], ...pkg } };
}

/** Options of npx and npm exec that take a value. */
const NPX_VALUE_OPTIONS = new Set(["--package", "-p", "--call", "-c", "--registry", "--cache"]);

function npxCommand(args: string[], via: string, env: Record<string, string>): RecognisedEntry {
  let packageOption: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-")) break;
    const [flag, inline] = a.split(/=(.*)/s, 2);
    if (NPX_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i];
      if (flag === "--package" || flag === "-p") packageOption = value;
      if (flag === "--call" || flag === "-c") {
        return { adoptable: false, reason: `${via} --call runs a shell command` };
      }
    }
  }
  const spec = packageOption ?? args[i];
  if (spec === undefined) return { adoptable: false, reason: `${via} names no package` };
  const rest = args.slice(i + 1);
  return npmSpec(spec, via, rest, env);
}

/** `name`, `name@1.2.3`, `@scope/name@latest`, `npm:name@1`. */
function npmSpec(
  spec: string,
  via: string,
  args: string[],
  env: Record<string, string>,
): RecognisedEntry {
  const bare = spec.replace(/^npm:/, "");
  if (/^(\.|\/|[a-z]+:|[A-Za-z]:\\)/i.test(bare) || bare.includes("://")) {
    return { adoptable: false, reason: `${via} runs "${spec}", which is not a registry package` };
  }
  const at = bare.indexOf("@", 1);
  const name = at === -1 ? bare : bare.slice(0, at);
  const wanted = at === -1 ? undefined : bare.slice(at + 1);
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) {
    return { adoptable: false, reason: `"${spec}" is not an npm package name` };
  }
  const exact = wanted !== undefined && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(wanted);
  return adopted({
    kind: "npm",
    name,
    ...(exact ? { version: wanted } : wanted === undefined ? {} : { wanted }),
    args,
    env,
    via,
  });
}

/** `node …/node_modules/[@scope/]name/…`, or a script outside any package. */
function nodeCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  const script = args.find((a) => !a.startsWith("-"));
  if (script === undefined) return { adoptable: false, reason: "node runs no script" };
  const rest = args.slice(args.indexOf(script) + 1);
  const path = script.replaceAll("\\", "/");
  const m = /^(.*\/node_modules\/)((?:@[^/]+\/)?[^/@]+)(?:\/|$)/.exec(path);
  if (m) {
    return adopted({
      kind: "npm",
      name: m[2],
      args: rest,
      env,
      via: "node",
      installedAt: m[1] + m[2],
    });
  }
  return adopted({ kind: "local", name: script, args: rest, env, via: "node" });
}

/** Options of uvx that take a value. */
const UVX_VALUE_OPTIONS = new Set([
  "--from",
  "--with",
  "--with-requirements",
  "--python",
  "-p",
  "--index-url",
  "--extra-index-url",
  "--index",
  "--default-index",
  "--directory",
  "--env-file",
]);

function uvxCommand(args: string[], via: string, env: Record<string, string>): RecognisedEntry {
  let from: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (flag === "--") {
      i++;
      break;
    }
    if (UVX_VALUE_OPTIONS.has(flag)) {
      const value = inline ?? args[++i];
      if (flag === "--from") from = value;
    }
  }
  const command = args[i];
  if (command === undefined) return { adoptable: false, reason: `${via} names no tool` };
  return pypiSpec(from ?? command, via, args.slice(i + 1), env);
}

function pipxCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let spec: string | undefined;
  let i = 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (flag === "--spec") spec = inline ?? args[++i];
    else if (["--python", "--index-url", "--pip-args"].includes(flag) && inline === undefined) i++;
  }
  const app = args[i];
  if (app === undefined) return { adoptable: false, reason: "pipx run names no application" };
  return pypiSpec(spec ?? app, "pipx run", args.slice(i + 1), env);
}

/** `name`, `name==1.2`, `name@1.2`, `name[extra]==1`, `name@latest`. */
function pypiSpec(
  spec: string,
  via: string,
  args: string[],
  env: Record<string, string>,
): RecognisedEntry {
  if (/^(git\+|https?:|file:|\.|\/)/.test(spec)) {
    return { adoptable: false, reason: `${via} installs "${spec}", which is not a PyPI release` };
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(?:(==|@)\s*([^\s;]+)|([<>~!=].*))?$/
    .exec(spec);
  if (!m) return { adoptable: false, reason: `"${spec}" is not a PyPI requirement` };
  const [, name, , op, pinned, range] = m;
  const exact = op !== undefined && pinned !== "latest" && !/[*]/.test(pinned);
  return adopted({
    kind: "pypi",
    name,
    ...(exact ? { version: pinned } : pinned ?? range ? { wanted: pinned ?? range } : {}),
    args,
    env,
    via,
  });
}

function pythonCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let i = 0;
  // Interpreter flags such as -u or -X utf8 come before -m.
  for (; i < args.length && args[i] !== "-m"; i++) {
    if (!args[i].startsWith("-")) {
      return { adoptable: false, reason: `python runs the script "${args[i]}", not a module` };
    }
    if (["-X", "-W"].includes(args[i])) i++;
  }
  const module = args[i + 1];
  if (module === undefined) return { adoptable: false, reason: "python names no module (-m)" };
  // The project usually carries the module's name with dashes (mcp_server_time).
  const name = module.split(".")[0].replaceAll("_", "-");
  return adopted({
    kind: "pypi",
    name,
    args: args.slice(i + 2),
    env,
    via: "python -m",
    guessed: true,
  });
}

/** Deno options that take their value as the next argument. */
const DENO_VALUE_OPTIONS = new Set([
  "--config",
  "-c",
  "--import-map",
  "--lock",
  "--cert",
  "--location",
  "--seed",
  "--v8-flags",
  "--env-file",
  "--inspect",
]);

function denoCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  let i = args[0] === "run" ? 1 : 0;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    if (DENO_VALUE_OPTIONS.has(args[i])) i++;
  }
  const spec = args[i];
  if (spec === undefined) return { adoptable: false, reason: "deno runs no module" };
  const rest = args.slice(i + 1);
  if (spec.startsWith("npm:")) {
    const found = npmSpec(spec, "deno run", rest, env);
    return found;
  }
  const jsr = /^jsr:\/?(@[\w.-]+\/[\w.-]+)(?:@([^/]+))?/.exec(spec);
  if (jsr) {
    const exact = jsr[2] !== undefined && /^\d+\.\d+\.\d+(-[\w.]+)?$/.test(jsr[2]);
    return adopted({
      kind: "jsr",
      name: jsr[1],
      ...(exact ? { version: jsr[2] } : jsr[2] ? { wanted: jsr[2] } : {}),
      args: rest,
      env,
      via: "deno run",
    });
  }
  if (/^https?:/.test(spec)) {
    return { adoptable: false, reason: `deno runs a URL (${spec}), which names no package` };
  }
  return adopted({ kind: "local", name: spec, args: rest, env, via: "deno run" });
}

/** docker run options that take a value (the rest are flags). */
const DOCKER_VALUE_OPTIONS = new Set([
  "-e",
  "--env",
  "--env-file",
  "-v",
  "--volume",
  "--mount",
  "--name",
  "--network",
  "--net",
  "-w",
  "--workdir",
  "-u",
  "--user",
  "--entrypoint",
  "-p",
  "--publish",
  "-m",
  "--memory",
  "--cpus",
  "--pids-limit",
  "-l",
  "--label",
  "--platform",
  "--pull",
  "--tmpfs",
  "--add-host",
  "--security-opt",
  "--cap-add",
  "--cap-drop",
  "--ulimit",
  "--runtime",
  "-h",
  "--hostname",
  "--dns",
  "--device",
]);

function dockerCommand(args: string[], env: Record<string, string>): RecognisedEntry {
  if (args[0] !== "run") {
    return { adoptable: false, reason: `docker ${args[0] ?? ""} is not docker run`.trim() };
  }
  const passEnv: string[] = [];
  const values: Record<string, string> = {};
  let i = 1;
  for (; i < args.length && args[i].startsWith("-"); i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    if (!DOCKER_VALUE_OPTIONS.has(flag)) continue;
    const value = inline ?? args[++i] ?? "";
    if (flag === "-e" || flag === "--env") {
      const eq = value.indexOf("=");
      if (eq === -1) passEnv.push(value);
      else values[value.slice(0, eq)] = value.slice(eq + 1);
    }
    if (flag === "--entrypoint") {
      return { adoptable: false, reason: "docker run replaces the image's entrypoint" };
    }
  }
  const image = args[i];
  if (image === undefined) return { adoptable: false, reason: "docker run names no image" };
  const at = image.indexOf("@");
  const colon = image.lastIndexOf(":");
  const tagged = at === -1 && colon > image.lastIndexOf("/");
  const name = (at !== -1 ? image.slice(0, at) : tagged ? image.slice(0, colon) : image)
    .replace(/^(docker\.io\/)?(library\/)?/, "");
  const version = at !== -1 ? image.slice(at + 1) : undefined;
  const wanted = tagged ? image.slice(colon + 1) : at === -1 ? "latest" : undefined;
  // Passed-through names take their value from the entry's env or the client's environment.
  const ownEnv = { ...values };
  for (const n of passEnv) if (env[n] !== undefined) ownEnv[n] = env[n];
  return adopted({
    kind: "oci",
    name,
    ...(version ? { version } : {}),
    ...(wanted ? { wanted } : {}),
    args: args.slice(i + 1),
    env: ownEnv,
    passEnv,
    via: "docker run",
  });
}
