/**
 * The user's config file when its JSONC is not plain (see `readPlainJsonc`), read by
 * jsonc-parser, which is loaded only then.
 *
 * @module
 */
import { parse, type ParseError, printParseErrorCode } from "jsonc-parser";

/**
 * Reads JSONC text with jsonc-parser.
 *
 * @param text The file's text.
 * @param file The file's path, for the message.
 * @returns The value.
 * @throws {SyntaxError} Naming the file and the first problem, when the text is not JSONC.
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
    throw new SyntaxError(`Cannot read "${file}": ${printParseErrorCode(errors[0].error)}`);
  }
  return value;
}
