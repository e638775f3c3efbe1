/**
 * Manifest text as text: JSONC read with jsonc-parser, syntax errors in words, nesting depth,
 * duplicate keys, and the line and column of a JSON path, so that every problem points at its
 * place in the file.
 *
 * @module
 */
import {
  createScanner,
  findNodeAtLocation,
  type JSONPath,
  type Node,
  parse as parseJsonc,
  type ParseError,
  parseTree,
  printParseErrorCode,
  visit,
} from "jsonc-parser";
import {
  type Manifest,
  ManifestError,
  type ManifestProblem,
  type ParseManifestOptions,
} from "./manifest.ts";
import type { Json } from "./_manifest_checker.ts";
import { manifestFromValue } from "./_manifest_value.ts";
import { MAX_DEPTH } from "./manifest_schema.ts";
import { join } from "./_manifest_checker.ts";
import { lineColumn } from "./_text_position.ts";

/** jsonc-parser's error codes, in words. */
const SYNTAX_ERRORS: Record<string, string> = {
  InvalidSymbol: "unexpected character",
  InvalidNumberFormat: "not a valid number",
  PropertyNameExpected: "a quoted key is expected",
  ValueExpected: "a value is expected",
  ColonExpected: "a colon is expected",
  CommaExpected: "a comma is expected",
  CloseBraceExpected: "a closing brace is expected",
  CloseBracketExpected: "a closing bracket is expected",
  EndOfFileExpected: "text after the end of the manifest",
  InvalidCommentToken: "not a valid comment",
  UnexpectedEndOfComment: "a comment is not closed",
  UnexpectedEndOfString: "a string is not closed",
  UnexpectedEndOfNumber: "a number is cut short",
  InvalidUnicode: "not a valid \\u escape",
  InvalidEscapeCharacter: "not a valid escape",
  InvalidCharacter: "a control character inside a string",
};

/**
 * Parses and validates manifest text (JSONC).
 *
 * Every problem is collected: unknown fields, wrong types, version ranges, reserved environment
 * names, placeholders that name no parameter, and grants that are never allowed in a manifest.
 *
 * @param text The manifest's JSONC text.
 * @param options The file name for messages.
 * @returns The validated manifest with defaults filled in.
 * @throws {ManifestError} When the text is not valid JSONC or any field is wrong.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest_text.ts";
 * const manifest = parseManifest(`{
 *   // comments are fine
 *   "name": "time",
 *   "description": "Current time",
 *   "package": "npm:@example/time-server@1.0.0",
 * }`);
 * console.log(manifest.permissions.net); // []
 * ```
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): Manifest {
  // A byte order mark is not part of the JSON text; editors on Windows often write one.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  // Checked before any parser recurses, so deep nesting is a problem, not a stack overflow.
  const tooDeep = nestingProblem(text);
  if (tooDeep) throw new ManifestError([tooDeep], options.file);
  if (text.trim() === "") {
    throw new ManifestError([{
      path: "",
      message: "the file is empty: a manifest is a JSON object with at least name, description " +
        "and package",
    }], options.file);
  }
  const errors: ParseError[] = [];
  const raw = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false }) as
    | Json
    | undefined;
  if (errors.length > 0) throw new ManifestError(syntaxProblems(text, errors), options.file);
  const { manifest, problems } = manifestFromValue(raw, duplicateKeys(text));
  if (!manifest) {
    throw new ManifestError(
      problems.map((p) => p.line ? p : { ...p, ...locate(text, p.path) }),
      options.file,
    );
  }
  return manifest;
}

/** The first bracket that nests deeper than {@linkcode MAX_DEPTH}, found without recursion. */
export function nestingProblem(text: string): ManifestProblem | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  // Token kinds (a const enum in jsonc-parser): 1 `{`, 2 `}`, 3 `[`, 4 `]`, 17 end of text.
  for (let token = scanner.scan(); token !== 17; token = scanner.scan()) {
    if (token === 1 || token === 3) depth++;
    else if ((token === 2 || token === 4) && depth > 0) depth--;
    if (depth > MAX_DEPTH) {
      return {
        path: "",
        message: `nested more than ${MAX_DEPTH} levels deep: a manifest needs only a few ` +
          "levels of objects and lists; remove the extra nesting",
        ...lineColumn(text, scanner.getTokenOffset()),
      };
    }
  }
  return undefined;
}

/** Keys given twice in one object: a JSON reader silently keeps only the last one. */
export function duplicateKeys(text: string): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const objects: Map<string, number>[] = [];
  visit(text, {
    onObjectBegin: () => {
      objects.push(new Map());
    },
    onObjectEnd: () => {
      objects.pop();
    },
    onObjectProperty: (key, offset, _length, _line, _column, path) => {
      const seen = objects.at(-1);
      const first = seen?.get(key);
      if (first === undefined) {
        seen?.set(key, offset);
        return;
      }
      const at = lineColumn(text, first);
      problems.push({
        path: jsonPath([...path(), key]),
        message: `duplicate key: "${key}" is also at line ${at.line}, column ${at.column}; ` +
          "keep one (only the last would count)",
        ...lineColumn(text, offset),
      });
    },
  }, { allowTrailingComma: true, disallowComments: false });
  return problems;
}

/** Formats a jsonc-parser path the way problems name fields: `permissions.net[2]`. */
function jsonPath(segments: JSONPath): string {
  let out = "";
  for (const seg of segments) out = typeof seg === "number" ? `${out}[${seg}]` : join(out, seg);
  return out;
}

/** Finds the line of a JSON path's value by walking the JSONC tree. */
export function locate(text: string, path: string): { line?: number; column?: number } {
  if (!path) return {};
  const segments: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  }
  let node: Node | undefined = parseTree(text, [], { allowTrailingComma: true });
  let found = node;
  for (const seg of segments) {
    node = node && findNodeAtLocation(node, [seg]);
    if (!node) break;
    found = node;
  }
  return found ? lineColumn(text, found.offset) : {};
}

/**
 * The problems of text that is not valid JSONC, in words, each with its line and column; the
 * first one says what a manifest file must be.
 */
export function syntaxProblems(text: string, errors: ParseError[]): ManifestProblem[] {
  return errors.map((e, i) => {
    const code = printParseErrorCode(e.error);
    const hint = i === 0
      ? "; the file must be UTF-8 JSON, with comments and trailing commas allowed"
      : "";
    return {
      path: "",
      message: `not valid JSONC: ${SYNTAX_ERRORS[code] ?? code} (${code})${hint}`,
      ...lineColumn(text, e.offset),
    };
  });
}
