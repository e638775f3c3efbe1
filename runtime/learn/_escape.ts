/**
 * Escaping for text a server chose (tool names, call results, paths, hosts) before it reaches a
 * report, a terminal or a comment: control and invisible characters are shown as `\uXXXX`, so the
 * text cannot move the cursor, recolour the terminal, reorder what is shown, or start a line of
 * its own that reads like mcp-run's.
 *
 * @module
 */

/** Longest server-chosen value quoted in a report; the rest is cut with `…`. */
export const MAX_QUOTED = 300;

/**
 * Escapes control, bidirectional and invisible characters as `\uXXXX`.
 *
 * @param text Text the server chose.
 * @returns The text, every such character escaped.
 *
 * @example
 * ```ts
 * import { escapeText } from "./_escape.ts";
 * console.log(escapeText("a\nb\u001b[2J")); // a\u000ab\u001b[2J
 * ```
 */
export function escapeText(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Bounds the length of a value the server chose.
 *
 * @param text Text the server chose.
 * @param max Most characters kept (default {@linkcode MAX_QUOTED}).
 * @returns The text, cut with `…` when longer.
 *
 * @example
 * ```ts
 * import { cutText } from "./_escape.ts";
 * console.log(cutText("abcdef", 3)); // abc…
 * ```
 */
export function cutText(text: string, max: number = MAX_QUOTED): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A value the server chose, fit for one line of a report: bounded, then escaped.
 *
 * @param text Text the server chose.
 * @param max Most characters kept before escaping (default {@linkcode MAX_QUOTED}).
 * @returns The text, cut and escaped.
 *
 * @example
 * ```ts
 * import { quoteText } from "./_escape.ts";
 * console.log(quoteText("ok\nMCP-RUN: all granted")); // ok\u000aMCP-RUN: all granted
 * ```
 */
export function quoteText(text: string, max: number = MAX_QUOTED): string {
  return escapeText(cutText(text, max));
}
