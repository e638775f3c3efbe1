/**
 * What the guard would make of a server's offering, judged at once rather than message by
 * message: the scan's findings (in its definitions and its instructions), the definitions a
 * guarded client would not see and why (the tool filter, the pins, the scan), and the rest as a
 * guarded client sees them. `inspect` shows it; `call` refuses by it.
 *
 * Pure: no I/O.
 *
 * @module
 */
import {
  blocks,
  definitionName,
  type Finding,
  formatFinding,
  scanDefinition,
  type ScanMode,
  type ScannedKind,
} from "./scan.ts";
import type { ToolFilter } from "./tool_filter.ts";
import { describeChange, type PinChange } from "./pin_diff.ts";

/** A server's lists, as it answered them. */
export interface Offering {
  /** Its tools. */
  tools?: readonly unknown[];
  /** Its prompts. */
  prompts?: readonly unknown[];
  /** Its resources. */
  resources?: readonly unknown[];
  /** Its resource templates. */
  resourceTemplates?: readonly unknown[];
  /** The instructions of its `initialize` answer. */
  instructions?: string;
}

/** A definition a guarded client does not see. */
export interface LeftOut {
  /** What it is. */
  definition: ScannedKind;
  /** Its name (hidden characters removed). */
  name: string;
  /** Why, in words (printable). */
  reason: string;
}

/** The guard's judgement of an offering. */
export interface GuardReport {
  /** Every finding of the scan (filtered tools are not scanned). */
  findings: Finding[];
  /** What a guarded client does not see. */
  leftOut: LeftOut[];
  /** The lists as a guarded client sees them. */
  visible: {
    tools: unknown[];
    prompts: unknown[];
    resources: unknown[];
    resourceTemplates: unknown[];
  };
}

/** Options for {@linkcode guardReport}. */
export interface GuardReportOptions {
  /** The tool filter. */
  filter: ToolFilter;
  /** The scan mode. */
  mode: ScanMode;
  /** The definitions added or changed since the server's pins were approved (none: no pins). */
  pinBlocks?: readonly PinChange[];
  /** The command that approves the server, for the pins' reasons (default `mcp-run approve`). */
  approveCommand?: string;
}

const LISTS = [
  ["tools", "tool"],
  ["prompts", "prompt"],
  ["resources", "resource"],
  ["resourceTemplates", "resourceTemplate"],
] as const;

/**
 * Judges a server's offering as the guard of `run` and `serve` would.
 *
 * @param offering The lists, as the server answered them.
 * @param options The tool filter and the scan mode.
 * @returns The findings, what is left out, and what is left.
 *
 * @example
 * ```ts
 * import { guardReport } from "./guard_report.ts";
 * import { toolFilter } from "./tool_filter.ts";
 * const report = guardReport({
 *   tools: [{ name: "a", description: "<IMPORTANT>x</IMPORTANT>" }, { name: "b" }],
 * }, { filter: toolFilter([]), mode: "block" });
 * console.log(report.visible.tools.length, report.leftOut[0].name); // 1 a
 * ```
 */
export function guardReport(offering: Offering, options: GuardReportOptions): GuardReport {
  const report: GuardReport = {
    findings: [],
    leftOut: [],
    visible: { tools: [], prompts: [], resources: [], resourceTemplates: [] },
  };
  const ownTools = new Set(
    (offering.tools ?? []).map((t) => definitionName("tool", t)).filter((n) => n !== ""),
  );
  const pinned = pinReasons(options);
  for (const [field, kind] of LISTS) {
    for (const item of offering[field] ?? []) {
      const name = definitionName(kind, item);
      const annotations = (item as { annotations?: Record<string, unknown> })?.annotations;
      const filtered = kind === "tool" ? options.filter.refusal({ name, annotations }) : undefined;
      if (filtered) {
        report.leftOut.push({ definition: kind, name, reason: filtered });
        continue;
      }
      const { clean, findings } = scanDefinition(kind, item, { ownTools });
      report.findings.push(...findings);
      const blocking = findings.find((f) => blocks(f, options.mode));
      const notApproved = pinned.get(`${kind} ${(item as { name?: unknown })?.name}`);
      if (notApproved) report.leftOut.push({ definition: kind, name, reason: notApproved });
      else if (blocking) {
        report.leftOut.push({
          definition: kind,
          name,
          reason: `the poisoning scan found ${formatFinding(blocking)}`,
        });
      } else report.visible[field].push(clean);
    }
  }
  judgeInstructions(offering.instructions, options.mode, report);
  return report;
}

/** The pins' reason for each definition they block, by kind and name. */
function pinReasons(options: GuardReportOptions): Map<string, string> {
  const approve = options.approveCommand ?? "mcp-run approve";
  const reasons = new Map<string, string>();
  for (const change of options.pinBlocks ?? []) {
    if (change.change === "removed") continue;
    const what = change.change === "added" ? "not approved" : "changed since you approved it";
    reasons.set(
      `${change.kind} ${change.name}`,
      `${what} (${describeChange(change)}); review it with \`${approve} --diff\``,
    );
  }
  return reasons;
}

/** The instructions, scanned as the guard scans the `initialize` answer; left out if blocked. */
function judgeInstructions(
  instructions: string | undefined,
  mode: ScanMode,
  report: GuardReport,
): void {
  if (instructions === undefined) return;
  const { findings } = scanDefinition("server", { instructions });
  report.findings.push(...findings);
  const blocking = findings.find((f) => blocks(f, mode));
  if (!blocking) return;
  report.leftOut.push({
    definition: "server",
    name: "instructions",
    reason: `the poisoning scan found ${formatFinding(blocking)}`,
  });
}

/**
 * Why a guarded client could not call a tool, if it could not.
 *
 * @param report The guard's judgement of the server's offering.
 * @param tool The tool's name.
 * @returns The reason, or undefined when the call would pass.
 *
 * @example
 * ```ts
 * import { guardReport, toolRefusal } from "./guard_report.ts";
 * import { toolFilter } from "./tool_filter.ts";
 * const filter = toolFilter([{ source: "--exclude-tools", rules: { deny: ["rm"] } }]);
 * const report = guardReport({ tools: [{ name: "rm" }] }, { filter, mode: "block" });
 * console.log(toolRefusal(report, "rm")); // it is excluded by --exclude-tools
 * ```
 */
export function toolRefusal(report: GuardReport, tool: string): string | undefined {
  return report.leftOut.find((l) => l.definition === "tool" && l.name === tool)?.reason;
}
