/**
 * The guard's judgement as `inspect` and `call` show it: what clients do not see and why (the pins
 * among the reasons), every finding of the poisoning scan, and the refusal of a call the guard
 * would refuse.
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
import { DEFINITION_KINDS } from "../guard/definition_hash.ts";
import { diffPins, type PinChange } from "../guard/pin_diff.ts";
import { type ListedDefinitions, pinSet, readPins } from "../guard/pin_store.ts";

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

/**
 * The definitions the pins would block: added or changed since the server's pins were approved
 * (none when nothing is pinned yet: the first guarded launch pins what it lists). A definition
 * too deeply nested to hash is blocked, as the guard blocks it.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param server The server's name.
 * @param listed What the server lists now.
 * @returns The changes that block.
 * @throws {SyntaxError} When the pins are damaged (the message says how to pin again).
 */
export async function pinBlocks(
  cacheRoot: string,
  server: string,
  listed: ListedDefinitions,
): Promise<PinChange[]> {
  const stored = await readPins(cacheRoot, server);
  if (!stored) return [];
  const current = await pinSet(listed);
  const changes = diffPins(stored.definitions, current).filter((c) => c.change !== "removed");
  for (const kind of DEFINITION_KINDS) {
    for (const item of listed[kind]) {
      const name = item.name;
      if (typeof name !== "string" || Object.hasOwn(current[kind], name)) continue;
      const approved = Object.hasOwn(stored.definitions[kind], name);
      const fields = [{
        field: "definition",
        before: "approved",
        after: "too deeply nested to read",
      }];
      changes.push({
        kind,
        name,
        change: approved ? "changed" : "added",
        fields: approved ? fields : [],
      });
    }
  }
  return changes;
}
