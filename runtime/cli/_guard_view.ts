/**
 * The guard's judgement as `inspect` and `call` show it: what clients do not see and why, every
 * finding of the poisoning scan, and the refusal of a call the guard would refuse.
 *
 * @module
 */
import { formatFinding } from "../guard/scan.ts";
import {
  type GuardReport,
  guardReport,
  type GuardReportOptions,
  toolRefusal,
} from "../guard/guard_report.ts";
import { stripHidden } from "../guard/scan.ts";

/** A call refused because the guard of `run` would refuse it; never sent to the server. */
export class CallRefusedError extends Error {
  /**
   * @param message Which tool, and why.
   * @param options Standard error options.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CallRefusedError";
  }
}

/** A server-chosen name, quoted and bounded for one line. */
function quoteName(name: string): string {
  const clean = stripHidden(name);
  return JSON.stringify(clean.length > 100 ? `${clean.slice(0, 99)}…` : clean);
}

/**
 * The guard's judgement in words: what clients do not see, and every finding.
 *
 * @param report The judgement.
 * @param mode The scan mode (named in the findings' heading).
 * @returns Lines for inspect's text output (none when there is nothing to say).
 */
export function guardLines(report: GuardReport, mode: string): string[] {
  const out: string[] = [];
  if (report.leftOut.length) {
    out.push("", `Left out for clients (${report.leftOut.length}):`);
    out.push(...report.leftOut.map((l) => `  ${l.definition} ${quoteName(l.name)}: ${l.reason}`));
  }
  if (report.findings.length) {
    out.push("", `Poisoning scan findings (${report.findings.length}; scan: ${mode}):`);
    out.push(...report.findings.map((f) => `  ${formatFinding(f)}`));
  }
  return out;
}

/**
 * Why the guard would refuse a call of a tool, judged by the server's list of tools.
 *
 * @param judges The tool filter and the scan mode.
 * @param tools The server's tools, as it listed them.
 * @param tool The tool called.
 * @returns The refusal's message, or undefined when the call would pass.
 */
export function callRefusal(
  judges: GuardReportOptions,
  tools: readonly { name: string; annotations?: object }[],
  tool: string,
): string | undefined {
  const listed = tools.find((t) => t.name === tool);
  const why = toolRefusal(guardReport({ tools }, judges), tool) ??
    judges.filter.refusal({
      name: tool,
      annotations: listed?.annotations as Record<string, unknown> | undefined,
    });
  return why && `refused tool ${quoteName(tool)}: ${why}`;
}
