/**
 * `learnServer`: run a server once in a throwaway sandbox, record every permission check it
 * makes while it starts (and while the tools asked for are called), and draft its manifest.
 *
 * The learn run touches nothing real: a fresh cache root (or one the caller keeps for learning
 * only), a scratch HOME and working folder, scratch stand-ins for every path argument, and
 * placeholder values for every environment name. The permission broker refuses every read
 * outside the server's code and its scratch folders, every write outside its scratch folders,
 * all network, programs and native libraries, and records each check.
 *
 * Environment names: a name is *used* (and drafted) when the caller named it, or when the server
 * failed to initialize without it and initialized once given a placeholder (a second run). Names
 * a server only probes are left out.
 *
 * @module
 */
import { join } from "../_path.ts";
import type { Manifest } from "../policy/manifest.ts";
import { npmPackageDir } from "../policy/package_dir.ts";
import { MANIFEST_PATTERNS } from "../policy/manifest_schema.ts";
import { permissionLabel } from "../policy/permission_label.ts";
import { isReservedEnvName } from "../policy/env_policy.ts";
import { type ResolvedServer, resolveServer } from "../policy/resolve.ts";
import { serverDirs } from "../sandbox/cache_dirs.ts";
import { connectServer } from "../sandbox/connect.ts";
import { DenoSandbox } from "../sandbox/deno_sandbox.ts";
import { MAX_RECORDED_CHECKS, type RecordedCheck, startBroker } from "./broker.ts";
import {
  draftManifest,
  type GrantEvidence,
  type LearnFinding,
  type LearnParameter,
} from "./draft_manifest.ts";
import {
  callTool,
  type Connected,
  type LearnCall,
  type LearnCallResult,
  type LearnOffering,
  listOffering,
} from "./_learn_client.ts";

export type { LearnCall, LearnCallResult, LearnOffering };
import { probeArguments } from "./_probe_arguments.ts";
import {
  type LearnTarget,
  resolveLearnTarget,
  scratchArgs,
  standInArguments,
} from "./_learn_target.ts";

/** Options for {@linkcode learnServer}. */
export interface LearnServerOptions {
  /**
   * A cache root kept for learning only (shared by several learn runs, never the one servers
   * run from). Default: a fresh temporary one, removed afterwards.
   */
  cacheRoot?: string;
  /** Registry overrides (`NPM_CONFIG_REGISTRY`, `JSR_URL`). */
  registries?: Record<string, string>;
  /** The server's arguments (paths in them are replaced by scratch stand-ins). */
  args?: string[];
  /** Environment names the server needs: each gets a placeholder value, never the user's. */
  env?: string[];
  /** Tools to call after listing, in order. */
  calls?: LearnCall[];
  /**
   * Then call every other tool once (at most {@linkcode MAX_PROBES}) with sample arguments made
   * from its input schema, so the hosts, files and programs its work needs are seen too. The
   * run is throwaway: a call acts on scratch folders and reaches no network. Default false.
   */
  probe?: boolean;
  /** How long to wait for each answer, in milliseconds (default 60000). */
  timeoutMs?: number;
  /** `deno` only for now. */
  isolation?: "deno";
  /** The Deno binary (default: the running one). */
  deno?: string;
  /** The launcher's environment: TLS and proxy settings for the pull (default: this process's). */
  source?: Record<string, string>;
  /** The user's home folder, never granted (default `$HOME`). */
  home?: string;
  /** Where relative path arguments are resolved (default `Deno.cwd()`). */
  cwd?: string;
  /** Fetches the npm registry's package document (default `fetch`). */
  fetch?: typeof fetch;
  /** Progress lines (default: none). */
  progress?: (line: string) => void;
  /** The draft's registry name (default: from the package name). */
  name?: string;
}

/** What {@linkcode learnServer} learned. */
export interface LearnedServer {
  /** The draft manifest (exact version, parameters, grants the server asked for). */
  manifest: Manifest;
  /** The draft as JSONC text with short comments. */
  text: string;
  /** The draft's plain-language permission label. */
  label: string[];
  /** What the server offers. */
  offering: LearnOffering;
  /** The tool calls made, and how each went. */
  calls: LearnCallResult[];
  /** What was refused or left out of the draft, and why. */
  findings: LearnFinding[];
  /** For every drafted permission entry, the check that asked for it. */
  evidence: GrantEvidence[];
  /** Every distinct check the server made (the final run's, and the first run's refusals). */
  checks: RecordedCheck[];
  /** Whether the server answered `initialize`; when not, {@linkcode LearnedServer.failure}. */
  initialized: boolean;
  /** Why the server did not start. */
  failure?: string;
}

