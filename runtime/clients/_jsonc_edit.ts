// Minimal-diff edits of JSON-with-comments text. jsonc-parser parses and locates nodes; the
// edits are computed here rather than with its `modify`, whose formatter rewrites whole
// neighbouring lines (it reflowed `{"a": 1,}` and moved trailing comments in experiments).
// Every byte outside the edited member is kept: comments, order, trailing commas, tabs, CRLF.
import {
  createScanner,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
  type SyntaxKind,
} from "jsonc-parser";
import {
  applySplices,
  bomOf,
  detectEol,
  detectIndentUnit,
  indentAt,
  lineColumn,
  lineStart,
  type Splice,
  startsLine,
} from "./_text.ts";

// Token kinds of jsonc-parser's scanner (its `SyntaxKind` is a const enum, which isolated
// modules cannot read).
const Token = {
  Comma: 5 as SyntaxKind,
  LineComment: 12 as SyntaxKind,
  BlockComment: 13 as SyntaxKind,
  LineBreak: 14 as SyntaxKind,
  Whitespace: 15 as SyntaxKind,
  EOF: 17 as SyntaxKind,
};

/** A path of object keys and array indices from the root. */
export type JsonPath = (string | number)[];

/**
 * Parse `text` as JSON with comments and trailing commas.
 * @returns The root node, or undefined for a file with no content.
 * @throws {SyntaxError} With line and column of the first error.
 * @throws {TypeError} If the top level is not an object.
 */
export function parseJsonc(text: string, file: string): Node | undefined {
  const body = text.slice(bomOf(text).length);
  const errors: ParseError[] = [];
  const root = parseTree(body, errors, { allowTrailingComma: true, allowEmptyContent: true });
  if (errors.length > 0) {
    const { line, column } = lineColumn(body, errors[0].offset);
    const what = printParseErrorCode(errors[0].error).replace(/([a-z])([A-Z])/g, "$1 $2")
      .toLowerCase();
    throw new SyntaxError(
      `Cannot parse "${file}": ${what} at line ${line}, column ${column}; ` +
        `fix the file and try again (it was left untouched)`,
    );
  }
  if (root && root.type !== "object") {
    throw new TypeError(
      `Cannot edit "${file}": its top level is ${article(root.type)}, not an object`,
    );
  }
  return root;
}

/**
 * The value at `path` in `text` (which must parse), made of plain objects and arrays;
 * undefined if absent. Only that node is converted, so reading one entry of a large file is
 * cheap.
 */
export function jsoncValueAt(text: string, file: string, path: JsonPath): unknown {
  return valueOf(findNode(parseJsonc(text.slice(bomOf(text).length), file), path, file));
}

/**
 * The entry `key` of the object at `container` (one parse): undefined if either is absent.
 * @throws {TypeError} If the container exists and is neither an object nor null.
 */
export function jsoncEntry(text: string, file: string, container: string, key: string): unknown {
  const root = parseJsonc(text.slice(bomOf(text).length), file);
  const node = findNode(root, [container], file);
  if (!node || node.type === "null") return undefined;
  if (node.type !== "object") {
    throw new TypeError(`Cannot read "${file}": "${container}" is not an object`);
  }
  return valueOf(findNode(node, [key], file));
}

/** A node's value as plain objects (getNodeValue builds null-prototype ones). */
function valueOf(node: Node | undefined): unknown {
  return node ? JSON.parse(JSON.stringify(getNodeValue(node))) : undefined;
}

/**
 * Find the node at `path`, refusing duplicate keys along the way (JSON readers disagree on
 * which of two equal keys wins).
 */
export function findNode(root: Node | undefined, path: JsonPath, file: string): Node | undefined {
  let node = root;
  for (let i = 0; i < path.length && node; i++) {
    const seg = path[i];
    if (node.type === "object" && typeof seg === "string") {
      const props = (node.children ?? []).filter((p) => p.children?.[0]?.value === seg);
      if (props.length > 1) {
        throw new SyntaxError(
          `Cannot edit "${file}": key "${path.slice(0, i + 1).join(".")}" appears ` +
            `${props.length} times; remove the duplicates and try again`,
        );
      }
      node = props[0]?.children?.[1];
    } else if (node.type === "array" && typeof seg === "number") {
      node = node.children?.[seg];
    } else {
      return undefined;
    }
  }
  return node;
}

/**
 * Set the value at `path` (object keys only), creating missing objects along the way.
 * @throws {TypeError} If a node on the path exists but is not an object.
 */
