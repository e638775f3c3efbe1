/**
 * The `mcp-run` command line: parse, dispatch to the command's module, print. No logic lives
 * only here. The program's entry is runtime/cli.ts.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import { osErrorMessage } from "../_os_error.ts";
import { guardChildren } from "../sandbox/child_guard.ts";
import { ManifestError } from "../policy/manifest.ts";
import { GrantError } from "../policy/resolve.ts";
import { CacheError } from "../sandbox/pull.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { flagsCommand, pullCommand, runCommand } from "./launch.ts";
import type { ClientCommandOptions } from "./clients.ts";
import {
  type CliValues,
  parseCommandLine,
  parseErrorMessage,
  readContext,
  strayOption,
} from "./options.ts";
import { loadUserConfig, type UserConfig } from "./user_config.ts";
import type { LaunchHint } from "./_launch_hint.ts";

/** One command: its module's entry, given the context, its part of the line and the options. */
type Command = (ctx: CliContext, line: CommandLine, values: CliValues) => Promise<number>;

const ONE_TARGET = "give one server name or manifest path";

/** The client commands' options, as parsed (the guard's as a launcher entry passes them on). */
function clientOptions(
  values: CliValues,
  line: CommandLine,
  guard: string[],
): ClientCommandOptions {
  return {
    client: values.client,
    scope: values.scope,
    form: values.form,
    name: values.name,
    file: values.file,
    force: values.force,
    launcher: values.launcher,
    envFile: values["env-file"],
    extraArgs: line.serverArgs,
    guard,
  };
}

/** The client commands, loaded on use so `run` does not pay for the config editors. */
function clientCommand(
  name: "configCommand" | "installCommand" | "uninstallCommand",
  arity: string,
): Command {
  return async (ctx, line, values) => {
    expectArgs(line.rest, 1, 1, arity);
    const [commands, { guardArgs }] = await Promise.all([clients(), guardFlags()]);
    return await commands[name](ctx, line.rest[0], clientOptions(values, line, guardArgs(values)));
  };
}

/** The guard's options, loaded on use so that every command does not pay for the guard. */
const guardFlags = () =>
  import(onUse("./guard_flags.ts", import.meta.url)) as Promise<typeof import("./guard_flags.ts")>;
/** The usage texts, loaded when shown. */
const help = () =>
  import(onUse("./help.ts", import.meta.url)) as Promise<typeof import("./help.ts")>;
/** The registry commands, loaded on use so `run` starts without them. */
const registry = () =>
  import(onUse("./registry.ts", import.meta.url)) as Promise<typeof import("./registry.ts")>;
/** The commands that talk to a server as a client (inspect, call), loaded on use. */
const inspect = () =>
  import(onUse("./inspect.ts", import.meta.url)) as Promise<typeof import("./inspect.ts")>;
/** The client commands, loaded on use. */
const clients = () =>
  import(onUse("./clients.ts", import.meta.url)) as Promise<typeof import("./clients.ts")>;