/** Most tools called by a probe, in the order the server lists them. */
export const MAX_PROBES = 32;
/** How long one probe call may take, in milliseconds. */
const PROBE_TIMEOUT_MS = 10_000;

/** The value every environment name gets during learn. */
export const LEARN_PLACEHOLDER = "mcp-run-learn-placeholder";

/** Names nearly every npm server probes, which never make a server work by themselves. */
const COMMON_PROBES = new Set([
  "CI",
  "COLORTERM",
  "DEBUG",
  "FORCE_COLOR",
  "HOME",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "NO_COLOR",
  "NODE_DEBUG",
  "NODE_ENV",
  "PATH",
  "PWD",
  "SHELL",
  "TEMP",
  "TERM",
  "TERM_PROGRAM",
  "TMP",
  "TMPDIR",
  "TZ",
  "USER",
  "USERNAME",
  "USERPROFILE",
  "LOGNAME",
  "EDITOR",
  "VISUAL",
]);

/**
 * Runs a server in a throwaway sandbox, records every permission check it makes, lists what it
 * offers, calls the tools asked for, and drafts its manifest.
 *
 * Requires `--allow-run` (Deno), `--allow-net` (the npm registry, for a bare name or a tag), and
 * read/write access to the temporary folder.
 *
 * @param target `npm:name@1.2.3`, `npm:name` or `name@latest` (resolved to the exact version),
 *   `jsr:@scope/name@1.2.3`, or a manifest file path.
 * @param options Arguments, environment names, tool calls, cache and bounds.
 * @returns The draft, its label, the offering and the findings.
 * @throws {Deno.errors.NotFound} When the package or version does not exist.
 * @throws {TypeError} When the target is not a package or manifest, or the name is not valid.
 * @throws {CacheError} When the package cannot be fetched.
 *
 * @example
 * ```ts ignore
 * import { learnServer } from "./learn_server.ts";
 * const learned = await learnServer("npm:@modelcontextprotocol/server-sequential-thinking");
 * console.log(learned.label.join("\n"));
 * console.log(learned.text);
 * ```
 */
