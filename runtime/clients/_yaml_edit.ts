// Minimal-diff edits of YAML text. The `yaml` package parses and gives source ranges; edits
// splice only the lines of the edited entry, so comments, quoting and layout elsewhere stay
// byte for byte. Every result is re-parsed and compared with the expected value; if a layout
// defeats the splice (flow collections, unusual keys), the document API of `yaml` is used,
// which still keeps comments.
import { isDeepStrictEqual } from "node:util";
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type YAMLSeq,
} from "yaml";
import {
  applySplices,
  detectEol,
  lineColumn,
  lineEndAfter,
  lineStart,
  startsLine,
} from "./_text.ts";

type YamlDoc = Document.Parsed;
type Plain = Record<string, unknown>;

/**
 * Parse one YAML document.
 * @throws {SyntaxError} With line and column of the first error.
 * @throws {TypeError} If the top level is not a mapping.
 */
export function parseYaml(text: string, file: string): YamlDoc {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const { line, column } = lineColumn(text, error.pos[0]);
    const what = error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new SyntaxError(
      `Cannot parse "${file}": ${what} at line ${line}, column ${column}; ` +
        `fix the file and try again (it was left untouched)`,
      { cause: error },
    );
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new TypeError(`Cannot edit "${file}": its top level is not a mapping`);
  }
  return doc;
}

/** The JavaScript value of YAML `text` (which must parse); `{}` for an empty document. */
export function yamlValue(text: string, file: string): Plain {
  return (parseYaml(text, file).toJS() ?? {}) as Plain;
}

/** Set `root[containerKey][key] = value`, creating the mapping if missing. */
export function yamlSetMapEntry(
  text: string,
  file: string,
  containerKey: string,
  key: string,
  value: unknown,
): string {
  const doc = parseYaml(text, file);
  const before = (doc.toJS() ?? {}) as Plain;
  const container = containerOf(before, containerKey, file);
  const expected = { ...before, [containerKey]: { ...container, [key]: value } };
  return verified(
    doc,
    file,
    expected,
    () => spliceMapSet(text, doc, containerKey, key, value),
    () => {
      ensureBlockMap(doc, containerKey);
      doc.setIn([containerKey, key], doc.createNode(value));
    },
  );
}

/** Delete `root[containerKey][key]`; unchanged if absent. An emptied mapping becomes `{}`. */
export function yamlDeleteMapEntry(
  text: string,
  file: string,
  containerKey: string,
  key: string,
): string {
  const doc = parseYaml(text, file);
  const before = (doc.toJS() ?? {}) as Plain;
  const container = containerOf(before, containerKey, file);
  if (!(key in container)) return text;
  const { [key]: _gone, ...rest } = container;
  const expected = { ...before, [containerKey]: rest };
  return verified(doc, file, expected, () => spliceMapDelete(text, doc, containerKey, key), () => {
    doc.deleteIn([containerKey, key]);
  });
}

/**
 * Set the item of list `root[containerKey]` whose `name` is `name`, appending it if missing.
 * An empty `text` becomes `header` plus the list.
 */
export function yamlSetListEntry(
  text: string,
  file: string,
  containerKey: string,
  value: Plain & { name: string },
  header: Plain,
): string {
  if (text.trim() === "") {
    return render({ ...header, [containerKey]: [value] }, "", 2, detectEol(text));
  }
  const doc = parseYaml(text, file);
  const before = (doc.toJS() ?? {}) as Plain;
  const list = listOf(before, containerKey, file);
  const index = list.findIndex((item) => nameOf(item) === value.name);
  const items = index >= 0 ? list.with(index, value) : [...list, value];
  const expected = { ...before, [containerKey]: items };
  return verified(doc, file, expected, () => spliceListSet(text, doc, containerKey, value), () => {
    doc.set(containerKey, doc.createNode(items));
  });
}

/**
 * Delete the item of list `root[containerKey]` named `name`; unchanged if absent.
 * @returns The new text, or null when nothing but `headerKeys` and an empty list would remain
 *   (the file should then be deleted).
 */
