/**
 * What changed between a server's approved definitions and those it lists now, in plain words:
 * `tool read_file: description changed: "Reads a file" → "Reads a file. <IMPORTANT>…"`,
 * `tool exfil added`, `prompt x removed`.
 *
 * @module
 */
import { canonicalJson, DEFINITION_KINDS, type DefinitionKind } from "./definition_hash.ts";
import type { PinnedSet } from "./pin_store.ts";

/** One field of a definition that changed. */
export interface FieldChange {
  /** The field (`description`, `inputSchema`, …). */
  field: string;
  /** Its approved value (absent when it was not there). */
  before?: unknown;
  /** Its value now (absent when it is gone). */
  after?: unknown;
}

/** One definition that differs from the approved set. */
export interface PinChange {
  /** What it defines. */
  kind: DefinitionKind;
  /** Its name. */
  name: string;
  /** Added (not approved), removed (approved, no longer listed) or changed. */
  change: "added" | "removed" | "changed";
  /** For a change, the fields that differ. */
  fields: FieldChange[];
}

/**
 * The differences between an approved set and the current one, kind by kind, names sorted.
 *
 * @param approved The pinned set.
 * @param current The set the server lists now.
 * @returns The changes; empty when they are the same.
 *
 * @example
 * ```ts
 * import { diffPins } from "./pin_diff.ts";
 * const empty = { tool: {}, prompt: {}, resourceTemplate: {} };
 * const now = { ...empty, tool: { x: { hash: "h", definition: { name: "x" } } } };
 * console.log(diffPins(empty, now).map((c) => c.change)); // ["added"]
 * ```
 */
export function diffPins(approved: PinnedSet, current: PinnedSet): PinChange[] {
  const changes: PinChange[] = [];
  for (const kind of DEFINITION_KINDS) {
    const before = approved[kind] ?? {};
    const after = current[kind] ?? {};
    const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const name of names) {
      const old = Object.hasOwn(before, name) ? before[name] : undefined;
      const now = Object.hasOwn(after, name) ? after[name] : undefined;
      if (!old) changes.push({ kind, name, change: "added", fields: [] });
      else if (!now) changes.push({ kind, name, change: "removed", fields: [] });
      else if (old.hash !== now.hash) {
        changes.push({ kind, name, change: "changed", fields: fieldChanges(old, now) });
      }
    }
  }
  return changes;
}

function fieldChanges(
  old: { definition: Record<string, unknown> },
  now: { definition: Record<string, unknown> },
): FieldChange[] {
  const fields = [...new Set([...Object.keys(old.definition), ...Object.keys(now.definition)])];
  return fields.flatMap((field) => {
    const before = old.definition[field];
    const after = now.definition[field];
    if (canonicalJson(before ?? null) === canonicalJson(after ?? null)) return [];
    const change: FieldChange = { field };
    if (before !== undefined) change.before = before;
    if (after !== undefined) change.after = after;
    return [change];
  });
}

/** The kind as a word. */
const KIND_WORDS: Record<DefinitionKind, string> = {
  tool: "tool",
  prompt: "prompt",
  resourceTemplate: "resource template",
};

/** Options for {@linkcode describeChange} and {@linkcode describeDefinition}. */
export interface DescribeOptions {
  /**
   * The most characters shown of one value (default 300, enough to read an injected sentence in
   * a log line); `Infinity` shows every character, as `mcp-run approve` does.
   */
  limit?: number;
}

/**
 * One change in plain words, on one line: `tool exfil added`, `prompt x removed`, or
 * `tool read_file: description changed: "old" → "new"` (fields separated by `; `). Text the
 * server chose is quoted with control, invisible and bidirectional characters shown as
 * `\u{…}` escapes, so it cannot hide or rewrite what the terminal shows. A changed value too long
 * to show whole is shown from a little before where the two differ to a little after, so what
 * was appended or inserted is what is read.
 *
 * @param change The change.
 * @param options How much of each value to show.
 * @returns One line.
 *
 * @example
 * ```ts
 * import { describeChange } from "./pin_diff.ts";
 * console.log(describeChange({ kind: "tool", name: "exfil", change: "added", fields: [] }));
 * // tool exfil added
 * ```
 */
export function describeChange(change: PinChange, options: DescribeOptions = {}): string {
  const what = `${KIND_WORDS[change.kind]} ${printable(change.name)}`;
  if (change.change !== "changed") return `${what} ${change.change}`;
  const limit = options.limit ?? BRIEF;
  return `${what}: ${change.fields.map((f) => describeField(f, limit)).join("; ")}`;
}

/**
 * One definition in plain words, on one line: its kind, name, title and description (quoted and
 * escaped as in {@linkcode describeChange}), and the names of its arguments.
 *
 * @param kind What it defines.
 * @param definition Its pinned fields.
 * @param options How much of each text to show.
 * @returns One line.
 *
 * @example
 * ```ts
 * import { describeDefinition } from "./pin_diff.ts";
 * const tool = { name: "read_file", description: "Reads a file", inputSchema: { properties: { path: {} } } };
 * console.log(describeDefinition("tool", tool)); // tool read_file: "Reads a file" (arguments: path)
 * ```
 */
