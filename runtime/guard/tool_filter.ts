/**
 * The tool filter: which of a server's tools a client may see and call. Rules come in layers
 * (the manifest's `tools` section, then `--tools` and `--exclude-tools`); a tool passes only when
 * every layer lets it through, so the command line can narrow the manifest but never widen it.
 *
 * Names are exact or simple `*` globs (`read_*`). `readOnly: true` keeps only the tools the server
 * annotates `readOnlyHint: true`: that is the server's own claim, not a guarantee (pinned
 * definitions at least keep it from changing later), so the sandbox's permissions stay the wall
 * and this filter only narrows what the model is offered.
 *
 * Pure: no I/O.
 *
 * @module
 */
import { MANIFEST_PATTERNS } from "../policy/manifest_schema.ts";

/** One layer of tool rules, as a manifest's `tools` section writes it. */
export interface ToolRules {
  /** Only these tools (names or `*` globs); absent means every tool. */
  allow?: string[];
  /** Never these tools (names or `*` globs); deny beats allow. */
  deny?: string[];
  /** Only tools annotated `readOnlyHint: true` (the server's claim). */
  readOnly?: boolean;
}

/** A layer of rules and where it came from, for messages. */
export interface ToolFilterLayer {
  /** Where the rules come from, as messages name it: `--tools`, `the manifest's tools`. */
  source: string;
  /** The rules. */
  rules: ToolRules;
}

/** A tool as the filter judges it: its name and its annotations, as the server listed them. */
export interface ToolFacts {
  /** The tool's name. */
  name: string;
  /** The tool's annotations (`readOnlyHint`, …), if known. */
  annotations?: Record<string, unknown>;
}

/** The compiled filter. */
export interface ToolFilter {
  /** The layers, in order. */
  readonly layers: readonly ToolFilterLayer[];
  /** Whether any layer has a rule (a filter with none passes every tool). */
  readonly active: boolean;
  /** Whether a call can only be judged with the tool's annotations (`readOnly`). */
  readonly needsAnnotations: boolean;
  /**
   * Why a tool is refused, or undefined when it passes.
   *
   * @param tool The tool's name and annotations.
   * @returns A sentence naming the rule and its source.
   */
  refusal(tool: ToolFacts): string | undefined;
  /**
   * The allowed names and globs that match none of a server's tools: a typo, or a tool the
   * server does not offer, leaves the allowlist narrower than meant.
   *
   * @param names The names of every tool the server lists.
   * @returns One phrase per such pattern, naming its source (`--tools "reed_file"`).
   */
  unmatched(names: readonly string[]): string[];
}

/** Tool names and globs: the MCP name characters, `/`, and `*`. */
const PATTERN = new RegExp(MANIFEST_PATTERNS.toolPattern, "u");

/**
 * Checks a tool name or glob as a rule may hold it.
 *
 * @param pattern A name or `*` glob.
 * @returns Undefined when valid, else what is wrong and how to fix it.
 *
 * @example
 * ```ts
 * import { toolPatternProblem } from "./tool_filter.ts";
 * console.log(toolPatternProblem("read_*")); // undefined
 * console.log(toolPatternProblem("a b") !== undefined); // true
 * ```
 */
export function toolPatternProblem(pattern: string): string | undefined {
  if (PATTERN.test(pattern)) return undefined;
  return `"${pattern}" is not a tool name or glob: use letters, digits, "_", "-", ".", "/" and ` +
    `"*" (1 to 128 characters)`;
}

/** A glob as a regular expression: `*` is any run of characters, the rest is literal. */
function globRegExp(pattern: string): RegExp {
  const body = pattern.split("*").map((part) => part.replace(/[.\-/]/gu, "\\$&")).join(".*");
  // "s": a name with a line break in it is still matched whole.
  return new RegExp(`^${body}$`, "su");
}

/**
 * Whether a tool name matches a name or `*` glob.
 *
 * @param name The tool's name.
 * @param pattern A name or glob.
 * @returns True when it matches.
 *
 * @example
 * ```ts
 * import { toolMatches } from "./tool_filter.ts";
 * console.log(toolMatches("delete_all", "delete_*")); // true
 * console.log(toolMatches("undelete", "delete_*")); // false
 * ```
 */
export function toolMatches(name: string, pattern: string): boolean {
  return pattern.includes("*") ? globRegExp(pattern).test(name) : name === pattern;
}

