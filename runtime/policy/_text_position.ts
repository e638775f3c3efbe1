/**
 * Positions in text, for messages that point at a place in a file (a manifest, a client
 * config). Kept in policy, the lowest folder, so that every folder above can use it.
 *
 * @module
 */

/**
 * The 1-based line and column of an offset in text, as editors count them (a column in UTF-16
 * code units).
 *
 * @param text The whole text.
 * @param offset A 0-based offset into it.
 * @returns The line and column.
 */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}