export function yamlDeleteListEntry(
  text: string,
  file: string,
  containerKey: string,
  name: string,
  headerKeys: readonly string[],
): string | null {
  const doc = parseYaml(text, file);
  const before = (doc.toJS() ?? {}) as Plain;
  const list = listOf(before, containerKey, file);
  const rest = list.filter((item) => nameOf(item) !== name);
  if (rest.length === list.length) return text;
  if (
    rest.length === 0 &&
    Object.keys(before).every((k) => k === containerKey || headerKeys.includes(k))
  ) {
    return null;
  }
  const expected = { ...before, [containerKey]: rest };
  return verified(
    doc,
    file,
    expected,
    () => spliceListDelete(text, doc, containerKey, name),
    () => {
      doc.set(containerKey, doc.createNode(rest));
    },
  );
}

/** The entry name of a list item, if it is a mapping with a string `name`. */
function nameOf(item: unknown): string | undefined {
  return item !== null && typeof item === "object" && typeof (item as Plain).name === "string"
    ? (item as Plain).name as string
    : undefined;
}

function containerOf(root: Plain, key: string, file: string): Plain {
  const value = root[key];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`Cannot edit "${file}": "${key}" is not a mapping`);
  }
  return value as Plain;
}

function listOf(root: Plain, key: string, file: string): unknown[] {
  const value = root[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError(`Cannot edit "${file}": "${key}" is not a list`);
  return value;
}

/**
 * Run `splice`; if its result does not parse to `expected`, apply `viaDocument` to `doc` and
 * print that instead. Throws if neither yields `expected` (the file is then left untouched).
 */
function verified(
  doc: YamlDoc,
  file: string,
  expected: Plain,
  splice: () => string | undefined,
  viaDocument: () => void,
): string {
  const matches = (out: string) => {
    try {
      return isDeepStrictEqual(parseYaml(out, file).toJS() ?? {}, expected);
    } catch {
      return false;
    }
  };
  const spliced = splice();
  if (spliced !== undefined && matches(spliced)) return spliced;
  viaDocument();
  const printed = doc.toString({ lineWidth: 0 });
  if (matches(printed)) return printed;
  throw new Error(`Cannot edit "${file}" without changing other entries; it was left untouched`);
}

/** Render `value` as block YAML whose lines start with `indent`, ending with a line break. */
function render(value: unknown, indent: string, unit: number, eol: string): string {
  const text = new Document(value).toString({ indent: unit, lineWidth: 0 });
  return text.replace(/\n$/, "").split("\n").map((line) => indent + line).join(eol) + eol;
}

/** Column of a node's first character. */
function columnOf(text: string, node: Node | Pair["key"]): number {
  const start = (node as Node).range![0];
  return start - lineStart(text, start);
}

/** End offset of a pair's value (or key, for an empty value). */
function pairEnd(pair: Pair): number {
  const value = pair.value as Node | null;
  return value?.range ? value.range[1] : (pair.key as Node).range![1];
}

/** Indentation step of the document: nesting of the first nested mapping, default 2. */
function unitOf(text: string, doc: YamlDoc): number {
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      const value = pair.value;
      if ((isMap(value) || isSeq(value)) && !value.flow && value.items.length > 0) {
        const first = value.items[0];
        const node = (isMap(value) ? (first as Pair).key : first) as Node;
        const unit = columnOf(text, node) - columnOf(text, pair.key as Node);
        if (unit > 0) return isSeq(value) ? Math.max(unit - 2, 2) : unit;
      }
    }
  }
  return 2;
}

/** Nesting step used inside the entries of mapping `container`, else the document's. */
function unitIn(text: string, doc: YamlDoc, container: unknown): number {
  if (isMap(container)) {
    for (const pair of container.items) {
      const value = pair.value;
      if (isMap(value) && !value.flow && value.items.length > 0) {
        const unit = columnOf(text, value.items[0].key as Node) - columnOf(text, pair.key as Node);
        if (unit > 0) return unit;
      }
    }
  }
  return unitOf(text, doc);
}