/** Why one layer refuses a tool, or undefined. */
function layerRefusal(tool: ToolFacts, layer: ToolFilterLayer): string | undefined {
  const { rules, source } = layer;
  const denied = rules.deny?.find((p) => toolMatches(tool.name, p));
  if (denied !== undefined) {
    return `it is excluded by ${source}${denied === tool.name ? "" : ` "${denied}"`}`;
  }
  if (rules.allow && !rules.allow.some((p) => toolMatches(tool.name, p))) {
    return `it is not among the tools ${source} allows (${rules.allow.join(", ") || "none"})`;
  }
  if (rules.readOnly && tool.annotations?.readOnlyHint !== true) {
    return `${source} keeps only tools annotated read-only (readOnlyHint), and this one is not`;
  }
  return undefined;
}

/**
 * Compiles layers of rules into one filter: a tool passes only when every layer lets it through.
 *
 * @param layers The layers (empty ones are dropped).
 * @returns The filter.
 * @throws {TypeError} When a rule holds something that is not a tool name or glob.
 *
 * @example
 * ```ts
 * import { toolFilter } from "./tool_filter.ts";
 * const filter = toolFilter([
 *   { source: "the manifest's tools", rules: { deny: ["delete_*"] } },
 *   { source: "--tools", rules: { allow: ["read_file", "delete_all"] } },
 * ]);
 * console.log(filter.refusal({ name: "read_file" })); // undefined
 * console.log(filter.refusal({ name: "delete_all" }));
 * // it is excluded by the manifest's tools "delete_*"
 * ```
 */
export function toolFilter(layers: readonly ToolFilterLayer[]): ToolFilter {
  const kept = layers.filter(({ rules }) =>
    rules.allow !== undefined || (rules.deny?.length ?? 0) > 0 || rules.readOnly === true
  );
  for (const { source, rules } of kept) {
    for (const pattern of [...rules.allow ?? [], ...rules.deny ?? []]) {
      const problem = toolPatternProblem(pattern);
      if (problem) throw new TypeError(`${source}: ${problem}`);
    }
  }
  return {
    layers: kept,
    active: kept.length > 0,
    needsAnnotations: kept.some(({ rules }) => rules.readOnly === true),
    refusal(tool: ToolFacts): string | undefined {
      for (const layer of kept) {
        const why = layerRefusal(tool, layer);
        if (why) return why;
      }
      return undefined;
    },
    unmatched(names: readonly string[]): string[] {
      return kept.flatMap(({ source, rules }) =>
        (rules.allow ?? []).filter((pattern) => !names.some((name) => toolMatches(name, pattern)))
          .map((pattern) => `${source} "${pattern}"`)
      );
    },
  };
}

/** Options for {@linkcode toolFilterLayers}. */
export interface ToolFilterLayersOptions {
  /** The manifest's `tools` section. */
  manifest?: ToolRules;
  /** `--tools`: only these (names or globs, commas allowed). */
  tools?: string[];
  /** `--exclude-tools`: never these. */
  excludeTools?: string[];
}

/**
 * The layers of a launch: the manifest's section, then each CLI option as a layer of its own,
 * so an option can only narrow what the manifest lets through.
 *
 * @param options The manifest's section and the CLI's lists.
 * @returns The layers, for {@linkcode toolFilter}.
 *
 * @example
 * ```ts
 * import { toolFilter, toolFilterLayers } from "./tool_filter.ts";
 * const filter = toolFilter(toolFilterLayers({
 *   manifest: { allow: ["read_*"] },
 *   tools: ["read_file,delete_all"],
 * }));
 * console.log(filter.refusal({ name: "delete_all" }) !== undefined); // true
 * ```
 */
export function toolFilterLayers(options: ToolFilterLayersOptions): ToolFilterLayer[] {
  const split = (lists: string[]) => lists.flatMap((l) => l.split(",")).map((p) => p.trim());
  const layers: ToolFilterLayer[] = [];
  if (options.manifest) layers.push({ source: "the manifest's tools", rules: options.manifest });
  if (options.tools) layers.push({ source: "--tools", rules: { allow: split(options.tools) } });
  if (options.excludeTools) {
    layers.push({ source: "--exclude-tools", rules: { deny: split(options.excludeTools) } });
  }
  return layers;
}
