/**
 * What the guard would make of a server's offering, judged at once rather than message by
 * message: the scan's findings, the definitions a guarded client would not see and why, and the
 * rest as a guarded client sees them. `inspect` shows it; `call` refuses by it.
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

/** A server's lists, as it answered them. */
export interface Offering {
  /** Its tools. */
  tools?: readonly unknown[];
  /** Its prompts. */
  prompts?: readonly unknown[];
  /** Its resources. */
  resources?: readonly unknown[];
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
  visible: { tools: unknown[]; prompts: unknown[]; resources: unknown[] };
}

/** Options for {@linkcode guardReport}. */
export interface GuardReportOptions {
  /** The tool filter. */
  filter: ToolFilter;
  /** The scan mode. */
  mode: ScanMode;
}

const LISTS = [["tools", "tool"], ["prompts", "prompt"], ["resources", "resource"]] as const;

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
    visible: { tools: [], prompts: [], resources: [] },
  };
  const ownTools = new Set(
    (offering.tools ?? []).map((t) => definitionName("tool", t)).filter((n) => n !== ""),
  );
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
      if (blocking) {
        report.leftOut.push({
          definition: kind,
          name,
          reason: `the poisoning scan found ${formatFinding(blocking)}`,
        });
      } else report.visible[field].push(clean);
    }
  }
  return report;
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