export function describeDefinition(
  kind: DefinitionKind,
  definition: Record<string, unknown>,
  options: DescribeOptions = {},
): string {
  const parts = [`${KIND_WORDS[kind]} ${printable(String(definition.name))}`];
  const text = [definition.title, definition.description].filter((t) => t !== undefined);
  const limit = options.limit ?? BRIEF;
  const said = text.length ? `: ${text.map((t) => brief(t, limit)).join(" — ")}` : "";
  const schema = definition.inputSchema;
  const args = kind === "prompt"
    ? (Array.isArray(definition.arguments) ? definition.arguments : []).map((a) => a?.name)
    : isObject(schema) && isObject(schema.properties)
    ? Object.keys(schema.properties)
    : [];
  const listed = args.length
    ? ` (arguments: ${args.map((a) => printable(String(a))).join(", ")})`
    : "";
  return `${parts[0]}${said}${listed}`;
}

function describeField(change: FieldChange, limit: number): string {
  const { field, before, after } = change;
  if (before === undefined) return `${field} added: ${brief(after, limit)}`;
  if (after === undefined) return `${field} removed (was ${brief(before, limit)})`;
  if (
    isObject(before) && isObject(after) && (field === "inputSchema" || field === "outputSchema")
  ) {
    return `${field} changed: ${schemaChange(before, after, limit)}`;
  }
  return `${field} changed: ${contrast(before, after, limit)}`;
}

/** A schema's change by property, where the properties say it; else its text. */
function schemaChange(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  limit: number,
): string {
  const props = (s: Record<string, unknown>) =>
    isObject(s.properties) ? s.properties as Record<string, unknown> : {};
  const [old, now] = [props(before), props(after)];
  const parts: string[] = [];
  for (const name of [...new Set([...Object.keys(old), ...Object.keys(now)])].sort()) {
    const quoted = `"${printable(name)}"`;
    if (!Object.hasOwn(old, name)) parts.push(`property ${quoted} added`);
    else if (!Object.hasOwn(now, name)) parts.push(`property ${quoted} removed`);
    else if (canonicalJson(old[name]) !== canonicalJson(now[name])) {
      parts.push(`property ${quoted} changed: ${contrast(old[name], now[name], limit)}`);
    }
  }
  const rest = (s: Record<string, unknown>) => canonicalJson({ ...s, properties: undefined });
  if (rest(before) !== rest(after)) parts.push(contrast(before, after, limit));
  return parts.join(", ") || contrast(before, after, limit);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

/** The most of one value shown by default, in characters: enough to read an injected sentence. */
const BRIEF = 300;
/** Around the part of two values that differs, this much of what they share is shown. */
const CONTEXT = 40;

/** A value as quoted text (canonical JSON when not a string). */
function textOf(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : canonicalJson(value ?? null);
}

/** A value as quoted, escaped text, cut at `limit` characters. */
function brief(value: unknown, limit: number): string {
  const shown = printable(textOf(value));
  return shown.length > limit ? `${shown.slice(0, limit - 1)}…` : shown;
}

/**
 * Two values as `before → after`. When either is longer than a line's worth (or `limit`), what
 * they share at the start and at the end is dropped (but for some context) and the rest is cut at
 * `limit`: a long description with an injection appended would otherwise read as two identical
 * prefixes.
 */
function contrast(before: unknown, after: unknown, limit: number): string {
  const [a, b] = [textOf(before), textOf(after)];
  const whole = Math.min(limit, BRIEF);
  if (printable(a).length <= whole && printable(b).length <= whole) {
    return `${printable(a)} → ${printable(b)}`;
  }
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  const most = Math.min(a.length, b.length) - start;
  while (end < most && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  start = back(a, start);
  const shown = (t: string) => around(t, start, ahead(t, t.length - end), limit);
  return `${shown(a)} → ${shown(b)}`;
}

/** The part `from`–`to` of a text, bounded, with some context either side; escaped. */
function around(text: string, from: number, to: number, limit: number): string {
  const lead = back(text, Math.max(0, from - CONTEXT));
  const tail = ahead(text, Math.min(text.length, to + CONTEXT));
  let middle = printable(text.slice(from, to));
  if (middle.length > limit) middle = `${middle.slice(0, limit - 1)}…`;
  return (lead > 0 ? "…" : "") + printable(text.slice(lead, from)) + middle +
    printable(text.slice(to, tail)) + (tail < text.length ? "…" : "");
}

/** Whether the code unit at `i` is the second half of a surrogate pair. */
function splitsPair(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  return i > 0 && i < text.length && code >= 0xdc00 && code <= 0xdfff;
}

/** `i`, moved back so it does not split a character. */
function back(text: string, i: number): number {
  return splitsPair(text, i) ? i - 1 : i;
}

/** `i`, moved on so it does not split a character. */
function ahead(text: string, i: number): number {
  return splitsPair(text, i) ? i + 1 : i;
}

/** Text with control, bidirectional, zero-width and tag characters shown as escapes. */
function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

const UNPRINTABLE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;