export async function learnServer(
  target: string,
  options: LearnServerOptions = {},
): Promise<LearnedServer> {
  const source = options.source ?? Deno.env.toObject();
  const registry = options.registries?.NPM_CONFIG_REGISTRY ?? source.NPM_CONFIG_REGISTRY;
  const found = await resolveLearnTarget(target, registry, options.fetch ?? fetch);
  if (options.name !== undefined && !new RegExp(MANIFEST_PATTERNS.name).test(options.name)) {
    throw new TypeError(
      `Cannot learn as "${options.name}": a name uses lowercase letters, digits and dashes`,
    );
  }
  const resolved = options.name ? { ...found, name: options.name } : found;
  const scratch = await Deno.realPath(await Deno.makeTempDir({ prefix: "mcp-run-learn-" }));
  const cacheRoot = options.cacheRoot ?? join(scratch, "cache");
  try {
    const setup = await prepareLearn(resolved, scratch, cacheRoot, options);
    const given = [...new Set(options.env ?? [])];
    const first = await learnRun(setup, given, options);
    const { final, envUsed } = first.initialized
      ? { final: first, envUsed: given }
      : await retryWithPlaceholders(setup, given, first, options);
    const checks = mergeChecks(first.checks, final.checks);
    const draft = draftManifest(checks, {
      ...setup.context,
      envUsed,
    });
    if (final.dropped > 0) {
      draft.findings.push({
        permission: "all",
        value: null,
        refused: false,
        reason: `${final.dropped} more distinct checks were answered but not recorded: the ` +
          `server made more than ${MAX_RECORDED_CHECKS}; the draft may be incomplete`,
      });
    }
    return {
      manifest: draft.manifest,
      text: draft.text,
      label: permissionLabel(draft.manifest),
      offering: final.offering,
      calls: final.calls,
      findings: draft.findings,
      evidence: draft.evidence,
      checks,
      initialized: final.initialized,
      ...(final.failure ? { failure: final.failure } : {}),
    };
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** Everything the learn runs of one target share. */
interface LearnSetup {
  server: ResolvedServer;
  cacheRoot: string;
  home: string;
  cwd: string;
  tmp: string;
  standIns: [string, string][];
  imports: string[];
  readRoots: string[];
  writeRoots: string[];
  context: Omit<Parameters<typeof draftManifest>[1], "envUsed">;
}

async function prepareLearn(
  target: LearnTarget,
  scratch: string,
  cacheRoot: string,
  options: LearnServerOptions,
): Promise<LearnSetup> {
  const home = join(scratch, "home");
  const cwd = join(scratch, "cwd");
  const tmp = join(scratch, "tmp");
  for (const dir of [home, cwd, tmp, cacheRoot]) await Deno.mkdir(dir, { recursive: true });
  const userArgs = await scratchArgs(options.args ?? [], scratch, options.cwd ?? Deno.cwd());
  const parameters: Record<string, LearnParameter> = { ...userArgs.parameters };
  const values: Record<string, string[]> = { ...userArgs.values };
  for (const [name, type] of Object.entries(target.pathParams)) {
    const folder = join(scratch, "params", `manifest_${name}`);
    await Deno.mkdir(folder, { recursive: true });
    parameters[name] = { type, scratch: [folder], description: "A path the server works on" };
    values[name] = [folder];
  }
  const manifest: Manifest = {
    name: target.name,
    description: target.description,
    package: target.package,
    args: [...target.args, ...userArgs.args],
    parameters: Object.fromEntries(
      Object.entries(parameters).map((
        [n, p],
      ) => [n, { type: p.type, description: p.description, required: true }]),
    ),
    permissions: { read: [], write: [], net: [], env: [], sys: [], run: [], ffi: [] },
    env: {},
    secrets: {},
  };
  const server = resolveServer(manifest, {
    params: values,
    cacheRoot,
    home: options.home,
    manifestDir: target.manifestDir,
    npmRegistry: options.registries?.NPM_CONFIG_REGISTRY,
  });
  const denoDir = serverDirs(server.name, server.specifier, cacheRoot).denoDir;
  const packageDir = server.specifier.startsWith("npm:")
    ? npmPackageDir(server.specifier, denoDir, options.registries?.NPM_CONFIG_REGISTRY)
    : undefined;
  const paramRoots = Object.values(parameters).flatMap((p) => p.scratch);
  const scratchRoots = [
    { path: home, what: "the HOME", label: "<learn-home>" },
    { path: cwd, what: "the working folder", label: "<learn-cwd>" },
    { path: tmp, what: "the temporary folder (TMPDIR)", label: "<learn-tmp>" },
    { path: denoDir, what: "the code cache", label: "<code-cache>" },
    ...(server.localDir
      ? [{ path: server.localDir, what: "the local server's folder", label: "<server-folder>" }]
      : []),
  ];
  return {
    server,
    cacheRoot,
    home,
    cwd,
    readRoots: [...paramRoots, ...scratchRoots.map((r) => r.path)],
    // TMPDIR is writable so a server that stages files there gets on to what it does next.
    writeRoots: [...paramRoots, tmp],
    tmp,
    standIns: userArgs.standIns,
    imports: server.specifier.startsWith("jsr:")
      ? jsrHosts(options.registries?.JSR_URL ?? options.source?.JSR_URL)
      : [],
    context: {
      name: manifest.name,
      description: manifest.description,
      package: manifest.package,
      args: manifest.args,
      parameters,
      packageDir,
      scratchRoots,
      homepage: target.homepage,
    },
  };
}

/** The JSR registry's host as Deno's import checks name it: with and without the port. */
function jsrHosts(jsrUrl: string | undefined): string[] {
  const url = new URL(jsrUrl ?? "https://jsr.io/");
  const port = url.port || (url.protocol === "http:" ? "80" : "443");
  return [url.hostname.toLowerCase(), `${url.hostname.toLowerCase()}:${port}`];
}

/** What one run of the server showed. */
interface RunResult {
  checks: RecordedCheck[];
  /** Distinct checks answered but not recorded (over the broker's bound). */
  dropped: number;
  initialized: boolean;
  failure?: string;
  offering: LearnOffering;
  calls: LearnCallResult[];
}

/** Starts the server once under the broker, with placeholders for `envNames`. */
async function learnRun(
  setup: LearnSetup,
  envNames: string[],
  options: LearnServerOptions,
): Promise<RunResult> {
  const broker = await startBroker({
    policy: { read: setup.readRoots, write: setup.writeRoots, imports: setup.imports },
  });
  const sandbox = new DenoSandbox({
    cacheRoot: setup.cacheRoot,
    deno: options.deno,
    source: options.source ?? Deno.env.toObject(),
    registries: options.registries,
    approve: true,
    progress: options.progress ?? (() => {}),
  });
  const base = sandbox.plan(setup.server);
  const placeholders = Object.fromEntries(
    envNames.filter((n) => !isReservedEnvName(n)).map((n) => [n, LEARN_PLACEHOLDER]),
  );
  const plan = {
    ...base,
    env: {
      ...base.env,
      ...placeholders,
      HOME: setup.home,
      TMPDIR: setup.tmp,
      DENO_PERMISSION_BROKER_PATH: broker.socketPath,
    },
    cwd: setup.cwd,
  };
  const result: RunResult = {
    checks: [],
    dropped: 0,
    initialized: false,
    offering: { tools: [], prompts: [], resources: [] },
    calls: [],
  };
  try {
    const connected = await connectServer(setup.server, {
      cacheRoot: setup.cacheRoot,
      sandbox,
      plan,
      timeoutMs: options.timeoutMs,
      clientName: "mcp-run-learn",
      onStderr: () => {},
    });
    try {
      result.initialized = true;
      const { schemas, ...offering } = await listOffering(connected);
      result.offering = offering;
      for (const call of options.calls ?? []) {
        const args = standInArguments(call.arguments ?? {}, setup.standIns);
        result.calls.push(
          await callTool(connected, { ...call, arguments: args as LearnCall["arguments"] }),
        );
      }
      if (options.probe) result.calls.push(...await probeTools(connected, setup, schemas, options));
    } finally {
      await connected.close();
    }
  } catch (error) {
    if (error instanceof Error && error.name === "CacheError") throw error;
    result.failure = error instanceof Error ? error.message : String(error);
  } finally {
    result.checks = broker.checks();
    result.dropped = broker.dropped();
    await broker.close();
  }
  return result;
}

/**
 * Calls each tool not called by the user once, with arguments from its input schema; a path
 * argument names the first scratch folder (a parameter's stand-in, else the working folder).
 */
async function probeTools(
  connected: Connected,
  setup: LearnSetup,
  schemas: Record<string, unknown>,
  options: LearnServerOptions,
): Promise<LearnCallResult[]> {
  const called = new Set((options.calls ?? []).map((c) => c.tool));
  const path = setup.standIns[0]?.[1] ?? setup.cwd;
  const results: LearnCallResult[] = [];
  for (const tool of Object.keys(schemas).filter((t) => !called.has(t)).slice(0, MAX_PROBES)) {
    const call = { tool, arguments: probeArguments(schemas[tool], { path }) };
    const timeoutMs = Math.min(options.timeoutMs ?? PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS);
    results.push({ ...await callTool(connected, call, timeoutMs), probe: true });
  }
  return results;
}

/** Most candidate names tried one by one to find which ones a server needs. */
const MAX_NARROWED = 12;

/**
 * The second run of the environment rule: a server that failed to start gets placeholders for
 * the names it probed. When it then starts, each name is left out once more (up to
 * {@linkcode MAX_NARROWED}): a name it starts without is only probed, and stays out.
 */
async function retryWithPlaceholders(
  setup: LearnSetup,
  given: string[],
  first: RunResult,
  options: LearnServerOptions,
): Promise<{ final: RunResult; envUsed: string[] }> {
  let candidates = envCandidates(first.checks, given);
  if (candidates.length === 0) return { final: first, envUsed: given };
  options.progress?.(`Retrying with placeholders for ${candidates.join(", ")}`);
  let final = await learnRun(setup, [...given, ...candidates], options);
  if (!final.initialized) return { final: first, envUsed: given };
  if (candidates.length > 1 && candidates.length <= MAX_NARROWED) {
    for (const name of [...candidates]) {
      const without = candidates.filter((n) => n !== name);
      const run = await learnRun(setup, [...given, ...without], options);
      if (run.initialized) {
        candidates = without;
        final = run;
      }
    }
  }
  return { final, envUsed: [...given, ...candidates] };
}

/** The names a server that failed to start probed, worth a second run with placeholders. */
function envCandidates(checks: readonly RecordedCheck[], given: readonly string[]): string[] {
  return [
    ...new Set(
      checks.filter((c) => c.permission === "env" && c.value !== null).map((c) => c.value!),
    ),
  ].filter((name) =>
    !given.includes(name) && !COMMON_PROBES.has(name.toUpperCase()) && !isReservedEnvName(name) &&
    !/^(npm_|NODE_|DENO_|JEST_|VITEST|ELECTRON_|VSCODE_|GITHUB_ACTIONS|RUNNER_)/i.test(name)
  ).sort();
}

/** The final run's checks, plus the first run's refusals (a server may stop earlier there). */
function mergeChecks(first: RecordedCheck[], final: RecordedCheck[]): RecordedCheck[] {
  if (first === final) return final;
  const key = (c: RecordedCheck) => `${c.permission}\0${c.value ?? ""}`;
  const seen = new Set(final.map(key));
  return [...final, ...first.filter((c) => !c.allowed && !seen.has(key(c)))];
}
