/**
 * The command line's options: the parser's table, which command takes which, and the common
 * options read into the context every command receives.
 *
 * @module
 */
import type { parseArgs } from "node:util";
import { quickParseArgs } from "./_quick_args.ts";
import { cacheRoot } from "../sandbox/cache_dirs.ts";
import { checkDockerLimits, checkImageReference } from "../sandbox/docker_checks.ts";
import { DENO_IMAGE } from "../sandbox/docker_names.ts";
import { parseRate } from "../sandbox/egress_rate.ts";
import type { LaunchHint } from "./_launch_hint.ts";
import { createSandbox, type Isolation } from "../sandbox/create_sandbox.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { checkRegistrySource } from "../registry/load.ts";
import { type CliContext, UsageError } from "./context.ts";
import type { UserConfig } from "./user_config.ts";
import { AUDIT_OPTIONS, GUARD_OPTIONS } from "./_guard_names.ts";

/** The option table of the parser. */
export const OPTIONS = {
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
  auth: { type: "string" },
  "public-url": { type: "string" },
  "state-dir": { type: "string" },
  "set-passphrase": { type: "boolean" },
  public: { type: "boolean" },
  all: { type: "boolean" },
  "allowed-host": { type: "string", multiple: true },
  "allowed-origin": { type: "string", multiple: true },
  "session-mode": { type: "string" },
  "max-sessions": { type: "string" },
  "max-sessions-per-client": { type: "string" },
  "rate-limit": { type: "string" },
  "max-concurrent": { type: "string" },
  "idle-timeout": { type: "string" },
  "request-timeout": { type: "string" },
  tools: { type: "string", multiple: true },
  "exclude-tools": { type: "string", multiple: true },
  scan: { type: "string" },
  "json-response": { type: "boolean" },
  "trust-proxy": { type: "string", multiple: true },
  "max-connections": { type: "string" },
  "max-connections-per-client": { type: "string" },
  warm: { type: "string" },
  isolation: { type: "string" },
  image: { type: "string" },
  network: { type: "string" },
  memory: { type: "string" },
  cpus: { type: "string" },
  "pids-limit": { type: "string" },
  "egress-rate": { type: "string" },
  trust: { type: "boolean" },
  "allow-build": { type: "boolean" },
  form: { type: "string" },
  client: { type: "string" },
  scope: { type: "string" },
  name: { type: "string" },
  file: { type: "string" },
  force: { type: "boolean" },
  launcher: { type: "string" },
  "env-file": { type: "string" },
  yes: { type: "boolean" },
  undo: { type: "boolean" },
  diff: { type: "boolean" },
  timeout: { type: "string" },
  call: { type: "string", multiple: true },
  env: { type: "string", multiple: true },
  write: { type: "string" },
  "no-probe": { type: "boolean" },
  audit: { type: "string" },
  "audit-content": { type: "boolean" },
  // deploy (it takes serve's auth, public-url, state-dir and public too).
  target: { type: "string" },
  out: { type: "string" },
  "deploy-image": { type: "string" },
  "egress-address": { type: "string", multiple: true },
  "client-address": { type: "string", multiple: true },
  program: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Options every command takes. */
const GLOBAL_OPTIONS = ["help", "format", "cache", "registry", "jsr-url", "npm-registry"];
/** The container options docker isolation takes. */
const DOCKER_OPTIONS: readonly (keyof typeof OPTIONS)[] = [
  "image",
  "network",
  "memory",
  "cpus",
  "pids-limit",
  "trust",
  "allow-build",
  "egress-rate",
];
/** How a server is chosen and sandboxed (deploy, serve and run add their egress rate). */
const LAUNCH = [
  "param",
  "offline",
  "isolation",
  ...DOCKER_OPTIONS.filter((flag) => flag !== "egress-rate"),
];
const SERVE = [
  "host",
  "port",
  "token-file",
  "auth",
  "public-url",
  "state-dir",
  "set-passphrase",
  "public",
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
  "warm",
];
const CLIENT = ["client", "scope", "form", "name", "file", "force", "launcher", "env-file"];
/**
 * Docker options that gVisor isolation does not take: its container has no network of its own,
 * and a build would run the package's code in the pull container, which runs under runc.
 */
const GVISOR_REFUSED = ["network", "egress-rate", "allow-build"] as const;

/** Options that only some isolations take. */
const ISOLATION_OPTIONS: Record<Isolation, readonly (keyof typeof OPTIONS)[]> = {
  deno: [],
  docker: DOCKER_OPTIONS,
  // gVisor takes docker's options but those it refuses with a reason (see gvisorRefusal).
  gvisor: DOCKER_OPTIONS.filter((flag) => !(GVISOR_REFUSED as readonly string[]).includes(flag)),
};
/** Options each command takes besides the global ones; a stray one is a usage error. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  run: [
    ...LAUNCH,
    ...GUARD_OPTIONS,
    ...AUDIT_OPTIONS,
    "request-timeout",
    "dry-run",
    "yes",
    "egress-rate",
  ],
  pull: [...LAUNCH, "yes"],
  flags: LAUNCH,
  inspect: [...LAUNCH, ...GUARD_OPTIONS, "timeout", "yes"],
  call: [...LAUNCH, ...GUARD_OPTIONS, "timeout", "yes"],
  approve: [...LAUNCH, "timeout", "diff", "yes"],
  serve: [...LAUNCH, ...SERVE, ...GUARD_OPTIONS, ...AUDIT_OPTIONS, "dry-run", "yes", "egress-rate"],
  config: [...LAUNCH, ...CLIENT, ...GUARD_OPTIONS, ...AUDIT_OPTIONS, "yes"],
  install: [...LAUNCH, ...CLIENT, ...GUARD_OPTIONS, ...AUDIT_OPTIONS, "yes"],
  uninstall: CLIENT,
  clients: ["scope"],
  // No -p: each entry's parameters come from its own arguments.
  adopt: [
    ...LAUNCH.filter((o) => o !== "param"),
    ...["client", "file", "scope", "form", "dry-run", "yes", "undo", "force"],
  ],
  check: ["isolation", "trust"],
  denials: [],
  list: [],
  search: [],
  show: [],
  diff: [],
  export: [],
  import: [],
  index: [],
  learn: ["call", "env", "write", "force", "timeout", "no-probe"],
  deploy: [
    ...["param", "host", "port", "token-file", "allowed-host", "allowed-origin", "trust-proxy"],
    ...["session-mode", "tools", "auth", "public-url", "state-dir", "public"],
    ...["target", "out", "force", "deploy-image", "egress-address", "client-address"],
    ...["program", "exclude-tools", "max-sessions", "rate-limit", "idle-timeout"],
    ...["request-timeout", "audit", "egress-rate", "memory", "cpus", "pids-limit", "isolation"],
  ],
  tokens: ["state-dir", "all"],
};

/** How the CLI calls the parser. */
type ParseConfig = {
  args: string[];
  allowPositionals: true;
  tokens: true;
  options: typeof OPTIONS;
};

/** The command line, parsed. */
export type ParsedCommandLine = ReturnType<typeof parseArgs<ParseConfig>>;

/** The options given, by name. */
export type CliValues = ParsedCommandLine["values"];

/**
 * Parses the options and positional arguments before `--`, as node:util `parseArgs` does (a
 * plain line without loading it; see {@linkcode quickParseArgs}).
 *
 * @param args The arguments before `--`.
 * @returns Values, positionals and tokens.
 * @throws {TypeError} For an unknown option or a missing value (see {@linkcode parseErrorMessage}).
 */
export async function parseCommandLine(args: string[]): Promise<ParsedCommandLine> {
  const quick = quickParseArgs(args, OPTIONS) as ParsedCommandLine | undefined;
  if (quick) return quick;
  const { parseArgs } = await import("node:util");
  return parseArgs({ args, allowPositionals: true, tokens: true, options: OPTIONS });
}

/**
 * The first option given that the command does not take, if any.
 *
 * @param command The command.
 * @param tokens The parser's tokens.
 * @returns The option as typed (`--port`), or undefined.
 */
export function strayOption(
  command: string,
  tokens: ParsedCommandLine["tokens"],
): string | undefined {
  if (!(command in COMMAND_OPTIONS)) return undefined;
  const allowed = new Set([...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[command]]);
  const stray = tokens.find((t) => t.kind === "option" && !allowed.has(t.name));
  return stray?.kind === "option" ? stray.rawName : undefined;
}

/** Options for {@linkcode readContext}. */
export interface ReadContextOptions {
  /** The command (config and install take every isolation's options). */
  command: string;
  /** The CLI's environment. */
  env: Record<string, string>;
  /** The user's defaults (isolation, image). */
  defaults: UserConfig;
  /** Prints data (stdout). */
  print: (text: string) => void;
  /** Prints messages (stderr). */
  printError: (text: string) => void;
  /** The command line's launch hint, when the program entry read one. */
  launchHint?: LaunchHint;
}

/**
 * Reads the common options into the context every command receives: isolation and its sandbox,
 * docker limits, registries, the cache root, `-p` parameters.
 *
 * @param values The options given.
 * @param options The command, environment, defaults and output sinks.
 * @returns The context.
 * @throws {UsageError} For a bad value, in the words the command's usage follows.
 */
export async function readContext(
  values: CliValues,
  options: ReadContextOptions,
): Promise<CliContext> {
  const { env, printError } = options;
  const isolation = readIsolation(values, options);
  const limits = readDocker(values, options.defaults);
  const registries: Record<string, string> = {};
  if (values["jsr-url"]) registries.JSR_URL = values["jsr-url"];
  if (values["npm-registry"]) registries.NPM_CONFIG_REGISTRY = values["npm-registry"];
  for (const source of values.registry ?? []) {
    await checkRegistrySource(source).catch((error) => {
      throw new UsageError(`--registry: ${(error as Error).message}`, { cause: error });
    });
  }
  const root = readCacheRoot(values.cache, env);
  const params = readParams(values.param ?? []);
  const sources = values.registry
    ? [...values.registry, new URL("../../manifests/", import.meta.url)]
    : undefined;
  const docker: CliContext["docker"] = { cacheRoot: root, ...limits, source: env, registries };
  const sandboxFor = (choice: Isolation): Promise<Sandbox> =>
    createSandbox(choice, {
      ...docker,
      progress: printError,
      autoPull: !values.offline,
      approve: values.yes ?? false,
      sealCheck: options.launchHint?.sealCheck,
    });
  return {
    registrySources: values.registry ?? [],
    target: {
      sources,
      params,
      home: env.HOME,
      cacheRoot: root,
      npmRegistry: registries.NPM_CONFIG_REGISTRY,
      isolation,
      isolationGiven: values.isolation !== undefined,
      // deploy's --egress-rate is the deployment's (a pod annotation), not a container's.
      dockerOption: options.command === "deploy" ? undefined : dockerOptionGiven(values),
      imageGiven: values.image,
      trust: values.trust ?? false,
    },
    env,
    registries,
    print: options.print,
    printError,
    json: values.format === "json",
    docker,
    sandbox: await sandboxFor(isolation),
    sandboxFor,
    launchHint: options.launchHint,
    userScan: options.defaults.scan,
  };
}

/** `--isolation` (or the user's default), and no option of another isolation. */
function readIsolation(values: CliValues, options: ReadContextOptions): Isolation {
  const choice = values.isolation ?? options.defaults.isolation ?? "deno";
  if (!Object.hasOwn(ISOLATION_OPTIONS, choice)) {
    throw new UsageError(`--isolation must be deno, docker or gvisor, got "${choice}"`);
  }
  // config and install take every isolation's options, for the entry forms. Without an explicit
  // --isolation, docker's options are checked once the server is known: a package that runs
  // only in a container takes them (see resolveFor).
  // deploy's limits and egress rate are the deployment's own, whatever runs the servers.
  if (choice === "gvisor" && options.command !== "deploy") {
    const given = GVISOR_REFUSED.find((flag) => values[flag] !== undefined);
    if (given) {
      throw new UsageError(gvisorRefusal(given, {
        command: options.command,
        given: values.isolation !== undefined,
      }));
    }
  }
  if (
    !["config", "install", "adopt", "deploy"].includes(options.command) &&
    (values.isolation !== undefined || choice !== "deno")
  ) {
    const own: readonly string[] = ISOLATION_OPTIONS[choice as Isolation];
    for (const [other, flags] of Object.entries(ISOLATION_OPTIONS)) {
      if (other === choice) continue;
      const given = flags.find((flag) => !own.includes(flag) && values[flag] !== undefined);
      if (given) throw new UsageError(`--${given} needs ${containerIsolations(`--${given}`)}`);
    }
  }
  return choice as Isolation;
}

/**
 * Why a docker option is refused under gVisor, and what to do; `given` tells whether gVisor was
 * asked for on the command line or is the config file's default.
 */
function gvisorRefusal(
  flag: typeof GVISOR_REFUSED[number],
  { command, given }: { command: string; given: boolean },
): string {
  const under = given ? "--isolation gvisor" : "gvisor isolation (mcp-run's config file default)";
  if (flag === "allow-build") {
    return `--allow-build needs --isolation docker: building a source distribution runs the ` +
      "package's own code in the pull container, which runs under the host's kernel (runc), " +
      `not gVisor. Use a version with wheels under ${under}, or build it with ` +
      "--isolation docker";
  }
  if (command === "pull" && flag === "network") {
    return `--network needs --isolation docker: under ${under} no network is chosen, for ` +
      "the pull either (it gets docker's default, or for pypi: packages only mcp-run's egress " +
      "proxy). A pull with --isolation docker --network NAME fills the same cache, and gVisor " +
      "launches use it";
  }
  return `--${flag} needs --isolation docker: under ${under} the server's container ` +
    "has no network of its own (--network none); granted hosts are reached only through " +
    `mcp-run's egress proxy, so there is no ${
      flag === "network" ? "network to choose" : "interface to cap"
    }`;
}

/**
 * The isolations that take a container option, as a usage message names them.
 *
 * @param flag The option as typed (`--image`).
 * @returns `--isolation docker or gvisor`, or `--isolation docker` for a docker-only one.
 */
export function containerIsolations(flag: string): string {
  return (ISOLATION_OPTIONS.gvisor as readonly string[]).includes(flag.replace(/^--/, ""))
    ? "--isolation docker or gvisor"
    : "--isolation docker";
}

/** The first docker-only option given, if any (checked against the server's isolation). */
function dockerOptionGiven(values: CliValues): string | undefined {
  const given = ISOLATION_OPTIONS.docker.find((flag) => values[flag] !== undefined);
  return given === undefined ? undefined : `--${given}`;
}

/** The docker image, network and limits, checked (the cache and environment come later). */
function readDocker(
  values: CliValues,
  defaults: UserConfig,
): Omit<CliContext["docker"], "cacheRoot"> {
  const text = values["pids-limit"];
  const pidsLimit = text === undefined ? undefined : Number(text);
  if (pidsLimit !== undefined && !(Number.isSafeInteger(pidsLimit) && pidsLimit > 0)) {
    throw new UsageError(`--pids-limit must be a positive whole number, got "${text}"`);
  }
  let egressRate: number | undefined;
  try {
    if (values["egress-rate"] !== undefined) egressRate = parseRate(values["egress-rate"]);
    checkDockerLimits({ memory: values.memory, cpus: values.cpus });
    if (values.image !== undefined) checkImageReference(values.image);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  // --image names the image of the server's package kind; the user config one per kind.
  return {
    image: values.image ?? defaults.images?.deno ?? defaults.image,
    pythonImage: values.image ?? defaults.images?.python,
    // The egress sidecar runs Deno whatever --image names for the server.
    egressImage: defaults.images?.deno ?? defaults.image ?? DENO_IMAGE,
    allowBuild: values["allow-build"],
    network: values.network,
    memory: values.memory,
    cpus: values.cpus,
    pidsLimit,
    limits: defaults.limits,
    ...(defaults.gvisorRuntime !== undefined ? { gvisorRuntime: defaults.gvisorRuntime } : {}),
    ...(egressRate !== undefined ? { egressRate } : {}),
  };
}

/** `--cache` as an absolute folder (default: the user's cache), not a file. */
function readCacheRoot(cache: string | undefined, env: Record<string, string>): string {
  if (cache !== undefined && cache.trim() === "") {
    throw new UsageError(`--cache must name a folder, got "${cache}"`);
  }
  const root = cacheRoot({ env, given: cache });
  let file = false;
  try {
    file = !Deno.statSync(root).isDirectory;
  } catch { /* created on first use */ }
  if (file) throw new UsageError(`--cache must name a folder, but "${root}" is a file`);
  return root;
}

/** `-p NAME=VALUE` options, several values per name kept in order. */
function readParams(entries: string[]): Record<string, string[]> {
  const params: Record<string, string[]> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new UsageError(`-p takes NAME=VALUE, got "${entry}"`);
    (params[entry.slice(0, eq)] ??= []).push(entry.slice(eq + 1));
  }
  return params;
}

/**
 * The parser's message for a bad option, in the CLI's own words.
 *
 * @param error What `parseArgs` threw.
 * @returns The message.
 */
export function parseErrorMessage(error: Error): string {
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
