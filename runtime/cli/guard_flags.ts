/**
 * The options that set the MCP-layer guard of `run` and `serve` (and of launcher-form client
 * entries, which run `mcp-run run`), read into the guard's settings.
 *
 * @module
 */
import type { GuardOptions } from "../guard/guard_options.ts";
import { resolve } from "../_path.ts";
import type { AuditLog } from "../guard/audit_log.ts";
import { type GuardStage, guardStages } from "../guard/guard_options.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ScanMode } from "../guard/scan.ts";
import { toolFilter, toolFilterLayers, toolPatternProblem } from "../guard/tool_filter.ts";
import { DEFAULT_SCAN_MODE } from "../guard/scan.ts";
import type { GuardReportOptions } from "../guard/guard_report.ts";
import { type CliContext, secondsOption, UsageError } from "./context.ts";
import type { GuardFlags } from "./_guard_names.ts";
import { shellQuote } from "../sandbox/shell_quote.ts";

export { AUDIT_OPTIONS, GUARD_OPTIONS, type GuardFlags } from "./_guard_names.ts";

/** What a launch's guard is made of. */
export interface GuardSetup {
  /** The checks, in order. */
  stages: GuardStage[];
  /** Milliseconds a client request may wait (`run` only; undefined: no limit). */
  requestTimeoutMs?: number;
}

/**
 * Reads the guard's options for a launch.
 *
 * @param ctx CLI context (the cache root, where the guard keeps its state).
 * @param server The resolved server (its manifest's guard settings).
 * @param flags The options as parsed (`serve`'s `--session-mode` among them).
 * @param opened What the launch opened for its guard beforehand, and its target as typed (for
 *   the approve command a pin refusal names): the audit log (see
 *   `openAuditFlags()`), shared by every session.
 * @returns The stages and the timeout.
 * @throws {UsageError} When an option's value is not valid.
 */
export function guardSetup(
  ctx: CliContext,
  server: ResolvedServer,
  flags: GuardFlags & { "session-mode"?: string },
  opened: { audit?: AuditLog; target?: string } = {},
): GuardSetup {
  const options: GuardOptions = {
    cacheRoot: ctx.target.cacheRoot,
    approveCommand: approveCommand(ctx, server, opened.target, flags.param, flags.cache),
    checkServerRequests: flags["session-mode"] !== "shared",
    ...toolFlags(flags),
    scan: scanFlag(flags.scan) ?? ctx.userScan,
    audit: opened.audit,
  };
  let stages: GuardStage[];
  try {
    stages = guardStages(server, options);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  return {
    stages,
    requestTimeoutMs: secondsOption("request-timeout", flags["request-timeout"]),
  };
}

/**
 * The `approve` command for a launch's server as the user would type it: the target and its
 * parameters as given, when a bare name would not find the same server.
 */
function approveCommand(
  ctx: CliContext,
  server: ResolvedServer,
  target: string | undefined,
  params: string[] = [],
  cacheFlag?: string,
): string {
  if (
    target === undefined || (target === server.name && params.length + (cacheFlag ? 1 : 0) === 0)
  ) {
    return shellQuote(["mcp-run", "approve", server.name]);
  }
  const registries = ctx.registrySources.flatMap((source) => ["--registry", source]);
  const values = params.flatMap((param) => ["-p", param]);
  const cache = cacheFlag === undefined ? [] : ["--cache", ctx.target.cacheRoot];
  return shellQuote(["mcp-run", "approve", target, ...registries, ...cache, ...values]);
}

/**
 * The tool filter and scan mode of a launch, for the commands that judge a server's offering at
 * once (`inspect`, `call`) instead of guarding each message.
 *
 * @param ctx CLI context (the user config's scan mode).
 * @param server The resolved server (its manifest's `tools` and `scan`).
 * @param flags The options as parsed.
 * @returns The filter and the mode.
 * @throws {UsageError} When an option's value is not valid.
 *
 * @example
 * ```ts ignore
 * const { filter, mode } = guardJudges(ctx, server, { "exclude-tools": ["delete_*"] });
 * ```
 */
export function guardJudges(
  ctx: CliContext,
  server: ResolvedServer,
  flags: GuardFlags,
): GuardReportOptions {
  try {
    const filter = toolFilter(
      toolFilterLayers({ manifest: server.manifest?.tools, ...toolFlags(flags) }),
    );
    const mode = scanFlag(flags.scan) ?? ctx.userScan ?? server.manifest?.scan ?? DEFAULT_SCAN_MODE;
    return { filter, mode };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/**
 * Reads `--scan`.
 *
 * @param text The value as typed.
 * @returns The mode, or undefined when not given.
 * @throws {UsageError} When it is neither `warn` nor `block`.
 *
 * @example
 * ```ts
 * import { scanFlag } from "./guard_flags.ts";
 * console.log(scanFlag("warn")); // warn
 * ```
 */
export function scanFlag(text: string | undefined): ScanMode | undefined {
  if (text === undefined || text === "warn" || text === "block") return text;
  throw new UsageError(`--scan must be warn or block, got "${text}"`);
}

/**
 * Reads `--tools` and `--exclude-tools` as the guard's lists.
 *
 * @param flags The options as parsed.
 * @returns The lists given.
 *
 * @example
 * ```ts
 * import { toolFlags } from "./guard_flags.ts";
 * console.log(toolFlags({ "exclude-tools": ["rm,mv"] })); // { excludeTools: ["rm,mv"] }
 * ```
 */
export function toolFlags(flags: GuardFlags): Pick<GuardOptions, "tools" | "excludeTools"> {
  const out: Pick<GuardOptions, "tools" | "excludeTools"> = {};
  if (flags.tools !== undefined) out.tools = flags.tools;
  if (flags["exclude-tools"] !== undefined) out.excludeTools = flags["exclude-tools"];
  return out;
}

/**
 * The guard options as arguments to pass on (a launcher-form client entry runs `mcp-run run`
 * with them), each checked first.
 *
 * @param flags The options as parsed.
 * @returns The arguments, in a fixed order (`--tools`, `--exclude-tools`, `--scan`, `--audit`,
 *   `--audit-content`).
 * @throws {UsageError} When a value is not valid.
 *
 * @example
 * ```ts
 * import { guardArgs } from "./guard_flags.ts";
 * console.log(guardArgs({ scan: "warn", tools: ["read_*"] })); // ["--tools", "read_*", "--scan", "warn"]
 * ```
 */
export function guardArgs(flags: GuardFlags): string[] {
  const args: string[] = [];
  for (const flag of ["tools", "exclude-tools"] as const) {
    for (const list of flags[flag] ?? []) {
      for (const pattern of list.split(",").map((p) => p.trim())) {
        const problem = toolPatternProblem(pattern);
        if (problem) throw new UsageError(`--${flag}: ${problem}`);
      }
      args.push(`--${flag}`, list);
    }
  }
  const scan = scanFlag(flags.scan);
  if (scan) args.push("--scan", scan);
  if (flags["audit-content"] && flags.audit === undefined) {
    throw new UsageError("--audit-content needs --audit FILE");
  }
  // Absolute: the client starts the entry from a folder of its own.
  if (flags.audit !== undefined) args.push("--audit", resolve(flags.audit));
  if (flags["audit-content"]) args.push("--audit-content");
  return args;
}