/** Every command, by name. */
const COMMANDS: Record<string, Command> = {
  run: (ctx, line, values) => runCommand(ctx, line, { dryRun: values["dry-run"], guard: values }),
  pull: (ctx, line) => pullCommand(ctx, line),
  flags: (ctx, line) => flagsCommand(ctx, line),
  inspect: async (ctx, line, values) =>
    (await inspect()).inspectCommand(ctx, line, { timeout: values.timeout, guard: values }),
  call: async (ctx, line, values) =>
    (await inspect()).callCommand(ctx, line, { timeout: values.timeout, guard: values }),
  // Loaded on use, so the other commands start without the HTTP bridge and its SDK transport.
  serve: async (ctx, line, values) =>
    await (await (import(onUse("./serve.ts", import.meta.url)) as Promise<
      typeof import("./serve.ts")
    >)).serveCommand(ctx, line, values),
  config: clientCommand("configCommand", ONE_TARGET),
  install: clientCommand("installCommand", "give one server name"),
  uninstall: clientCommand("uninstallCommand", "give one entry name"),
  clients: async (ctx, line) => {
    expectArgs(line.rest, 0, 0, "takes no arguments");
    return await (await clients()).clientsCommand(ctx);
  },
  adopt: async (ctx, line, values) => {
    expectArgs(line.rest, 0, 0, "takes no arguments: give the client with --client C");
    const { adoptCommand } = await (import(onUse("./adopt.ts", import.meta.url)) as Promise<
      typeof import("./adopt.ts")
    >);
    return await adoptCommand(ctx, {
      client: values.client,
      file: values.file,
      scope: values.scope,
      form: values.form,
      dryRun: values["dry-run"],
      yes: values.yes,
      undo: values.undo,
      force: values.force,
    });
  },
  approve: async (ctx, line, values) =>
    await (await (import(onUse("./approve.ts", import.meta.url)) as Promise<
      typeof import("./approve.ts")
    >)).approveCommand(ctx, line, { diff: values.diff, yes: values.yes, timeout: values.timeout }),
  denials: async (ctx, line) =>
    await (await (import(onUse("./denials.ts", import.meta.url)) as Promise<
      typeof import("./denials.ts")
    >)).denialsCommand(ctx, line),
  check: async (ctx, line) =>
    await (await (import(onUse("./check.ts", import.meta.url)) as Promise<
      typeof import("./check.ts")
    >)).checkCommand(ctx, line),
  list: async (ctx) => await (await registry()).listCommand(ctx),
  search: async (ctx, { rest }) => {
    expectArgs(rest, 1, Infinity, "give one or more words");
    return (await registry()).searchCommand(ctx, rest);
  },
  show: async (ctx, { rest }) => {
    expectArgs(rest, 1, 1, "give one registry name");
    return (await registry()).showCommand(ctx, rest[0]);
  },
  diff: async (ctx, { rest }) => {
    expectArgs(rest, 2, 2, "give the old and the new manifest");
    return (await registry()).diffCommand(ctx, rest[0], rest[1]);
  },
  export: async (ctx, { rest }) => {
    expectArgs(rest, 1, 1, "give one registry name or manifest path");
    return (await registry()).exportCommand(ctx, rest[0]);
  },
  import: async (ctx, { rest }) => {
    expectArgs(rest, 1, 1, "give one server.json file or URL");
    return (await registry()).importCommand(ctx, rest[0]);
  },
  learn: async (ctx, line, values) =>
    await (await (import(onUse("./learn.ts", import.meta.url)) as Promise<
      typeof import("./learn.ts")
    >)).learnCommand(ctx, line, {
      call: values.call,
      env: values.env,
      write: values.write,
      force: values.force,
      timeout: values.timeout,
      probe: !values["no-probe"],
    }),
  deploy: async (ctx, line, values) =>
    await (await (import(onUse("./deploy.ts", import.meta.url)) as Promise<
      typeof import("./deploy.ts")
    >)).deployCommand(ctx, line, values),
  tokens: async (ctx, line, values) =>
    await (await (import(onUse("./tokens.ts", import.meta.url)) as Promise<
      typeof import("./tokens.ts")
    >)).tokensCommand(ctx, line, { "state-dir": values["state-dir"], all: values.all }),
  index: async (ctx, { rest }) => {
    expectArgs(rest, 1, 1, "give one folder of manifests");
    return (await registry()).indexCommand(ctx, rest[0]);
  },
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

/** Options for {@linkcode main} from the program entry (runtime/cli.ts). */
export interface ProgramOptions extends MainOptions {
  /**
   * This command line's launch hint, read before the CLI loaded (see `readLaunchHint`), so that
   * `run` checks the cache of the server it started last time while its modules load.
   */
  launchHint?: LaunchHint;
}

/**
 * Runs the CLI with the given arguments (runtime/cli.ts is the program and the public entry).
 *
 * @param argv Arguments after the program name.
 * @param options Output sinks, environment and launch hint.
 * @returns The exit code.
 */
export async function main(argv: string[], options: ProgramOptions = {}): Promise<number> {
  const print = options.print ?? ((t: string) => console.log(t));
  const printError = options.printError ?? ((t: string) => console.error(t));
  const env = options.env ?? Deno.env.toObject();
  // Every server process and container dies with the launcher, even one killed by SIGKILL.
  guardChildren({ env });
  const dash = argv.indexOf("--");
  const line = { rest: [] as string[], serverArgs: dash >= 0 ? argv.slice(dash + 1) : [] };
  let parsed;
  try {
    parsed = await parseCommandLine(dash >= 0 ? argv.slice(0, dash) : argv);
  } catch (error) {
    printError(`mcp-run: ${parseErrorMessage(error as Error)}\nRun mcp-run --help for usage.`);
    return EXIT.usage;
  }
  const { values, positionals, tokens } = parsed;
  const [command, ...rest] = positionals;
  line.rest = rest;
  if (!command || values.help) {
    const { HELP, SHARED_OPTIONS, USAGE } = await help();
    if (!command || !(command in HELP)) {
      (values.help ? print : printError)(USAGE);
      return values.help ? EXIT.ok : EXIT.usage;
    }
    print(`${HELP[command]}\n\n${SHARED_OPTIONS}`);
    return EXIT.ok;
  }
  const run = COMMANDS[command];
  if (!run) {
    const { USAGE } = await help();
    printError(`mcp-run: unknown command "${command}"\n\n${USAGE}`);
    return EXIT.usage;
  }
  const stray = strayOption(command, tokens);
  if (stray) {
    const { HELP } = await help();
    printError(
      `mcp-run ${command}: ${stray} is not an option of ${command}\n\n${synopsis(command, HELP)}`,
    );
    return EXIT.usage;
  }
  if (values.format !== "text" && values.format !== "json") {
    printError(`mcp-run: --format must be text or json, got "${values.format}"`);
    return EXIT.usage;
  }
  let defaults: UserConfig;
  try {
    defaults = await loadUserConfig(env);
  } catch (error) {
    printError(`mcp-run: ${(error as Error).message}`);
    return EXIT.usage;
  }
  try {
    const ctx = await readContext(values, {
      command,
      env,
      defaults,
      print,
      printError,
      launchHint: options.launchHint,
    });
    return await run(ctx, line, values);
  } catch (error) {
    if (error instanceof UsageError) {
      const { HELP, USAGE } = await help();
      const usage = HELP[command] === undefined ? USAGE : synopsis(command, HELP);
      printError(`mcp-run ${command}: ${error.message}\n\n${usage}`);
      return EXIT.usage;
    }
    printError(`mcp-run: ${osErrorMessage(error as Error)}`);
    if (error instanceof ManifestError || error instanceof GrantError) return EXIT.invalid;
    if (error instanceof CacheError) return EXIT.cache;
    return EXIT.error;
  }
}

/** A command's synopsis (its help up to the first blank line) and where the rest is. */
function synopsis(command: string, help: Record<string, string>): string {
  const text = help[command] ?? "";
  return `${text.split("\n\n")[0]}\nSee mcp-run ${command} --help for every option.`;
}
