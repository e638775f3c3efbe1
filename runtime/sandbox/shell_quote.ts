/**
 * POSIX shell quoting for printing exact command lines.
 *
 * @module
 */

/**
 * Quotes each argument for a POSIX shell (only where needed) and joins them with spaces, so the
 * printed line can be pasted and runs the same argv.
 *
 * @param args The argv.
 * @returns A command line.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./shell_quote.ts";
 * console.log(shellQuote(["deno", "run", "--allow-read=/my files", "it's"]));
 * // deno run '--allow-read=/my files' 'it'\''s'
 * ```
 */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}
