/**
 * The launch commands of the CLI: `run`, `pull`, `flags`, `inspect` and `call`. Each resolves its
 * target and talks only to the sandbox it is given.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { LaunchPlan } from "../sandbox/launch_plan.ts";
import type { PlannedEgress } from "../sandbox/container_launch.ts";
import { egressSummary } from "../sandbox/egress_summary.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { startGuard } from "../sandbox/child_guard.ts";
import type { ServerProcess } from "../sandbox/server_process.ts";
import { shellQuote } from "../sandbox/shell_quote.ts";
import { relayStdio } from "../sandbox/stdio_relay.ts";
import type { GuardFlags } from "./guard_flags.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { resolveTarget } from "../registry/resolve_target.ts";
import { rememberLaunch } from "./_launch_hint.ts";
import { containerIsolations } from "./options.ts";
import { AUDIT_ENV, CONTAINER_AUDIT_PATH } from "../learn/audit_channel.ts";
import { isContainerOnly } from "../policy/package_kind.ts";

/**
 * `mcp-run pull <server>`: checks the manifest against the approved one (`--yes` accepts more),
 * then fills the sandbox's cache. No server code runs.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @returns The exit code.
 * @throws {UsageError} When not given one target.
 */
export async function pullCommand(ctx: CliContext, line: CommandLine): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  await sandbox.pull(server);
  return EXIT.ok;
}

/**
 * `mcp-run flags <server>`: prints the exact command that starts the server, to copy.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @returns The exit code.
 * @throws {UsageError} When not given one target.
 */
export async function flagsCommand(ctx: CliContext, line: CommandLine): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  // A command to copy: no launcher labels, or the next launch would remove its container.
  const plan = sandbox.plan(server, { standalone: true });
  const argv = [plan.program, ...plan.args];
  ctx.print(ctx.json ? JSON.stringify(argv) : shellQuote(argv));
  return EXIT.ok;
}

/** A resolved server and the sandbox of the isolation it was resolved for. */
export interface ServerInSandbox {
  /** The server with its final grants. */
  server: ResolvedServer;
  /** `ctx.sandbox`, or docker's for a server that runs only in a container. */
  sandbox: Sandbox;
}

/**
 * Resolves a target the way every command does and picks its sandbox: the one of `--isolation`
 * (or the user's default), except that a package that runs only in a container gets docker's
 * when no isolation was given.
 *
 * @param ctx CLI context.
 * @param target A registry name or a manifest path.
 * @param extraArgs The server's arguments, after `--`.
 * @returns The server and its sandbox.
 */
export async function resolveFor(
  ctx: CliContext,
  target: string,
  extraArgs: string[],
): Promise<ServerInSandbox> {
  const { dockerOption, imageGiven: _, ...options } = ctx.target;
  const { server, isolation } = await resolveTarget(target, { ...options, extraArgs });
  if (isolation === "deno" && dockerOption !== undefined) {
    throw new UsageError(`${dockerOption} needs ${containerIsolations(dockerOption)}`);
  }
  const sandbox = isolation === ctx.target.isolation
    ? ctx.sandbox
    : await ctx.sandboxFor(isolation);
  return { server, sandbox };
}

/** Options for {@linkcode runCommand}. */
export interface RunCommandOptions {
  /** `--dry-run`: print the plan, start nothing. */
  dryRun?: boolean;
  /** The guard's options (`--request-timeout`, …). */
  guard?: GuardFlags;
}

/**
 * `mcp-run run <server>`: starts the server in the sandbox and relays stdio; exits with the
 * server's code (128 + the signal's number when stopped by one).
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @param options `--dry-run`.
 * @returns The exit code.
 * @throws {UsageError} When not given one target.
 */
