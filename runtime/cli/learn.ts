/**
 * The `learn` command: run a server in a throwaway sandbox, print what it asked for and the
 * draft manifest; write the draft only when asked to.
 *
 * @module
 */
import { type LearnCall, type LearnedServer, learnServer } from "../learn/learn_server.ts";
import { quoteText } from "../learn/_escape.ts";
import { type CliContext, type CommandLine, EXIT, UsageError } from "./context.ts";

/** Options for {@linkcode learnCommand}, as parsed from the command line. */
export interface LearnCommandOptions {
  /** `--call TOOL` values, in order; each takes the next JSON argument. */
  call?: string[];
  /** `--env NAME` (a placeholder) or `--env NAME=VALUE` (a real, non-secret setting) values. */
  env?: string[];
  /** `--write FILE`. */
  write?: string;
  /** `--force`: overwrite the `--write` file. */
  force?: boolean;
  /** `--timeout SECONDS`. */
  timeout?: string;
  /** Call every tool not named by `--call` once with sample arguments (not `--no-probe`). */
  probe?: boolean;
}

/**
 * `mcp-run learn <package|manifest> [--call TOOL JSON]… [--env NAME]… [--write FILE] [-- args]`:
 * learns what a server needs and prints the label and the draft manifest.
 *
 * @param ctx CLI context.
 * @param line The target (and the JSON arguments of `--call`), the server arguments.
 * @param options The parsed options.
 * @returns The exit code: 0 when the server started and the draft was made, 1 when it did not
 *   start (the findings are printed, and the draft written with `--write`), 2 for a usage error.
 * @throws {UsageError} When the target is missing or a `--call` has no JSON object.
 */
export async function learnCommand(
  ctx: CliContext,
  line: CommandLine,
  options: LearnCommandOptions,
): Promise<number> {
  const { target, calls } = readTargetAndCalls(line.rest, options.call ?? []);
  const timeoutMs = readTimeout(options.timeout);
  if (options.write && !options.force && await exists(options.write)) {
    throw new UsageError(`"${options.write}" exists: choose another file or add --force`);
  }
  const learned = await learnServer(target, {
    registries: ctx.registries,
    source: ctx.env,
    home: ctx.target.home,
    args: line.serverArgs,
    env: options.env,
    calls,
    probe: options.probe,
    timeoutMs,
    progress: ctx.printError,
  });
  if (ctx.json) ctx.print(JSON.stringify(learned, null, 2));
  else ctx.print(learnReport(learned));
  // A server that cannot start natively (a native addon, say) still gets its draft: it says
  // what the docker form needs. One that never ran (its code could not be fetched) asked for
  // nothing, and an empty draft would only look right.
  const ran = learned.initialized || learned.checks.length > 0;
  if (options.write && !ran) {
    ctx.printError(`Wrote no draft: the server never ran, so nothing shows what it needs.`);
  } else if (options.write) {
    await Deno.writeTextFile(options.write, learned.text, { createNew: !options.force });
    ctx.printError(`Wrote the draft to ${options.write}: review it, then mcp-run check it.`);
  }
  if (!learned.initialized) {
    ctx.printError(`The server did not start: ${learned.failure ?? "no answer"}`);
    return EXIT.error;
  }
  return EXIT.ok;
}

/**
 * The text report: the label, what the server offers, the refused accesses, then the draft.
 *
 * @param learned What learn found.
 * @returns The report.
 *
 * @example
 * ```ts ignore
 * console.log(learnReport(await learnServer("npm:some-server")));
 * ```
 */
export function learnReport(learned: LearnedServer): string {
  // Tool names, results, paths and hosts are the server's: escaped, so they cannot forge lines.
  const q = (text: string, max?: number) => quoteText(text, max);
  const lines = ["What the draft allows:", ...learned.label.map((l) => `  ${q(l)}`)];
  const { tools, prompts, resources, errors = [] } = learned.offering;
  if (learned.initialized) {
    lines.push(
      `Offers: ${tools.length} tools, ${prompts.length} prompts, ${resources.length} resources`,
    );
    if (tools.length) lines.push(`  tools: ${tools.map((t) => q(t, 100)).join(", ")}`);
    for (const error of errors) {
      // "Method not found": it advertises a list it does not serve, which needs nothing.
      const hint = /-32601/.test(error) ? "" : " (the server may need a setting or a host)";
      lines.push(`  failed to list: ${q(error, 200)}${hint}`);
    }
  }
  for (const call of learned.calls) {
    lines.push(
      `${call.probe ? "Tried" : "Called"} ${q(call.tool, 100)}: ${call.ok ? "ok" : "failed"}: ${
        q(call.text.split("\n")[0], 200)
      }`,
    );
  }
  const refused = learned.findings.filter((f) => f.refused);
  if (refused.length) {
    lines.push("Refused during learn:");
    for (const f of refused) {
      lines.push(`  ${q(f.permission)} ${f.value === null ? "(all)" : q(f.value)}: ${q(f.reason)}`);
    }
  }
  lines.push("", learned.text);
  return lines.join("\n");
}

/** The target is the one positional that is not a JSON object; those go to `--call`, in order. */
function readTargetAndCalls(
  rest: string[],
  tools: string[],
): { target: string; calls: LearnCall[] } {
  const json = rest.filter((a) => a.trimStart().startsWith("{"));
  const targets = rest.filter((a) => !a.trimStart().startsWith("{"));
  if (targets.length !== 1) throw new UsageError("give one package or manifest path");
  if (json.length !== tools.length) {
    throw new UsageError("give each --call a tool name and a JSON object: --call TOOL '{…}'");
  }
  const calls = tools.map((tool, i) => {
    let args: unknown;
    try {
      args = JSON.parse(json[i]);
    } catch (error) {
      throw new UsageError(
        `--call ${tool}: the arguments are not JSON: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    return { tool, arguments: args as Record<string, unknown> };
  });
  return { target: targets[0], calls };
}

function readTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 3600)) {
    throw new UsageError(`--timeout must be a number of seconds (1 to 3600), got "${text}"`);
  }
  return seconds * 1000;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