export function jsoncSet(text: string, file: string, path: string[], value: unknown): string {
  const bom = bomOf(text);
  const body = text.slice(bom.length);
  const fmt = formatOf(body);
  const root = parseJsonc(body, file);
  if (!root) {
    if (body.trim() !== "") {
      throw new SyntaxError(`Cannot edit "${file}": it holds only comments, no JSON object`);
    }
    return bom + stringifyAt(nest(path, value), "", fmt) + fmt.eol;
  }
  let node: Node = root;
  for (let i = 0; i < path.length; i++) {
    findNode(node, [path[i]], file); // refuses duplicate keys
    const prop = propertyOf(node, path[i]);
    if (!prop) {
      const rest = nest(path.slice(i + 1), value);
      return bom + applySplices(body, insertMember(body, node, fmt, path[i], rest));
    }
    const child = prop.children![1];
    if (i === path.length - 1) {
      const compact = !body.slice(node.offset, node.offset + node.length).includes("\n");
      const content = compact
        ? JSON.stringify(value)
        : stringifyAt(value, indentAt(body, prop.offset), fmt);
      return bom + applySplices(body, [{ offset: child.offset, length: child.length, content }]);
    }
    if (child.type !== "object") {
      throw new TypeError(
        `Cannot edit "${file}": "${path.slice(0, i + 1).join(".")}" is ` +
          `${article(child.type)}, not an object`,
      );
    }
    node = child;
  }
  return text;
}

/**
 * Append `value` to the array at `path`, creating it (and missing objects) if absent.
 * @throws {TypeError} If the node at `path` exists but is not an array.
 */
export function jsoncAppend(text: string, file: string, path: string[], value: unknown): string {
  const bom = bomOf(text);
  const body = text.slice(bom.length);
  const node = findNode(parseJsonc(body, file), path, file);
  if (!node) return jsoncSet(text, file, path, [value]);
  if (node.type !== "array") {
    throw new TypeError(`Cannot edit "${file}": "${path.join(".")}" is not an array`);
  }
  return bom + applySplices(body, insertMember(body, node, formatOf(body), undefined, value));
}

/** Delete the member at `path` (object key or array index); unchanged if absent. */
export function jsoncDelete(text: string, file: string, path: JsonPath): string {
  const bom = bomOf(text);
  const body = text.slice(bom.length);
  const root = parseJsonc(body, file);
  const parent = findNode(root, path.slice(0, -1), file);
  const last = path[path.length - 1];
  if (!parent || !findNode(parent, [last], file)) return text;
  const index = parent.type === "object"
    ? parent.children!.findIndex((p) => p.children?.[0]?.value === last)
    : last as number;
  const edited = applySplices(body, removeMember(body, parent, index));
  return bom + collapseIfEmpty(edited, path.slice(0, -1), file);
}

interface Format {
  eol: string;
  unit: string;
}

function formatOf(text: string): Format {
  return { eol: detectEol(text), unit: detectIndentUnit(text) };
}

function article(type: string): string {
  return (/^[aeiou]/.test(type) ? "an " : "a ") + type;
}

function nest(path: string[], value: unknown): unknown {
  return path.reduceRight<unknown>((v, key) => ({ [key]: v }), value);
}

function propertyOf(obj: Node, key: string): Node | undefined {
  return obj.children?.find((p) => p.children?.[0]?.value === key);
}

/** Pretty JSON whose continuation lines start with `indent`. */
function stringifyAt(value: unknown, indent: string, fmt: Format): string {
  return JSON.stringify(value, null, fmt.unit).split("\n").join(fmt.eol + indent);
}

/** Scan tokens from `pos`, calling `visit` until it returns false or `end` is reached. */
function scan(
  text: string,
  pos: number,
  end: number,
  visit: (kind: SyntaxKind, offset: number, length: number) => boolean,
): void {
  const s = createScanner(text, false);
  s.setPosition(pos);
  for (let k = s.scan(); k !== Token.EOF && s.getTokenOffset() < end; k = s.scan()) {
    if (!visit(k, s.getTokenOffset(), s.getTokenLength())) return;
  }
}

function isTrivia(kind: SyntaxKind): boolean {
  return kind === Token.Whitespace || kind === Token.LineBreak ||
    kind === Token.LineComment || kind === Token.BlockComment;
}