/** Text up to `end` with a line break appended if it does not end with one. */
function withLineBreak(text: string, eol: string): string {
  return text === "" || text.endsWith("\n") ? text : text + eol;
}

function findPair(map: unknown, key: string): Pair | undefined {
  return isMap(map)
    ? map.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair | undefined
    : undefined;
}

/** Insert `key: value` as the last pair of the (block) root mapping, or of an empty file. */
function appendRootPair(
  text: string,
  doc: YamlDoc,
  key: string,
  value: unknown,
): string | undefined {
  const eol = detectEol(text);
  const unit = unitOf(text, doc);
  const root = doc.contents;
  if (!isMap(root) || root.items.length === 0) {
    return withLineBreak(text, eol) + render({ [key]: value }, "", unit, eol);
  }
  if (root.flow) return undefined;
  const last = root.items[root.items.length - 1];
  const at = lineEndAfter(text, pairEnd(last));
  const indent = " ".repeat(columnOf(text, last.key as Node));
  const head = withLineBreak(text.slice(0, at), eol);
  return head + render({ [key]: value }, indent, unit, eol) + text.slice(at);
}

/**
 * Replace the value of root pair `pair` (empty, or a flow collection) by a block rendering of
 * `items`, keeping the rest of the key's line (a comment) and everything after.
 */
function replaceWithBlock(text: string, doc: YamlDoc, pair: Pair, items: unknown): string {
  const eol = detectEol(text);
  const unit = unitOf(text, doc);
  const keyEnd = (pair.key as Node).range![1];
  const colon = text.indexOf(":", keyEnd);
  const value = pair.value as Node | null;
  const valueEnd = value?.range ? Math.max(value.range[1], colon + 1) : colon + 1;
  const lineEnd = lineEndAfter(text, valueEnd);
  const indent = " ".repeat(columnOf(text, pair.key as Node) + unit);
  const rest = withLineBreak(text.slice(valueEnd, lineEnd), eol);
  return text.slice(0, colon + 1) + rest + render(items, indent, unit, eol) + text.slice(lineEnd);
}

function spliceMapSet(
  text: string,
  doc: YamlDoc,
  containerKey: string,
  key: string,
  value: unknown,
): string | undefined {
  const pair = findPair(doc.contents, containerKey);
  if (!pair) return appendRootPair(text, doc, containerKey, { [key]: value });
  const container = pair.value;
  const eol = detectEol(text);
  const unit = unitIn(text, doc, container);
  if (isMap(container) && !container.flow && container.items.length > 0) {
    const first = container.items[0];
    const indent = " ".repeat(columnOf(text, first.key as Node));
    const entry = findPair(container, key);
    const rendered = render({ [key]: value }, indent, unit, eol);
    if (entry) {
      const start = (entry.key as Node).range![0];
      if (!startsLine(text, start)) return undefined;
      const from = lineStart(text, start);
      const to = lineEndAfter(text, pairEnd(entry));
      return applySplices(text, [{ offset: from, length: to - from, content: rendered }]);
    }
    const last = container.items[container.items.length - 1];
    const at = lineEndAfter(text, pairEnd(last));
    return withLineBreak(text.slice(0, at), eol) + rendered + text.slice(at);
  }
  const empty = container === null || (isScalar(container) && container.value === null);
  if (empty || (isMap(container) && container.flow)) {
    const existing = isMap(container) ? (container.toJSON() as Plain) : {};
    return replaceWithBlock(text, doc, pair, { ...existing, [key]: value });
  }
  return undefined;
}

