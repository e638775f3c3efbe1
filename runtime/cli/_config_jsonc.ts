/**
 * The user's config file when its JSONC is not plain (see `readPlainJsonc`), read by
 * jsonc-parser, which is loaded only then.
 *
 * @module
 */
import { parse, type ParseError } from "jsonc-parser";
import { syntaxProblems } from "../policy/manifest_text.ts";

/**
 * Reads JSONC text with jsonc-parser.
 *
 * @param text The file's text.
 * @param file The file's path, for the message.
 * @returns The value.
 * @throws {SyntaxError} Naming the file, the line and column of the first problem, and the
 *   problem, when the text is not JSONC.
 *
 * @example
 * ```ts
 * import { readConfigJsonc } from "./_config_jsonc.ts";
 * console.log(readConfigJsonc(`{ "a": 1, "a": 2 }`, "c.json")); // { a: 2 }
 * ```
 */
export function readConfigJsonc(text: string, file: string): unknown {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    // The same words as for a manifest's syntax errors.
    const [first] = syntaxProblems(text, errors);
    throw new SyntaxError(
      `Cannot read "${file}" (line ${first.line}, column ${first.column}): ${first.message}`,
    );
  }
  return value;
}
