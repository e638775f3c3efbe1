/**
 * The manifest's settings for the guard of the MCP layer: `tools` (which tools the client may
 * see and call) and `scan` (what becomes of instruction-like text in definitions).
 *
 * @module
 */
import type { Checker, Json } from "./_manifest_checker.ts";
import { MANIFEST_FIELDS } from "./manifest_schema.ts";
import type { ToolRules } from "../guard/tool_filter.ts";
import { toolPatternProblem } from "../guard/tool_filter.ts";
import { SCAN_MODES, type ScanMode } from "../guard/scan.ts";

/** The guard settings of a manifest, checked. */
export interface ManifestGuardFields {
  /** The `tools` section. */
  tools?: ToolRules;
  /** The `scan` setting. */
  scan?: ScanMode;
}

/**
 * Checks `tools` and `scan`, recording a problem for each thing wrong.
 *
 * @param c The checker.
 * @param root The manifest's root object.
 * @returns The valid settings.
 */
export function checkGuardFields(c: Checker, root: Record<string, Json>): ManifestGuardFields {
  const out: ManifestGuardFields = {};
  const scan = c.string(root.scan, "scan", false);
  if (scan !== undefined && !(SCAN_MODES as readonly string[]).includes(scan)) {
    c.add("scan", `"${scan}" is not a scan mode; use "warn" or "block"`);
  } else if (scan !== undefined) out.scan = scan as ScanMode;
  const section = c.object(root.tools, "tools");
  if (!section) return out;
  c.keys(section, "tools", MANIFEST_FIELDS.tools);
  const tools: ToolRules = {};
  for (const list of ["allow", "deny"] as const) {
    if (section[list] === undefined) continue;
    const patterns = c.strings(section[list], `tools.${list}`);
    patterns.forEach((p, i) => {
      const problem = toolPatternProblem(p);
      if (problem) c.add(`tools.${list}[${i}]`, problem);
    });
    tools[list] = patterns;
  }
  const readOnly = c.boolean(section.readOnly, "tools.readOnly");
  if (readOnly !== undefined) tools.readOnly = readOnly;
  out.tools = tools;
  return out;
}