function spliceMapDelete(
  text: string,
  doc: YamlDoc,
  containerKey: string,
  key: string,
): string | undefined {
  const pair = findPair(doc.contents, containerKey);
  const container = pair?.value;
  if (!pair || !isMap(container) || container.flow) return undefined;
  const entry = findPair(container, key);
  if (!entry) return undefined;
  const start = (entry.key as Node).range![0];
  if (!startsLine(text, start)) return undefined;
  const to = lineEndAfter(text, pairEnd(entry));
  if (container.items.length > 1) {
    const from = lineStart(text, start);
    return applySplices(text, [{ offset: from, length: to - from, content: "" }]);
  }
  // The last entry: leave an empty flow mapping, keeping comments between key and entry.
  const colon = text.indexOf(":", (pair.key as Node).range![1]);
  return text.slice(0, colon + 1) + " {}" + text.slice(colon + 1, lineStart(text, start)) +
    text.slice(to);
}

/**
 * Range of the lines of item `index` of block sequence `seq`: from the line of its `-` to the
 * end of its last line. Undefined if the `-` does not start its line.
 */
function itemLines(text: string, seq: YAMLSeq, index: number): [number, number] | undefined {
  const items = seq.items as Node[];
  // The dash follows the previous item (or opens the sequence), after blanks and comments.
  let dash = index === 0 ? seq.range![0] : items[index - 1].range![1];
  while (dash < text.length && text[dash] !== "-") {
    if (text[dash] === "#") dash = lineEndAfter(text, dash + 1);
    else if (/\s/.test(text[dash])) dash++;
    else return undefined;
  }
  if (!startsLine(text, dash) || !/[ \t\r\n]/.test(text[dash + 1] ?? "")) return undefined;
  return [lineStart(text, dash), lineEndAfter(text, items[index].range![1])];
}

function spliceListSet(
  text: string,
  doc: YamlDoc,
  containerKey: string,
  value: Plain & { name: string },
): string | undefined {
  const pair = findPair(doc.contents, containerKey);
  if (!pair) return appendRootPair(text, doc, containerKey, [value]);
  const list = pair.value;
  const eol = detectEol(text);
  const unit = unitOf(text, doc);
  if (isSeq(list) && !list.flow && list.items.length > 0) {
    const items = list.items as Node[];
    const index = items.findIndex((it) => isMap(it) && it.get("name") === value.name);
    const lines = itemLines(text, list, index >= 0 ? index : items.length - 1);
    if (!lines) return undefined;
    const dashIndent = /^[ \t]*/.exec(text.slice(lines[0]))![0];
    const rendered = render([value], dashIndent, unit, eol);
    if (index >= 0) {
      return applySplices(text, [{
        offset: lines[0],
        length: lines[1] - lines[0],
        content: rendered,
      }]);
    }
    return withLineBreak(text.slice(0, lines[1]), eol) + rendered + text.slice(lines[1]);
  }
  const empty = list === null || (isScalar(list) && list.value === null);
  if (empty || (isSeq(list) && list.flow)) {
    const existing = isSeq(list) ? (list.toJSON() as unknown[]) : [];
    return replaceWithBlock(text, doc, pair, [...existing, value]);
  }
  return undefined;
}

function spliceListDelete(
  text: string,
  doc: YamlDoc,
  containerKey: string,
  name: string,
): string | undefined {
  const pair = findPair(doc.contents, containerKey);
  const list = pair?.value;
  if (!pair || !isSeq(list) || list.flow) return undefined;
  const items = list.items as Node[];
  const index = items.findIndex((it) => isMap(it) && it.get("name") === name);
  const lines = index >= 0 ? itemLines(text, list, index) : undefined;
  if (!lines) return undefined;
  if (items.length > 1) {
    return applySplices(text, [{ offset: lines[0], length: lines[1] - lines[0], content: "" }]);
  }
  const colon = text.indexOf(":", (pair.key as Node).range![1]);
  return text.slice(0, colon + 1) + " []" + text.slice(colon + 1, lines[0]) + text.slice(lines[1]);
}

/** Make `key` a block mapping in the document (the fallback path). */
function ensureBlockMap(doc: YamlDoc, key: string): void {
  const value = doc.get(key, true);
  if (isMap(value)) value.flow = false;
  else doc.set(key, doc.createNode({}));
  const created = doc.get(key, true);
  if (isMap(created)) created.flow = false;
}
