/**
 * The runs of one learn: the server started under the recording broker, its offering listed,
 * the tools asked for called and (once) every other tool probed; and the environment rule's
 * extra runs, which find the names a server cannot start without.
 *
 * @module
 */
import { isReservedEnvName } from "../policy/env_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { connectServer } from "../sandbox/connect.ts";
import { DenoSandbox } from "../sandbox/deno_sandbox.ts";
import { type RecordedCheck, startBroker } from "./broker.ts";
import { type DraftContext, LEARN_PLACEHOLDER } from "./draft_manifest.ts";
import {
  callTool,
  type Connected,
  type LearnCall,
  type LearnCallResult,
  type LearnOffering,
  listOffering,
} from "./_learn_client.ts";
import { probeArguments } from "./_probe_arguments.ts";
import { standInArguments } from "./_learn_target.ts";

/** Everything the learn runs of one target share. */
export interface LearnSetup {
  server: ResolvedServer;
  cacheRoot: string;
  home: string;
  cwd: string;
  tmp: string;
  standIns: [string, string][];
  imports: string[];
  readRoots: string[];
  writeRoots: string[];
  context: Omit<DraftContext, "envUsed">;
}

/** What every run of one learn is given (a subset of the public learn options). */
export interface RunOptions {
  calls?: LearnCall[];
  probe?: boolean;
  timeoutMs?: number;
  deno?: string;
  source?: Record<string, string>;
  registries?: Record<string, string>;
  progress?: (line: string) => void;
  onStderr?: (line: string) => void;
}

/** What one run of the server showed. */
export interface RunResult {
  checks: RecordedCheck[];
  /** Distinct checks answered but not recorded (over the broker's bound). */
  dropped: number;
  initialized: boolean;
  failure?: string;
  offering: LearnOffering;
  calls: LearnCallResult[];
  /** Whether learn called tools with its own sample arguments. */
  probed: boolean;
}

/** Most tools called by a probe, in the order the server lists them. */
export const MAX_PROBES = 32;
/** How long one probe call may take, in milliseconds. */
const PROBE_TIMEOUT_MS = 10_000;
/**
 * The learn run's program search path: a server that starts a program finds it, so Deno checks
 * `run` (and the broker records and refuses it) instead of the lookup failing first.
 */
const SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin";

/** Names nearly every npm server probes, which never make a server work by themselves. */
const COMMON_PROBES = new Set(
  ("CI COLORTERM DEBUG FORCE_COLOR HOME LANG LANGUAGE LC_ALL LC_CTYPE NO_COLOR NODE_DEBUG " +
    "NODE_ENV PATH PWD SHELL TEMP TERM TERM_PROGRAM TMP TMPDIR TZ USER USERNAME USERPROFILE " +
    "LOGNAME EDITOR VISUAL").split(" "),
);

/**
 * The run environment for `names`: each its given value, else the placeholder.
 *
 * @param names The names the run sets (reserved ones are skipped).
 * @param values Real, non-secret values the user gave, by name.
 * @returns The variables to set.
 */
export function runEnv(
  names: readonly string[],
  values: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    names.filter((n) => !isReservedEnvName(n)).map((n) => [n, values[n] ?? LEARN_PLACEHOLDER]),
  );
}

/**
 * Starts the server once under the broker with `env`; with `work`, calls the tools asked for and
 * (when asked) probes the others.
 *
 * @param setup The server and its scratch folders.
 * @param env The variables the server gets (placeholders and given settings).
 * @param options Calls, probe, bounds and the launcher's environment.
 * @param work Whether to call and probe tools in this run.
 * @returns What the run showed; a server that did not start is a result with `failure`.
 * @throws {CacheError} When the package cannot be fetched.
 */
