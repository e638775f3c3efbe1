/**
 * The launch commands of the CLI: `run`, `pull`, `flags`, `inspect` and `call`. Each resolves its
 * target and talks only to the sandbox it is given.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describePermissions } from "../policy/describe.ts";
import type { Denial } from "../learn/denial.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { LaunchPlan } from "../sandbox/launch_plan.ts";
import type { PlannedEgress } from "../sandbox/container_launch.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { startGuard } from "../sandbox/child_guard.ts";
import { ServerExitedError, type ServerProcess } from "../sandbox/server_process.ts";
import { shellQuote } from "../sandbox/shell_quote.ts";
import { relayStdio } from "../sandbox/stdio_relay.ts";
import { type GuardFlags, guardJudges, guardSetup } from "./guard_flags.ts";
import { stripHidden } from "../guard/scan.ts";
import { guardReport } from "../guard/guard_report.ts";
import { callRefusal, CallRefusedError, guardLines } from "./_guard_view.ts";
import { openAuditFlags } from "./_audit_flags.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { resolveTarget } from "../registry/resolve_target.ts";
import { rememberLaunch } from "./_launch_hint.ts";
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
  if (isolation !== "docker" && dockerOption !== undefined) {
    throw new UsageError(`${dockerOption} needs --isolation docker`);
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
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  const plan = sandbox.plan(server);
  const flags = options.guard ?? {};
  const target = line.rest[0];
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
    lines.push(
      `egress: first the sidecar ${egress.sidecar} (--network none, mcp-run's proxy socket ` +
        `mounted); the proxy allows ${egress.allow.join(", ")} and refuses ` +
        `${egress.deny.join(", ")} after resolving`,
    );
  }
  return lines.join("\n");
}

/**
 * Reads `--timeout SECONDS` (default 30: a person is waiting) as milliseconds.
 *
 * @throws {UsageError} When it is not a positive number.
 */
