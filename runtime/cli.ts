/**
 * The `mcp-run` command line: parse, call runtime functions, print. No logic lives only here.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type {
  CallToolResult,
  ListPromptsResult,
  ListResourcesResult,
  ListToolsResult,
  Prompt,
  Resource,
  Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { cacheRoot } from "./sandbox/cache_dirs.ts";
import type { ClientCommandOptions } from "./cli/clients.ts";
import {
  diffCommand,
  exportCommand,
  importCommand,
  indexCommand,
  listCommand,
  searchCommand,
  showCommand,
} from "./cli/registry.ts";
import { guardChildren } from "./sandbox/child_guard.ts";
import { describePermissions } from "./policy/describe.ts";
import { checkDockerLimits, checkImageReference } from "./sandbox/docker_args.ts";
import { DockerUnavailableError } from "./sandbox/docker_engine.ts";
import { defaultContainerUser, type DockerLaunchOptions } from "./sandbox/docker_launch.ts";
import { launchEntry } from "./clients/launch_entry.ts";
import type { LaunchPlan } from "./sandbox/launch_plan.ts";
import { ManifestError } from "./policy/manifest.ts";
import { CacheError } from "./sandbox/pull.ts";
import { createSandbox, type Isolation } from "./sandbox/create_sandbox.ts";
import type { Sandbox } from "./sandbox/sandbox.ts";
import { checkRegistrySource, loadManifest } from "./registry/load.ts";
import { resolveTarget } from "./cli/target.ts";
import { GrantError, manifestGrantProblems, type ResolvedServer } from "./policy/resolve.ts";
import { ServerExitedError, type ServerProcess } from "./sandbox/server_process.ts";
import { shellQuote } from "./sandbox/shell_quote.ts";
import { relayStdio } from "./sandbox/stdio_relay.ts";
import { readTokenFile } from "./http/bearer_token.ts";
import { compileTrustedProxies } from "./http/_client_address.ts";
import type { SessionMode } from "./http/bridge.ts";
import type { CliContext } from "./cli/context.ts";
import { HELP, USAGE } from "./cli/help.ts";
import { loadUserConfig, type UserConfig } from "./cli/user_config.ts";

/** Exit codes of the CLI (`run` exits with the server's own code once it started). */
export const EXIT: Readonly<Record<string, number>> = {
  ok: 0,
  error: 1,
  usage: 2,
  invalid: 3,
  cache: 4,
};

