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
import { resolveServer } from "../policy/resolve.ts";
import { serverDirs } from "../sandbox/cache_dirs.ts";
import { MAX_RECORDED_CHECKS, type RecordedCheck } from "./broker.ts";
import {
  draftManifest,
  type GrantEvidence,
  LEARN_PLACEHOLDER,
  type LearnFinding,
  type LearnParameter,
  looksLikeCredential,
} from "./draft_manifest.ts";
import type { LearnCall, LearnCallResult, LearnOffering } from "./_learn_client.ts";
import { type LearnTarget, resolveLearnTarget, scratchArgs } from "./_learn_target.ts";
import {
  learnRun,
  type LearnSetup,
  MAX_PROBES,
  mergeChecks,
  narrowEnv,
  runEnv,
  type RunResult,
} from "./_learn_runs.ts";
import { SAMPLE_HOSTS } from "./_probe_arguments.ts";

export type { LearnCall, LearnCallResult, LearnOffering };
export { LEARN_PLACEHOLDER, MAX_PROBES };

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
  /**
   * Environment names the server needs: `NAME` gets a placeholder value, never the user's;
   * `NAME=VALUE` gives a real, non-secret setting (`AWS_REGION=us-east-1`) used as is for the
   * run. A credential-looking name takes no value.
   */
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
  /** Each line the server writes on stderr during the runs (default: ignored). */
  onStderr?: (line: string) => void;
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
 * @throws {TypeError} When the target is not a package or manifest, the name is not valid, or
 *   an `env` entry is not a name (or gives a credential a value).
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
  const { names: given, values } = readLearnEnv(options.env ?? []);
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
    const { first, final, envUsed } = await learnRuns(setup, given, values, options);
    const checks = mergeChecks(first.checks, final.checks);
    const draft = draftManifest(checks, {
      ...setup.context,
      envUsed,
      envValues: values,
      sampleHosts: final.probed ? [...SAMPLE_HOSTS] : [],
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

/**
 * The runs: the first, with the calls and probes when it starts; else the environment rule's
 * runs, then (when there are calls or probes) one final run with the names they found, so the
 * tools are called once, not in every run.
 */
async function learnRuns(
  setup: LearnSetup,
  given: string[],
  values: Record<string, string>,
  options: LearnServerOptions,
): Promise<{ first: RunResult; final: RunResult; envUsed: string[] }> {
  const first = await learnRun(setup, runEnv(given, values), options, true);
  if (first.initialized) return { first, final: first, envUsed: given };
  const narrowed = await narrowEnv(setup, given, values, first, options);
  if (!narrowed) return { first, final: first, envUsed: given };
  const work = (options.calls?.length ?? 0) > 0 || options.probe === true;
  const final = work
    ? await learnRun(setup, runEnv(narrowed.envUsed, values), options, true)
    : narrowed.run;
  return { first, final, envUsed: narrowed.envUsed };
}

/** `NAME` and `NAME=VALUE` entries: the names in order, and the values given. */
function readLearnEnv(entries: readonly string[]): {
  names: string[];
  values: Record<string, string>;
} {
  const names: string[] = [];
  const values: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    const name = eq < 0 ? entry : entry.slice(0, eq);
    if (name.length === 0 || name.includes("\0")) {
      throw new TypeError(
        `Cannot learn with env "${entry}": give a variable name, or NAME=VALUE for a setting`,
      );
    }
    if (eq >= 0) {
      if (looksLikeCredential(name)) {
        throw new TypeError(
          `Cannot learn with a value for ${name}: it looks like a credential, and learn never ` +
            `takes one; pass only the name (--env ${name}) and learn gives it a placeholder`,
        );
      }
      values[name] = entry.slice(eq + 1);
    }
    if (!names.includes(name)) names.push(name);
  }
  return { names, values };
}

/** The server, its scratch folders and what the draft needs, shared by every run. */
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