/** Splices adding a member (a property if `key` is given, else an element) at the end. */
function insertMember(
  text: string,
  container: Node,
  fmt: Format,
  key: string | undefined,
  value: unknown,
): Splice[] {
  const open = container.offset;
  const close = container.offset + container.length - 1;
  const members = container.children ?? [];
  const last = members[members.length - 1];
  const lastEnd = last ? last.offset + last.length : open + 1;
  const baseIndent = indentAt(text, open);
  const render = (indent: string) =>
    (key === undefined ? "" : JSON.stringify(key) + ": ") + stringifyAt(value, indent, fmt);

  // A trailing comma after the last member, and the line break that ends its line.
  let comma = -1;
  let lineBreak = -1;
  scan(text, lastEnd, close, (kind, offset) => {
    if (kind === Token.Comma) comma = offset;
    else if (kind === Token.LineBreak && lineBreak < 0) lineBreak = offset;
    return true;
  });
  if (comma >= 0 && lineBreak >= 0 && lineBreak < comma) {
    // The comma sits on a later line: insert after it, at the end of its line.
    lineBreak = -1;
    scan(text, comma, close, (kind, offset) => {
      if (kind === Token.LineBreak) {
        lineBreak = offset;
        return false;
      }
      return true;
    });
  }
  const multiline = text.slice(open, close).includes("\n");

  if (members.length === 0 && text.slice(open + 1, close).trim() === "") {
    const indent = baseIndent + fmt.unit;
    return [{
      offset: open,
      length: container.length,
      content: text[open] + fmt.eol + indent + render(indent) + fmt.eol + baseIndent + text[close],
    }];
  }
  if (!multiline) {
    const spaced = /[,:]\s/.test(text.slice(open, close + 1));
    const sep = spaced ? ", " : ",";
    const member = (key === undefined ? "" : JSON.stringify(key) + (spaced ? ": " : ":")) +
      JSON.stringify(value);
    if (members.length === 0) {
      return [{ offset: close, length: 0, content: (spaced ? " " : "") + member }];
    }
    return comma >= 0
      ? [{ offset: comma + 1, length: 0, content: (spaced ? " " : "") + member + "," }]
      : [{ offset: lastEnd, length: 0, content: sep + member }];
  }
  const indent = last && startsLine(text, last.offset)
    ? indentAt(text, last.offset)
    : baseIndent + fmt.unit;
  const splices: Splice[] = [];
  if (last && comma < 0) splices.push({ offset: lastEnd, length: 0, content: "," });
  const member = render(indent) + (comma >= 0 ? "," : "");
  if (lineBreak >= 0) {
    splices.push({ offset: lineBreak, length: 0, content: fmt.eol + indent + member });
  } else {
    splices.push({
      offset: close,
      length: 0,
      content: fmt.eol + indent + member + fmt.eol + baseIndent,
    });
  }
  return splices;
}

/** Splices deleting member `index` of `container` with its comma and, if alone, its line. */
function removeMember(text: string, container: Node, index: number): Splice[] {
  const members = container.children!;
  const member = members[index];
  const start = member.offset;
  const end = member.offset + member.length;
  const close = container.offset + container.length - 1;

  let commaAfter = -1;
  scan(text, end, close + 1, (kind, offset) => {
    if (kind === Token.Comma) commaAfter = offset;
    return kind === Token.Whitespace;
  });
  let commaBefore = -1;
  if (index > 0) {
    const prev = members[index - 1];
    scan(text, prev.offset + prev.length, start, (kind, offset) => {
      if (kind === Token.Comma) {
        commaBefore = offset;
        return false;
      }
      return isTrivia(kind);
    });
  }
  const endAfter = commaAfter >= 0 ? commaAfter + 1 : end;

  if (startsLine(text, start)) {
    // Own line: take the rest of the line too when only spaces or a line comment follow.
    let lineEnd = -1;
    scan(text, endAfter, text.length, (kind, offset, length) => {
      if (kind === Token.LineBreak) {
        lineEnd = offset + length;
        return false;
      }
      return kind === Token.Whitespace || kind === Token.LineComment;
    });
    const splices: Splice[] = [];
    if (commaAfter < 0 && commaBefore >= 0) {
      splices.push({ offset: commaBefore, length: 1, content: "" });
    }
    const from = lineEnd >= 0 ? lineStart(text, start) : start;
    const to = lineEnd >= 0 ? lineEnd : endAfter;
    splices.push({ offset: from, length: to - from, content: "" });
    return splices;
  }
  // Inline: take the comma before (a trailing comma after stays with the previous member),
  // or, for the first member, the comma and spaces after.
  if (commaBefore >= 0) return [{ offset: commaBefore, length: end - commaBefore, content: "" }];
  let to = endAfter;
  while (commaAfter >= 0 && (text[to] === " " || text[to] === "\t")) to++;
  return [{ offset: start, length: to - start, content: "" }];
}

/** Turn a container left with only whitespace into `{}` / `[]`. */
function collapseIfEmpty(text: string, path: JsonPath, file: string): string {
  const node = findNode(parseJsonc(text, file), path, file);
  if (!node || (node.children ?? []).length > 0) return text;
  const inner = text.slice(node.offset + 1, node.offset + node.length - 1);
  if (inner === "" || inner.trim() !== "") return text;
  return applySplices(text, [{ offset: node.offset + 1, length: inner.length, content: "" }]);
}