const OPTIONS = {
  param: { type: "string", short: "p", multiple: true },
  format: { type: "string", default: "text" },
  "dry-run": { type: "boolean" },
  registry: { type: "string", multiple: true },
  cache: { type: "string" },
  "jsr-url": { type: "string" },
  "npm-registry": { type: "string" },
  offline: { type: "boolean" },
  host: { type: "string" },
  port: { type: "string" },
  "token-file": { type: "string" },
  "allowed-host": { type: "string", multiple: true },
  "allowed-origin": { type: "string", multiple: true },
  "session-mode": { type: "string" },
  "max-sessions": { type: "string" },
  "max-sessions-per-client": { type: "string" },
  "rate-limit": { type: "string" },
  "max-concurrent": { type: "string" },
  "idle-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  "json-response": { type: "boolean" },
  "trust-proxy": { type: "string", multiple: true },
  "max-connections": { type: "string" },
  "max-connections-per-client": { type: "string" },
  isolation: { type: "string" },
  image: { type: "string" },
  network: { type: "string" },
  memory: { type: "string" },
  cpus: { type: "string" },
  "pids-limit": { type: "string" },
  trust: { type: "boolean" },
  form: { type: "string" },
  client: { type: "string" },
  scope: { type: "string" },
  name: { type: "string" },
  file: { type: "string" },
  force: { type: "boolean" },
  launcher: { type: "string" },
  "env-file": { type: "string" },
  yes: { type: "boolean" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Options every command takes. */
const GLOBAL_OPTIONS = ["help", "format", "cache", "registry", "jsr-url", "npm-registry"];
/** How a server is chosen and sandboxed. */
const LAUNCH = [
  "param",
  "offline",
  "isolation",
  "image",
  "network",
  "memory",
  "cpus",
  "pids-limit",
  "trust",
];
const SERVE = [
  "host",
  "port",
  "token-file",
  "allowed-host",
  "allowed-origin",
  "session-mode",
  "max-sessions",
  "max-sessions-per-client",
  "rate-limit",
  "max-concurrent",
  "idle-timeout",
  "request-timeout",
  "json-response",
  "trust-proxy",
  "max-connections",
  "max-connections-per-client",
];
const CLIENT = ["client", "scope", "form", "name", "file", "force", "launcher", "env-file"];
/** Options that only one isolation takes. */
const ISOLATION_OPTIONS: Record<Isolation, readonly (keyof typeof OPTIONS)[]> = {
  deno: [],
  docker: ["image", "network", "memory", "cpus", "pids-limit", "trust"],
};
/** Options each command takes besides the global ones; a stray one is a usage error. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  run: [...LAUNCH, "dry-run", "yes"],
  pull: [...LAUNCH, "yes"],
  flags: LAUNCH,
  inspect: [...LAUNCH, "timeout", "yes"],
  call: [...LAUNCH, "timeout", "yes"],
  serve: [...LAUNCH, ...SERVE, "dry-run", "yes"],
  config: [...LAUNCH, ...CLIENT, "yes"],
  install: [...LAUNCH, ...CLIENT, "yes"],
  uninstall: CLIENT,
  clients: ["scope"],
  check: ["isolation", "trust"],
  list: [],
  search: [],
  show: [],
  diff: [],
  export: [],
  import: [],
  index: [],
};

/** Options for {@linkcode main}. */
export interface MainOptions {
  /** Where normal output goes (default: stdout). */
  print?: (text: string) => void;
  /** Where messages go (default: stderr). */
  printError?: (text: string) => void;
  /** The environment (default: the process's). */
  env?: Record<string, string>;
}

/**
 * Runs the CLI with the given arguments.
 *
 * @param argv Arguments after the program name.
 * @param options Output sinks and environment.
 * @returns The exit code.
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const print = options.print ?? ((t: string) => console.log(t));
  const printError = options.printError ?? ((t: string) => console.error(t));
  const env = options.env ?? Deno.env.toObject();
  // Every server process and container dies with the launcher, even one killed by SIGKILL.
  guardChildren({ env });
  const dash = argv.indexOf("--");
  const serverArgs = dash >= 0 ? argv.slice(dash + 1) : [];
  let parsed;
  try {
    parsed = parseArgs({
      args: dash >= 0 ? argv.slice(0, dash) : argv,
      allowPositionals: true,
      tokens: true,
      options: OPTIONS,
    });
  } catch (error) {
    printError(`mcp-run: ${parseErrorMessage(error as Error)}\nRun mcp-run --help for usage.`);
    return EXIT.usage;
  }
  const { values, positionals, tokens } = parsed;
  const [command, ...rest] = positionals;
  if (!command || (values.help && !(command in HELP))) {
    (values.help ? print : printError)(USAGE);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (values.help) {
    print(HELP[command]);
    return EXIT.ok;
  }
  if (command in COMMAND_OPTIONS) {
    const allowed = new Set([...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[command]]);
    const stray = tokens.find((t) => t.kind === "option" && !allowed.has(t.name));
    if (stray?.kind === "option") {
      printError(
        `mcp-run ${command}: ${stray.rawName} is not an option of ${command}\n\n${HELP[command]}`,
      );
      return EXIT.usage;
    }
  }
  if (values.format !== "text" && values.format !== "json") {
    printError(`mcp-run: --format must be text or json, got "${values.format}"`);
    return EXIT.usage;
  }
  const json = values.format === "json";
  const usage = (text: string) => {
    printError(`mcp-run ${command}: ${text}\n\n${HELP[command] ?? USAGE}`);
    return EXIT.usage;
  };
  let defaults: UserConfig;
  try {
    defaults = await loadUserConfig(env);
  } catch (error) {
    printError(`mcp-run: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const choice = values.isolation ?? defaults.isolation ?? "deno";
  if (!Object.hasOwn(ISOLATION_OPTIONS, choice)) {
    return usage(`--isolation must be deno or docker, got "${choice}"`);
  }
  const isolation = choice as Isolation;
  // config and install take every isolation's options, for the entry forms.
  if (command !== "config" && command !== "install") {
    for (const [other, flags] of Object.entries(ISOLATION_OPTIONS)) {
      if (other === isolation) continue;
      const given = flags.find((flag) => values[flag] !== undefined);
      if (given) return usage(`--${given} needs --isolation ${other}`);
    }
  }
  const pidsLimit = values["pids-limit"] === undefined ? undefined : Number(values["pids-limit"]);
  if (pidsLimit !== undefined && !(Number.isSafeInteger(pidsLimit) && pidsLimit > 0)) {
    return usage(`--pids-limit must be a positive whole number, got "${values["pids-limit"]}"`);
  }
  try {
    checkDockerLimits({ memory: values.memory, cpus: values.cpus });
    if (values.image !== undefined) checkImageReference(values.image);
  } catch (error) {
    return usage((error as Error).message);
  }
  const registries: Record<string, string> = {};
  if (values["jsr-url"]) registries.JSR_URL = values["jsr-url"];
  if (values["npm-registry"]) registries.NPM_CONFIG_REGISTRY = values["npm-registry"];
  for (const source of values.registry ?? []) {
    try {
      await checkRegistrySource(source);
    } catch (error) {
      return usage(`--registry: ${(error as Error).message}`);
    }
  }
  if (values.cache !== undefined && values.cache.trim() === "") {
    return usage(`--cache must name a folder, got "${values.cache}"`);
  }
  const root = values.cache === undefined
    ? cacheRoot({ env })
    : isAbsolute(values.cache)
    ? values.cache
    : resolvePath(values.cache);
  try {
    if (!Deno.statSync(root).isDirectory) {
      return usage(`--cache must name a folder, but "${root}" is a file`);
    }
  } catch { /* created on first use */ }
  const docker: DockerLaunchOptions = {
    cacheRoot: root,
    image: values.image ?? defaults.image,
    network: values.network,
    memory: values.memory,
    cpus: values.cpus,
    pidsLimit,
    source: env,
    registries,
  };
  const sandboxFor = (choice: Isolation): Sandbox =>
    createSandbox(choice, {
      ...docker,
      progress: printError,
      autoPull: !values.offline,
      approve: values.yes ?? false,
    });
  const params: Record<string, string[]> = {};
  for (const entry of values.param ?? []) {
    const eq = entry.indexOf("=");
    if (eq <= 0) return usage(`-p takes NAME=VALUE, got "${entry}"`);
    (params[entry.slice(0, eq)] ??= []).push(entry.slice(eq + 1));
  }
  const sources = values.registry
    ? [...values.registry, new URL("../manifests/", import.meta.url)]
    : undefined;
  const ctx: Context = {
    root,
    sources,
    target: {
      sources,
      params,
      home: env.HOME,
      cacheRoot: root,
      npmRegistry: registries.NPM_CONFIG_REGISTRY,
      isolation,
      trust: values.trust ?? false,
    },
    env,
    registries,
    print,
    printError,
    json,
    docker,
    sandbox: sandboxFor(isolation),
    sandboxFor,
  };

  const clientCtx = {
    ...ctx,
    registrySources: values.registry ?? [],
    entryOptions: ctx.docker,
    sandbox: sandboxFor,
  };
  const clientOptions: ClientCommandOptions = {
    client: values.client,
    scope: values.scope,
    form: values.form,
    name: values.name,
    file: values.file,
    force: values.force,
    launcher: values.launcher,
    envFile: values["env-file"],
    extraArgs: serverArgs,
  };
  try {
    switch (command) {
      case "install":
      case "uninstall":
      case "clients": {
        // Loaded on demand so `run` does not pay for the config editors at start-up.
        const commands = await import("./cli/clients.ts");
        if (command === "clients") {
          if (rest.length !== 0) return usage("takes no arguments");
          return await commands.clientsCommand(clientCtx);
        }
        if (rest.length !== 1) {
          return usage(`give one ${command === "uninstall" ? "entry" : "server"} name`);
        }
        const fn = command === "install" ? commands.installCommand : commands.uninstallCommand;
        return await fn(clientCtx, rest[0], clientOptions);
      }
      case "run":
        if (rest.length !== 1) return usage("give one server name or manifest path");
        return await runCommand(ctx, rest[0], serverArgs, values["dry-run"] ?? false);
      case "pull":
        if (rest.length !== 1) return usage("give one server name or manifest path");
        {
          // Both check the manifest against the approved one first (--yes accepts more).
          const server = await resolveFor(ctx, rest[0], serverArgs);
          await ctx.sandbox.pull(server);
        }
        return EXIT.ok;
      case "flags": {
        if (rest.length !== 1) return usage("give one server name or manifest path");
        const server = await resolveFor(ctx, rest[0], serverArgs);
        // A command to copy: no launcher labels, or the next launch would remove its container.
        const plan = ctx.sandbox.plan(server, { standalone: true });
        print(
          json
            ? JSON.stringify([plan.program, ...plan.args])
            : shellQuote([plan.program, ...plan.args]),
        );
        return EXIT.ok;
      }
      case "inspect": {
        if (rest.length !== 1) return usage("give one server name or manifest path");
        const timeoutMs = timeoutOption(values.timeout);
        if (typeof timeoutMs === "string") return usage(timeoutMs);
        return await inspectCommand(ctx, rest[0], serverArgs, timeoutMs);
      }
      case "call": {
        if (rest.length < 2 || rest.length > 3) {
          return usage("give a server, a tool and JSON arguments");
        }
        const timeoutMs = timeoutOption(values.timeout);
        if (typeof timeoutMs === "string") return usage(timeoutMs);
        return await callCommand(ctx, rest[0], rest[1], rest[2] ?? "{}", serverArgs, timeoutMs);
      }
      case "serve": {
        if (rest.length !== 1) return usage("give one server name or manifest path");
        const serve = serveOptions(values);
        if (typeof serve === "string") return usage(serve);
        return await serveCommand(ctx, rest[0], serverArgs, serve, values["dry-run"] ?? false);
      }
      case "config": {
        if (rest.length !== 1) return usage("give one server name or manifest path");
        if (values.client !== undefined) {
          const { configCommand: clientConfig } = await import("./cli/clients.ts");
          return await clientConfig(clientCtx, rest[0], clientOptions);
        }
        // The entry form of the same name as the isolation, unless one is chosen.
        const form = values.form ?? isolation;
        if (form === "launcher") {
          return usage(
            "--form launcher writes the entry for one client: add --client C (claude-desktop, " +
              "vscode, cursor, …)",
          );
        }
        if (form !== "deno" && form !== "docker") {
          return usage(`--form must be deno, launcher or docker, got "${form}"`);
        }
        return await configCommand(ctx, rest[0], serverArgs, form);
      }
      case "check":
        if (rest.length === 0) return usage("give one or more manifest files");
        return await checkCommand(ctx, rest);
      case "list":
        return await listCommand(ctx);
      case "search":
        if (rest.length === 0) return usage("give one or more words");
        return await searchCommand(ctx, rest);
      case "show":
        if (rest.length !== 1) return usage("give one registry name");
        return await showCommand(ctx, rest[0]);
      case "diff":
        if (rest.length !== 2) return usage("give the old and the new manifest");
        return await diffCommand(ctx, rest[0], rest[1]);
      case "export":
        if (rest.length !== 1) return usage("give one registry name or manifest path");
        return await exportCommand(ctx, rest[0]);
      case "import":
        if (rest.length !== 1) return usage("give one server.json file or URL");
        return await importCommand(ctx, rest[0]);
      case "index":
        if (rest.length !== 1) return usage("give one folder of manifests");
        return await indexCommand(ctx, rest[0]);
      default:
        printError(`mcp-run: unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (error) {
    if ((error as Error).name === "ClientUsageError") return usage((error as Error).message);
    printError(`mcp-run: ${osErrorMessage(error as Error)}`);
    if (error instanceof ManifestError || error instanceof GrantError) return EXIT.invalid;
    if (error instanceof CacheError) return EXIT.cache;
    if (error instanceof DockerUnavailableError) return EXIT.error;
    return EXIT.error;
  }
}

/** The parser's message for a bad option, in the CLI's own words. */
function parseErrorMessage(error: Error): string {
  const code = (error as Error & { code?: string }).code;
  const unknown = /^Unknown option '([^']*)'/.exec(error.message);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) {
    return `unknown option ${unknown[1]} (server arguments go after --, as in -- ${unknown[1]})`;
  }
  const missing = /^Option '([^']*)' argument is ambiguous/.exec(error.message);
  if (missing) {
    return `${missing[1]} needs a value: write ${missing[1]}=VALUE for one that starts with -`;
  }
  return error.message;
}

const OS_ERROR_WORDS: Record<string, string> = {
  NotFound: "it does not exist",
  IsADirectory: "it is a folder, not a file",
  NotADirectory: "a part of the path is a file, not a folder",
  PermissionDenied: "permission denied",
  AlreadyExists: "it already exists",
};

const OS_OPERATION_WORDS: Record<string, string> = {
  readfile: "read",
  open: "open",
  stat: "find",
  lstat: "find",
  readdir: "list",
  mkdir: "create",
  writefile: "write",
  remove: "remove",
  rename: "move",
};

/**
 * A bare operating-system error (`Is a directory (os error 21): readfile '/x'`) said in words,
 * with the path it concerns: `Cannot read "/x": it is a folder, not a file`. Other errors keep
 * their message.
 */
function osErrorMessage(error: Error): string {
  const match = /\(os error \d+\): (\w+) '([^']*)'/.exec(error.message);
  const words = OS_ERROR_WORDS[error.name];
  if (!match || !words) return error.message;
  const [, operation, path] = match;
  return `Cannot ${OS_OPERATION_WORDS[operation] ?? operation} "${path}": ${words}`;
}

interface Context extends CliContext {
  /** Docker image, network and limits (also for docker client entries). */
  docker: DockerLaunchOptions;
  /** The sandbox of `--isolation`. */
  sandbox: Sandbox;
  /** The sandbox of another isolation (client entry forms), with the same options. */
  sandboxFor: (isolation: Isolation) => Sandbox;
}

async function resolveFor(
  ctx: Context,
  target: string,
  extraArgs: string[],
): Promise<ResolvedServer> {
  return (await resolveTarget(target, { ...ctx.target, extraArgs })).server;
}

async function runCommand(
  ctx: Context,
  target: string,
  extraArgs: string[],
  dryRun: boolean,
): Promise<number> {
  const server = await resolveFor(ctx, target, extraArgs);
  const plan = ctx.sandbox.plan(server);
  if (dryRun) {
    ctx.print(formatPlan(plan, server, ctx.json));
    return EXIT.ok;
  }
  const { verify } = await ctx.sandbox.prepare(server);
  const child: ServerProcess = ctx.sandbox.spawn(server, { plan });
  const gate = verify();
  // Pass the signal on, then make sure the server ends: one that ignores it is killed after the
  // grace period (stop() closes stdin, then SIGTERM, then SIGKILL).
  let received: Deno.Signal | undefined;
  const forward = (signal: Deno.Signal) => () => {
    received ??= signal;
    child.kill(signal);
    child.stop().catch(() => {});
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((s) => [s, forward(s)] as const);
  for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
  try {
    const status = await relayStdio(child, { gate });
    // Stopped by a signal: exit as a process killed by it would, whatever the server answered.
    const signal = received ?? status.signal;
    return signal ? 128 + signalNumber(signal) : status.code;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    await child.stop();
    await ctx.sandbox.cleanUp();
  }
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

/**
 * Formats a launch plan for `--dry-run`: the exact command line, the folder, and the
 * environment with secret values hidden.
 *
 * @param plan The plan.
 * @param server The server (its secret names are masked).
 * @param json Whether to print JSON.
 * @returns The text to print.
 */
export function formatPlan(plan: LaunchPlan, server: ResolvedServer, json: boolean): string {
  const env = Object.fromEntries(
    Object.entries(plan.env).map(([k, v]) => [k, server.secrets.includes(k) ? "<secret>" : v]),
  );
  if (json) return JSON.stringify({ ...plan, env }, null, 2);
  return [
    `cwd: ${plan.cwd}`,
    `env: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    `command: ${shellQuote([plan.program, ...plan.args])}`,
  ].join("\n");
}

/**
 * Reads `--timeout SECONDS` (default 30: a person is waiting) as milliseconds, or says what is
 * wrong with it.
 */
function timeoutOption(text: string | undefined): number | string {
  if (text === undefined) return 30_000;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    return `--timeout must be a positive number of seconds, got "${text}"`;
  }
  return Math.ceil(seconds * 1000);
}

async function inspectCommand(
  ctx: Context,
  target: string,
  extraArgs: string[],
  timeoutMs: number,
): Promise<number> {
  const server = await resolveFor(ctx, target, extraArgs);
  const { connectServer } = await import("./sandbox/connect.ts");
  const connected = await connectServer(server, {
    cacheRoot: ctx.root,
    sandbox: ctx.sandbox,
    onStderr: () => {},
    timeoutMs,
  });
  try {
    const { client, request } = connected;
    const caps = client.getServerCapabilities() ?? {};
    const tools: Tool[] = caps.tools
      ? (await request<ListToolsResult>("tools/list", (o) => client.listTools(undefined, o))).tools
      : [];
    const prompts: Prompt[] = caps.prompts
      ? (await request<ListPromptsResult>("prompts/list", (o) => client.listPrompts(undefined, o)))
        .prompts
      : [];
    const resources: Resource[] = caps.resources
      ? (await request<ListResourcesResult>(
        "resources/list",
        (o) => client.listResources(undefined, o),
      ))
        .resources
      : [];
    const info = client.getServerVersion();
    if (ctx.json) {
      ctx.print(JSON.stringify(
        {
          server: info,
          permissions: describePermissions(server),
          tools: tools.map((t) => ({ name: t.name, description: t.description })),
          prompts: prompts.map((p) => ({ name: p.name, description: p.description })),
          resources: resources.map((r) => ({ uri: r.uri, name: r.name })),
        },
        null,
        2,
      ));
      return EXIT.ok;
    }
    const out = [
      `${server.name}: ${info?.name ?? "?"} ${info?.version ?? ""}`.trim(),
      "",
      "It may:",
      ...describePermissions(server).map((l) => `  ${l}`),
      "",
      `Tools (${tools.length}):`,
      ...tools.map((t) => `  ${t.name}  ${firstLine(t.description)}`),
    ];
    if (prompts.length) {
      out.push("", `Prompts (${prompts.length}):`);
      out.push(...prompts.map((p) => `  ${p.name}  ${firstLine(p.description)}`));
    }
    if (resources.length) {
      out.push("", `Resources (${resources.length}):`);
      out.push(...resources.map((r) => `  ${r.uri}  ${r.name ?? ""}`));
    }
    ctx.print(out.join("\n"));
    return EXIT.ok;
  } finally {
    await connected.close();
  }
}

function firstLine(text?: string): string {
  const line = (text ?? "").split("\n")[0].trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

async function callCommand(
  ctx: Context,
  target: string,
  tool: string,
  argsText: string,
  extraArgs: string[],
  timeoutMs: number,
): Promise<number> {
  let args: unknown;
  try {
    args = JSON.parse(argsText);
  } catch (error) {
    throw new SyntaxError(`Tool arguments must be a JSON object: ${(error as Error).message}`);
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) {
    throw new TypeError(`Tool arguments must be a JSON object, got ${argsText}`);
  }
  const server = await resolveFor(ctx, target, extraArgs);
  const { connectServer } = await import("./sandbox/connect.ts");
  const connected = await connectServer(server, {
    cacheRoot: ctx.root,
    sandbox: ctx.sandbox,
    onStderr: () => {},
    timeoutMs,
  });
  try {
    const params = { name: tool, arguments: args as Record<string, unknown> };
    const result = await connected.request<CallToolResult>(
      "tools/call",
      (o) => connected.client.callTool(params, undefined, o),
    );
    if (ctx.json) ctx.print(JSON.stringify(result, null, 2));
    else {
      const content = (result.content ?? []) as { type: string; text?: string }[];
      ctx.print(
        content.map((c) => c.type === "text" ? c.text : `[${c.type} content]`).join("\n"),
      );
    }
    return result.isError ? EXIT.error : EXIT.ok;
  } catch (error) {
    if (error instanceof ServerExitedError || error instanceof Deno.errors.TimedOut) throw error;
    throw new Error(`Tool "${tool}" failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await connected.close();
  }
}

/** The `serve` command's own options, validated. */
interface ServeCommandOptions {
  host: string;
  port: number;
  tokenFile?: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  sessionMode: SessionMode;
  maxSessions?: number;
  maxSessionsPerClient?: number;
  ratePerSecond?: number;
  maxConcurrentPerClient?: number;
  idleTimeoutMs?: number;
  requestTimeoutMs?: number;
  jsonResponse: boolean;
  trustProxy: string[];
  maxConnections?: number;
  maxConnectionsPerClient?: number;
}

type ServeFlags =
  & Partial<
    Record<
      | "host"
      | "port"
      | "token-file"
      | "session-mode"
      | "max-sessions"
      | "max-sessions-per-client"
      | "rate-limit"
      | "max-concurrent"
      | "idle-timeout"
      | "request-timeout"
      | "max-connections"
      | "max-connections-per-client",
      string
    >
  >
  & {
    "allowed-host"?: string[];
    "allowed-origin"?: string[];
    "json-response"?: boolean;
    "trust-proxy"?: string[];
  };

function serveOptions(values: ServeFlags): ServeCommandOptions | string {
  const port = Number(values.port ?? "8808");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return `--port must be a port number, got "${values.port}"`;
  }
  const sessionMode = values["session-mode"] ?? "isolated";
  if (sessionMode !== "isolated" && sessionMode !== "shared") {
    return `--session-mode must be isolated or shared, got "${sessionMode}"`;
  }
  const numbers: Record<string, number | undefined> = {};
  const positive = [
    "max-sessions",
    "max-sessions-per-client",
    "max-concurrent",
    "idle-timeout",
    "request-timeout",
    "rate-limit",
    "max-connections",
    "max-connections-per-client",
  ] as const;
  for (const flag of positive) {
    const text = values[flag];
    if (text === undefined) continue;
    const value = Number(text);
    const zeroAllowed = flag === "rate-limit";
    if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      return `--${flag} must be a positive number, got "${text}"`;
    }
    numbers[flag] = value;
  }
  const rate = numbers["rate-limit"];
  const trustProxy = values["trust-proxy"] ?? [];
  try {
    compileTrustedProxies(trustProxy);
  } catch (error) {
    return `--trust-proxy ${(error as Error).message.replace(/^Cannot trust proxy /, "")}`;
  }
  return {
    host: values.host ?? "127.0.0.1",
    port,
    tokenFile: values["token-file"],
    allowedHosts: values["allowed-host"] ?? [],
    allowedOrigins: values["allowed-origin"] ?? [],
    sessionMode,
    maxSessions: numbers["max-sessions"],
    maxSessionsPerClient: numbers["max-sessions-per-client"],
    ratePerSecond: rate === 0 ? Infinity : rate,
    maxConcurrentPerClient: numbers["max-concurrent"],
    idleTimeoutMs: numbers["idle-timeout"] && numbers["idle-timeout"] * 1000,
    requestTimeoutMs: numbers["request-timeout"] && numbers["request-timeout"] * 1000,
    jsonResponse: values["json-response"] ?? false,
    trustProxy,
    maxConnections: numbers["max-connections"],
    maxConnectionsPerClient: numbers["max-connections-per-client"],
  };
}

async function serveCommand(
  ctx: Context,
  target: string,
  extraArgs: string[],
  options: ServeCommandOptions,
  dryRun: boolean,
): Promise<number> {
  let tokens: string[] = [];
  try {
    if (options.tokenFile !== undefined) tokens = await readTokenFile(options.tokenFile);
  } catch (error) {
    // A token file that is missing or unusable is a bad --token-file.
    ctx.printError(`mcp-run: ${(error as Error).message}`);
    return EXIT.usage;
  }
  // Loaded on use, so the other commands start without the HTTP bridge and its SDK transport.
  const { checkBindAddress } = await import("./http/serve.ts");
  const { serveServer } = await import("./http/serve_server.ts");
  checkBindAddress(options.host, tokens.length > 0);
  const server = await resolveFor(ctx, target, extraArgs);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  if (dryRun) {
    ctx.print(formatPlan(ctx.sandbox.plan(server), server, ctx.json));
    if (!ctx.json) ctx.print(`listen: http://${host}:${options.port}/mcp`);
    return EXIT.ok;
  }
  const onStderr = (line: string) => ctx.printError(`[${server.name}] ${line}`);
  const shutdown = new AbortController();
  const stop = () => shutdown.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    const served = await serveServer(server, {
      cacheRoot: ctx.root,
      // Each process gets a fresh plan: in docker, its own container name.
      sandbox: ctx.sandbox,
      onStderr,
      hostname: options.host,
      port: options.port,
      tokens,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
      sessionMode: options.sessionMode,
      maxSessions: options.maxSessions,
      maxSessionsPerClient: options.maxSessionsPerClient,
      ratePerSecond: options.ratePerSecond,
      rateBurst: options.ratePerSecond && options.ratePerSecond * 2,
      maxConcurrentPerClient: options.maxConcurrentPerClient,
      idleTimeoutMs: options.idleTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      jsonResponse: options.jsonResponse,
      trustProxy: options.trustProxy,
      maxConnections: options.maxConnections,
      maxConnectionsPerClient: options.maxConnectionsPerClient,
      signal: shutdown.signal,
    }).catch((error) => {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      throw new Deno.errors.AddrInUse(
        `${error.message}; stop the program using it, or choose another port with --port ` +
          "(--port 0 picks a free one)",
        { cause: error },
      );
    });
    const unit = ctx.sandbox.unit;
    const mode = options.sessionMode === "isolated"
      ? `one sandboxed ${unit} per session`
      : `one sandboxed ${unit} shared by every session`;
    ctx.printError(`mcp-run serve: ${server.name} on ${served.url} (${mode})`);
    if (tokens.length === 0) ctx.printError("mcp-run serve: no token: loopback clients only");
    await served.finished;
    ctx.printError("mcp-run serve: stopped");
    return EXIT.ok;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

async function configCommand(
  ctx: Context,
  target: string,
  extraArgs: string[],
  form: "deno" | "docker",
): Promise<number> {
  const { loaded, server } = await resolveTarget(target, {
    ...ctx.target,
    extraArgs,
    isolation: form,
  });
  await (await ctx.sandboxFor(form).prepare(server)).verify();
  const entry = launchEntry(server, {
    ...ctx.docker,
    form,
    cacheRoot: ctx.root,
    user: ctx.docker.user ?? (form === "docker" ? defaultContainerUser(server) : undefined),
    secretDescriptions: Object.fromEntries(
      Object.entries({ ...loaded.manifest.env, ...loaded.manifest.secrets })
        .map(([name, spec]) => [name, spec.description]),
    ),
  });
  const value: Record<string, unknown> = { command: entry.command, args: entry.args };
  if (Object.keys(entry.env).length > 0) value.env = entry.env;
  ctx.print(JSON.stringify(ctx.json ? entry : value, null, 2));
  if (!ctx.json && entry.secrets.length > 0) {
    ctx.printError(
      `The client must set ${entry.secrets.map((s) => s.name).join(", ")} in this entry's ` +
        "environment (mcp-run never writes their values).",
    );
  }
  return EXIT.ok;
}

async function checkCommand(ctx: Context, files: string[]): Promise<number> {
  const results: { file: string; ok: boolean; problems: unknown[] }[] = [];
  for (const file of files) {
    try {
      const loaded = await loadManifest(file.includes("/") ? file : `./${file}`);
      // The grant policy run applies, to what the manifest decides by itself.
      const { home, cacheRoot, isolation, trust } = ctx.target;
      const problems = manifestGrantProblems(loaded.manifest, {
        home,
        cacheRoot,
        isolation,
        trust,
      });
      if (problems.length > 0) throw new ManifestError(problems, loaded.file);
      results.push({ file, ok: true, problems: [] });
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      results.push({ file, ok: false, problems: error.problems });
      if (!ctx.json) ctx.printError(error.message);
    }
  }
  if (ctx.json) ctx.print(JSON.stringify(results, null, 2));
  else for (const r of results) if (r.ok) ctx.print(`${r.file}: ok`);
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.invalid;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
