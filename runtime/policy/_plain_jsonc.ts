/**
 * The quick way to read JSONC that is plain: comments and trailing commas dropped, the rest
 * read by `JSON.parse`. It answers only when it is sure that jsonc-parser would read the same
 * value without a problem (and no key twice, nothing nested too deep); otherwise it answers
 * `undefined` and the caller reads the text with jsonc-parser, which names each problem. Starting
 * a command then does not load jsonc-parser, the slowest module to load on the way to a launch.
 *
 * @module
 */

/**
 * Reads plain JSONC, or says it cannot be sure.
 *
 * @param text JSONC text (without a byte order mark).
 * @param maxDepth How deeply objects and lists may nest.
 * @returns The value; `undefined` when the text has anything jsonc-parser might read otherwise
 *   or report: a syntax error, an unclosed comment, a comma with no value before it, a key given
 *   twice in one object, a `__proto__` key, deeper nesting.
 *
 * @example
 * ```ts
 * import { readPlainJsonc } from "./_plain_jsonc.ts";
 * console.log(readPlainJsonc(`{ "a": [1, 2,], // two\n }`, 8)); // { a: [ 1, 2 ] }
 * console.log(readPlainJsonc(`{ "a": 1, "a": 2 }`, 8)); // undefined
 * ```
 */
export function readPlainJsonc(text: string, maxDepth: number): unknown {
  const json = plainJson(text);
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json.text);
  } catch {
    return undefined;
  }
  return countKeys(value, maxDepth) === json.keys ? value : undefined;
}

/** Whether a character (the last one before a comma) ends a value. */
function endsValue(char: string): boolean {
  return char !== "" && char !== "," && char !== "[" && char !== "{" && char !== ":";
}

/**
 * The text with each comment turned into one space and each trailing comma dropped, and how
 * many keys it has (a key is followed by the only colons outside strings).
 */
function plainJson(text: string): { text: string; keys: number } | undefined {
  // Each cut: from, to, and what replaces it. A trailing comma is cut after any comment that
  // follows it, so the cuts are sorted before the text is put together.
  const cuts: [number, number, string][] = [];
  let keys = 0;
  let last = "";
  let comma = -1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === " " || char === "\n" || char === "\r" || char === "\t") continue;
    if (char === '"') {
      i = stringEnd(text, i);
      if (i < 0) return undefined;
    } else if (char === "/") {
      const end = commentEnd(text, i);
      if (end < 0) return undefined;
      cuts.push([i, end, " "]);
      i = end - 1;
      continue;
    } else if (char === ",") {
      if (!endsValue(last)) return undefined;
      comma = i;
    } else if ((char === "}" || char === "]") && last === ",") {
      cuts.push([comma, comma + 1, ""]);
    } else if (char === ":") keys++;
    last = char;
  }
  cuts.sort((a, b) => a[0] - b[0]);
  const parts: string[] = [];
  let from = 0;
  for (const [start, end, put] of cuts) {
    parts.push(text.slice(from, start), put);
    from = end;
  }
  parts.push(text.slice(from));
  return { text: parts.join(""), keys };
}

/** The index of the quote that closes the string opening at `start`; -1 when there is none. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const char = text[i];
    if (char === "\\") i++;
    else if (char === '"') return i;
    else if (char === "\n" || char === "\r") return -1;
  }
  return -1;
}

/** The index after the comment opening at `start` (a `/`); -1 when it is not a closed comment. */
function commentEnd(text: string, start: number): number {
  const next = text[start + 1];
  if (next === "/") {
    let i = start + 2;
    // jsonc-parser ends a line comment at a line feed or a carriage return, as here.
    while (i < text.length && text[i] !== "\n" && text[i] !== "\r") i++;
    return i;
  }
  if (next === "*") {
    const close = text.indexOf("*/", start + 2);
    return close < 0 ? -1 : close + 2;
  }
  return -1;
}

/**
 * How many keys a parsed value's objects hold; -1 when it nests deeper than `maxDepth` or has a
 * `__proto__` key (jsonc-parser would set the object's prototype where JSON.parse keeps a key).
 * Iterative, so deep nesting cannot overflow the stack.
 */
function countKeys(value: unknown, maxDepth: number): number {
  let keys = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== "object") continue;
    if (depth + 1 > maxDepth) return -1;
    const children = Array.isArray(item) ? item : Object.values(item);
    if (!Array.isArray(item)) {
      if (Object.hasOwn(item, "__proto__")) return -1;
      keys += Object.keys(item).length;
    }
    for (const child of children) stack.push([child, depth + 1]);
  }
  return keys;
}