function timeoutOption(text: string | undefined): number {
  if (text === undefined) return 30_000;
  const seconds = Number(text);
  if (text.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, got "${text}"`);
  }
  return Math.ceil(seconds * 1000);
}

/** Options for {@linkcode inspectCommand} and {@linkcode callCommand}. */
export interface ConnectCommandOptions {
  /** `--timeout SECONDS`, as typed (default 30). */
  timeout?: string;
  /** The guard's options (`--tools`, `--exclude-tools`, `--scan`): what inspect marks, call refuses. */
  guard?: GuardFlags;
}

/**
 * `mcp-run inspect <server>`: starts the server, lists its tools, prompts and resources, and
 * says what it may do.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @param options `--timeout`.
 * @returns The exit code.
 * @throws {UsageError} When not given one target, or a bad timeout.
 */
export async function inspectCommand(
  ctx: CliContext,
  line: CommandLine,
  options: ConnectCommandOptions = {},
): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const timeoutMs = timeoutOption(options.timeout);
  const { server, connected, log, reports } = await connectFor(
    ctx,
    line.rest[0],
    line.serverArgs,
    timeoutMs,
    "inspect",
  );
  let render: ((denials: Denial[]) => string) | undefined;
  try {
    const { client } = connected;
    const { listAdvertised } = await loadConnect();
    // A list the server advertises but answers with an error is said, not fatal: the rest of
    // what it offers is still worth seeing.
    const { tools, prompts, resources, problems } = await listAdvertised(connected);
    const judges = guardJudges(ctx, server, options.guard ?? {});
    const report = guardReport({ tools, prompts, resources }, judges);
    const info = client.getServerVersion();
    if (ctx.json) {
      render = (denials) =>
        JSON.stringify(
          {
            server: info,
            permissions: describePermissions(server),
            tools: tools.map((t) => ({ name: t.name, description: clean(t.description) })),
            prompts: prompts.map((p) => ({ name: p.name, description: clean(p.description) })),
            resources: resources.map((r) => ({ uri: r.uri, name: clean(r.name) })),
            problems,
            scan: judges.mode,
            findings: report.findings,
            leftOut: report.leftOut,
            denials,
          },
          null,
          2,
        );
      return EXIT.ok;
    }
    const out = [
      `${server.name}: ${firstLine(info?.name ?? "?")} ${firstLine(info?.version)}`.trim(),
      "",
      "It may:",
      ...describePermissions(server).map((l) => `  ${l}`),
      "",
      `Tools (${tools.length}):`,
      ...tools.map((t) => `  ${stripHidden(t.name)}  ${firstLine(t.description)}`),
    ];
    if (prompts.length) {
      out.push("", `Prompts (${prompts.length}):`);
      out.push(...prompts.map((p) => `  ${stripHidden(p.name)}  ${firstLine(p.description)}`));
    }
    if (resources.length) {
      out.push("", `Resources (${resources.length}):`);
      out.push(...resources.map((r) => `  ${stripHidden(r.uri)}  ${firstLine(r.name)}`));
    }
    if (problems.length) {
      out.push("", ...problems.map((p) => `Failed to list ${p}`));
    }
    out.push(...guardLines(report, judges.mode));
    render = (denials) => [...out, ...withGap(reports.denialLines(denials))].join("\n");
    return EXIT.ok;
  } finally {
    // The denials are complete once the server has stopped: they are printed after it.
    await connected.close();
    await reports.storeDenials(ctx, server, log, "inspect");
    if (render) ctx.print(render(log.denials));
  }
}

function withGap(lines: string[]): string[] {
  return lines.length ? ["", ...lines] : [];
}

/** Text a server chose, as a client of the guard sees it. */
function clean(text: string | undefined): string | undefined {
  return text === undefined ? undefined : stripHidden(text);
}

function firstLine(text?: string): string {
  // The server's text reaches a terminal: nothing in it may steer it.
  const line = stripHidden(text ?? "").split("\n")[0].trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/**
 * `mcp-run call <server> <tool> [JSON]`: starts the server, calls one tool and prints its result;
 * exits 1 when the tool reports an error.
 *
 * @param ctx CLI context.
 * @param line The target, the tool, its JSON arguments and the server's arguments.
 * @param options `--timeout`.
 * @returns The exit code.
 * @throws {UsageError} When not given a target and a tool, or a bad timeout.
 * @throws {SyntaxError} When the tool arguments are not JSON.
 */
export async function callCommand(
  ctx: CliContext,
  line: CommandLine,
  options: ConnectCommandOptions = {},
): Promise<number> {
  expectArgs(line.rest, 2, 3, "give a server, a tool and JSON arguments");
  const timeoutMs = timeoutOption(options.timeout);
  const [target, tool, argsText = "{}"] = line.rest;
  const extraArgs = line.serverArgs;
  let args: unknown;
  try {
    args = JSON.parse(argsText);
  } catch (error) {
    throw new SyntaxError(`Tool arguments must be a JSON object: ${(error as Error).message}`);
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) {
    throw new TypeError(`Tool arguments must be a JSON object, got ${argsText}`);
  }
  const { server, connected, log, reports } = await connectFor(
    ctx,
    target,
    extraArgs,
    timeoutMs,
    "call",
  );
  let result: CallToolResult | undefined;
  try {
    // Refused here as the guard of `run` would refuse it, before it reaches the server.
    const judges = guardJudges(ctx, server, options.guard ?? {});
    const { tools } = await (await loadConnect()).listAdvertised(connected);
    const refused = callRefusal(judges, tools, tool);
    if (refused) throw new CallRefusedError(refused);
    const params = { name: tool, arguments: args as Record<string, unknown> };
    result = await connected.request<CallToolResult>(
      "tools/call",
      (o) => connected.client.callTool(params, undefined, o),
    );
    return result.isError ? EXIT.error : EXIT.ok;
  } catch (error) {
    if (error instanceof ServerExitedError || error instanceof Deno.errors.TimedOut) throw error;
    if (error instanceof UsageError || error instanceof CallRefusedError) throw error;
    throw new Error(`Tool "${tool}" failed: ${(error as Error).message}`, { cause: error });
  } finally {
    // The denials are complete once the server has stopped: they are printed after it.
    await connected.close();
    await reports.storeDenials(ctx, server, log, "call");
    const lines = reports.denialLines(log.denials);
    if (result) printCallResult(ctx, result, log.denials, lines);
    else if (lines.length) ctx.printError(lines.join("\n"));
  }
}

function printCallResult(
  ctx: CliContext,
  result: CallToolResult,
  denials: Denial[],
  lines: string[],
): void {
  if (ctx.json) {
    ctx.print(JSON.stringify({ ...result, denials }, null, 2));
    return;
  }
  const content = (result.content ?? []) as { type: string; text?: string }[];
  ctx.print(content.map((c) => c.type === "text" ? c.text : `[${c.type} content]`).join("\n"));
  // On stderr, after the result: stdout stays exactly the tool's output, for scripts.
  if (lines.length) ctx.printError(lines.join("\n"));
}

/** Resolves a target and connects an MCP client to it in the command's sandbox (inspect, call). */
async function connectFor(
  ctx: CliContext,
  target: string,
  extraArgs: string[],
  timeoutMs: number | undefined,
  command: string,
) {
  const { server, sandbox } = await resolveFor(ctx, target, extraArgs);
  const [{ connectServer }, reports] = await Promise.all([loadConnect(), loadDenials()]);
  const log = reports.launchDenialLog(ctx, server, sandbox);
  let connected;
  try {
    connected = await connectServer(server, {
      cacheRoot: ctx.target.cacheRoot,
      sandbox,
      onStderr: () => {},
      timeoutMs,
      denials: log,
    });
  } catch (error) {
    // A server that started and failed was often refused what it needed: say what.
    if (error instanceof ServerExitedError || error instanceof Deno.errors.TimedOut) {
      await reports.storeDenials(ctx, server, log, command);
      if (log.denials.length) ctx.printError(reports.denialLines(log.denials).join("\n"));
    }
    throw error;
  }
  return { server, connected, log, reports };
}

/** The refusal reports' side of a launch, loaded on use while the server is prepared. */
function loadDenials(): Promise<typeof import("./denials.ts")> {
  return import(onUse("./denials.ts", import.meta.url));
}

/** The client side of a launch, loaded on use so `run` starts without the MCP SDK client. */
function loadConnect(): Promise<typeof import("../sandbox/connect.ts")> {
  return import(onUse("../sandbox/connect.ts", import.meta.url));
}
