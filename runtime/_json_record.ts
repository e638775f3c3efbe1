/**
 * Records mcp-run keeps as JSON files in its own folders (denials, undo records).
 *
 * @module
 */

/**
 * Reads a JSON record mcp-run wrote earlier.
 *
 * @param path The record's file.
 * @param what What the record is, for the message (`a denials record`).
 * @returns The parsed value, or `undefined` when there is no such file.
 * @throws {SyntaxError} When the file is not JSON (the message names it and says to remove it).
 *
 * @example
 * ```ts
 * import { readJsonRecord } from "./_json_record.ts";
 * console.log(await readJsonRecord("/nonexistent/record.json", "a record")); // undefined
 * ```
 */
export async function readJsonRecord(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`"${path}" is not ${what}: remove it`, { cause: error });
  }
}