export async function runCommand(
  ctx: CliContext,
  line: CommandLine,
  options: RunCommandOptions = {},
): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  // The reports' modules load while the target resolves, and the audit FIFO is made while the
  // checks run, rather than delaying the server's start.
  const reports = options.dryRun ? undefined : loadDenials();
  // So do the guard's, rather than delaying the start of every launch.
  const guarding = Promise.all([loadGuard(), loadAuditFlags()]);
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  const plan = sandbox.plan(server);
  const flags = options.guard ?? {};
  const target = line.rest[0];
  const [{ guardSetup }, { openAuditFlags }] = await guarding;
  // Read first: a bad guard option is a usage error before the audit log is made.
  let guard = guardSetup(ctx, server, flags, { target });
  // Opened before the server starts: a bad --audit path is a usage error, and nothing ran.
  const auditLog = reports ? await openAuditFlags(ctx, server, flags, "pipe") : undefined;
  if (auditLog) guard = guardSetup(ctx, server, flags, { audit: auditLog, target });
  if (!reports) {
    ctx.print(formatPlan(plan, server, ctx.json));
    return EXIT.ok;
  }
  const logging = reports.then((d) => d.launchDenialLog(ctx, server, sandbox, { live: true }));
  const opening = Promise.all([reports, logging]).then(([d, log]) => d.openAudit(ctx, log));
  const preparing = sandbox.prepare(server);
  // The supervisor starts while the checks run, rather than delaying the server's start.
  startGuard();
  let verify: () => Promise<void>;
  try {
    ({ verify } = await preparing);
  } catch (error) {
    await (await opening)?.close();
    throw error;
  }
  const audit = await opening;
  const log = await logging;
  let child: ServerProcess;
  try {
    child = sandbox.spawn(server, { plan, audit });
  } catch (error) {
    await audit?.close();
    throw error;
  }
  const gate = verify();
  // After the start: the next start of this command line checks this server's cache early.
  const remembered = rememberLaunch(ctx.launchHint, server, ctx.target.cacheRoot);
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
    const status = await relayStdio(child, { gate, ...guard });
    // Stopped by a signal: exit as a process killed by it would, whatever the server answered.
    const signal = received ?? status.signal;
    return signal ? 128 + signalNumber(signal) : status.code;
  } finally {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    await child.stop();
    await auditLog?.close();
    await (await reports).storeDenials(ctx, server, log, "run");
    await remembered;
  }
}

function signalNumber(signal: Deno.Signal): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 1;
}

/**
 * Formats a launch plan for `--dry-run`: the exact command line, the folder, and the
 * environment with secret values hidden; in text, a Deno server's audit channel (made per
 * launch, so not in the plan).
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
  const lines = [
    `cwd: ${plan.cwd}`,
    `env: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    `command: ${shellQuote([plan.program, ...plan.args])}`,
  ];
  if (!isContainerOnly(server.specifier)) {
    // Made per launch, so not in the plan itself: the one difference from what is started.
    const where = "container" in plan ? ` (mounted alone at ${CONTAINER_AUDIT_PATH})` : "";
    lines.push(
      `audit: ${AUDIT_ENV} names a FIFO made per launch in mcp-run's cache${where}; ` +
        "each refused access is reported on stderr",
    );
  }
  const egress = (plan as { egress?: PlannedEgress }).egress;
  if (egress) {
    lines.push(`egress: ${egressSummary(egress)}`);
  }
  return lines.join("\n");
}

/**
 * The refusal reports' side of a launch, loaded on use while the server is prepared.
 *
 * @returns The `denials` command module.
 */
export function loadDenials(): Promise<typeof import("./denials.ts")> {
  return import(onUse("./denials.ts", import.meta.url));
}

/** The guard's options, loaded on use while the target resolves. */
function loadGuard(): Promise<typeof import("./guard_flags.ts")> {
  return import(onUse("./guard_flags.ts", import.meta.url));
}

/** The audit log's options (its modules load only for `--audit` or an OTLP endpoint). */
function loadAuditFlags(): Promise<typeof import("./_audit_flags.ts")> {
  return import(onUse("./_audit_flags.ts", import.meta.url));
}