export async function learnRun(
  setup: LearnSetup,
  env: Record<string, string>,
  options: RunOptions,
  work: boolean,
): Promise<RunResult> {
  const broker = await startBroker({
    policy: {
      read: setup.readRoots,
      write: setup.writeRoots,
      imports: setup.imports,
      cwd: setup.cwd,
    },
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
  const plan = {
    ...base,
    env: {
      ...base.env,
      ...env,
      PATH: SYSTEM_PATH,
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
    probed: false,
  };
  try {
    const connected = await connectServer(setup.server, {
      cacheRoot: setup.cacheRoot,
      sandbox,
      plan,
      timeoutMs: options.timeoutMs,
      clientName: "mcp-run-learn",
      onStderr: options.onStderr ?? (() => {}),
    });
    try {
      result.initialized = true;
      const { schemas, ...offering } = await listOffering(connected);
      result.offering = offering;
      if (work) await callTools(connected, setup, schemas, options, result);
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

/** The calls asked for, then (when asked) one probe of every other tool. */
async function callTools(
  connected: Connected,
  setup: LearnSetup,
  schemas: Record<string, unknown>,
  options: RunOptions,
  result: RunResult,
): Promise<void> {
  for (const call of options.calls ?? []) {
    const args = standInArguments(call.arguments ?? {}, setup.standIns);
    result.calls.push(
      await callTool(connected, { ...call, arguments: args as LearnCall["arguments"] }),
    );
  }
  if (!options.probe) return;
  const probes = await probeTools(connected, setup, schemas, options);
  result.calls.push(...probes);
  result.probed = probes.length > 0;
}

/**
 * Calls each tool not called by the user once, with arguments from its input schema; a path
 * argument names the first scratch folder (a parameter's stand-in, else the working folder).
 * A schema that cannot be sampled is one failed probe: the others still run.
 */
async function probeTools(
  connected: Connected,
  setup: LearnSetup,
  schemas: Record<string, unknown>,
  options: RunOptions,
): Promise<LearnCallResult[]> {
  const called = new Set((options.calls ?? []).map((c) => c.tool));
  const path = setup.standIns[0]?.[1] ?? setup.cwd;
  const results: LearnCallResult[] = [];
  const timeoutMs = Math.min(options.timeoutMs ?? PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS);
  for (const tool of Object.keys(schemas).filter((t) => !called.has(t)).slice(0, MAX_PROBES)) {
    let args: Record<string, unknown>;
    try {
      args = probeArguments(schemas[tool], { path });
    } catch (error) {
      const text = `no sample arguments: ${error instanceof Error ? error.message : error}`;
      results.push({ tool, ok: false, probe: true, text });
      continue;
    }
    results.push({
      ...await callTool(connected, { tool, arguments: args }, timeoutMs),
      probe: true,
    });
  }
  return results;
}

/** Most candidate names tried one by one to find which ones a server needs. */
const MAX_NARROWED = 12;

/**
 * The extra runs of the environment rule, which call no tools: a server that failed to start
 * gets placeholders for the names it probed. When it then starts, each name is left out once
 * more (up to {@linkcode MAX_NARROWED}): a name it starts without is only probed, and stays out.
 *
 * @param setup The server and its scratch folders.
 * @param given The names the user gave.
 * @param values Real, non-secret values the user gave, by name.
 * @param first The first run, which did not start.
 * @param options Bounds and the launcher's environment (calls and probes are not made).
 * @returns The names used and the last run that started, or undefined when it never started.
 */
export async function narrowEnv(
  setup: LearnSetup,
  given: string[],
  values: Record<string, string>,
  first: RunResult,
  options: RunOptions,
): Promise<{ run: RunResult; envUsed: string[] } | undefined> {
  let candidates = envCandidates(first.checks, given);
  if (candidates.length === 0) return undefined;
  options.progress?.(`Retrying with placeholders for ${candidates.join(", ")}`);
  let run = await learnRun(setup, runEnv([...given, ...candidates], values), options, false);
  if (!run.initialized) return undefined;
  if (candidates.length > 1 && candidates.length <= MAX_NARROWED) {
    for (const name of [...candidates]) {
      const without = candidates.filter((n) => n !== name);
      const tried = await learnRun(setup, runEnv([...given, ...without], values), options, false);
      if (tried.initialized) {
        candidates = without;
        run = tried;
      }
    }
  }
  return { run, envUsed: [...given, ...candidates] };
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

/**
 * The final run's checks, plus the first run's refusals (a server may stop earlier there).
 *
 * @param first The first run's checks.
 * @param final The final run's checks (the same array when the first run was the final one).
 * @returns The merged checks, the final run's first.
 */
export function mergeChecks(first: RecordedCheck[], final: RecordedCheck[]): RecordedCheck[] {
  if (first === final) return final;
  const key = (c: RecordedCheck) => `${c.permission}\0${c.value ?? ""}`;
  const seen = new Set(final.map(key));
  return [...final, ...first.filter((c) => !c.allowed && !seen.has(key(c)))];
}
