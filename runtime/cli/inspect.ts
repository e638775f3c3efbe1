/**
 * The CLI commands that talk to a server as a client would: `inspect` (what it offers, and what
 * the guard would leave out) and `call` (one tool call, refused as the guard would refuse it).
 * Loaded on use, so `run` starts without the MCP SDK client or the guard's reports.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { describePermissions } from "../policy/describe.ts";
import type { Denial } from "../learn/denial.ts";
import { ServerExitedError } from "../sandbox/server_process.ts";
import { type GuardFlags, guardJudges } from "./guard_flags.ts";
import { stripHidden } from "../guard/scan.ts";
import { guardReport } from "../guard/guard_report.ts";
import { callRefusal, CallRefusedError, guardLines, pinBlocks } from "./_guard_view.ts";
import type { GuardReportOptions } from "../guard/guard_report.ts";
import type { ServerOffering } from "../sandbox/connect.ts";
import {
  type CliContext,
  type CommandLine,
  EXIT,
  expectArgs,
  secondsOption,
  UsageError,
} from "./context.ts";
import { loadDenials, resolveFor } from "./launch.ts";

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
  // A person is waiting: 30 s unless told.
  const timeoutMs = secondsOption("timeout", options.timeout) ?? 30_000;
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
    const offering = await listAdvertised(connected);
    const { tools, prompts, resources, resourceTemplates, instructions, problems } = offering;
    const judges = await judgesFor(ctx, server, line.rest[0], offering, options);
    const report = guardReport(offering, judges);
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
            resourceTemplates: resourceTemplates.map((r) => ({
              uriTemplate: clean(r.uriTemplate),
              name: clean(r.name),
            })),
            instructions: clean(instructions),
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
    if (resourceTemplates.length) {
      out.push("", `Resource templates (${resourceTemplates.length}):`);
      out.push(
        ...resourceTemplates.map((r) => `  ${firstLine(r.uriTemplate)}  ${firstLine(r.name)}`),
      );
    }
    if (instructions !== undefined) out.push("", `Instructions: ${firstLine(instructions)}`);
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
  // A person is waiting: 30 s unless told.
  const timeoutMs = secondsOption("timeout", options.timeout) ?? 30_000;
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
    const offering = await (await loadConnect()).listAdvertised(connected);
    const judges = await judgesFor(ctx, server, target, offering, options);
    const refused = callRefusal(judges, offering.tools, tool);
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

/** The guard's judges for a server's offering: the tool filter, the scan and its pins. */
async function judgesFor(
  ctx: CliContext,
  server: Awaited<ReturnType<typeof resolveFor>>["server"],
  target: string,
  offering: ServerOffering,
  options: ConnectCommandOptions,
): Promise<GuardReportOptions> {
  const listed = {
    tool: offering.tools as unknown as Record<string, unknown>[],
    prompt: offering.prompts as unknown as Record<string, unknown>[],
    resourceTemplate: offering.resourceTemplates as unknown as Record<string, unknown>[],
  };
  return {
    ...guardJudges(ctx, server, options.guard ?? {}),
    pinBlocks: await pinBlocks(ctx.target.cacheRoot, server.name, listed),
    approveCommand: `mcp-run approve ${target}`,
  };
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

/** The client side of a launch, loaded on use so `run` starts without the MCP SDK client. */
function loadConnect(): Promise<typeof import("../sandbox/connect.ts")> {
  return import(onUse("../sandbox/connect.ts", import.meta.url));
}
