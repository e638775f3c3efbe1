// Text helpers shared by the JSONC and YAML editors: splices, lines, indentation, errors.

/** A replacement of `length` characters at `offset` by `content`. */
export interface Splice {
  offset: number;
  length: number;
  content: string;
}

/**
 * Apply splices to `text`. Splices must not overlap; splices at the same offset apply in the
 * order given.
 */
export function applySplices(text: string, splices: Splice[]): string {
  const sorted = splices.map((s, i) => ({ s, i })).sort((a, b) =>
    a.s.offset - b.s.offset || a.i - b.i
  );
  let out = "";
  let at = 0;
  for (const { s } of sorted) {
    if (s.offset < at) throw new RangeError("Cannot apply overlapping edits");
    out += text.slice(at, s.offset) + s.content;
    at = s.offset + s.length;
  }
  return out + text.slice(at);
}

/** Offset of the first character of the line holding `pos`. */
export function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/**
 * Offset just past the line break ending the line that holds the character before `end`
 * (so an `end` that already sits at a line start is returned unchanged).
 */
export function lineEndAfter(text: string, end: number): number {
  if (end > 0 && text[end - 1] === "\n") return end;
  const nl = text.indexOf("\n", end);
  return nl === -1 ? text.length : nl + 1;
}

/** Leading whitespace of the line holding `pos`, up to `pos`. */
export function indentAt(text: string, pos: number): string {
  return /^[ \t]*/.exec(text.slice(lineStart(text, pos), pos))![0];
}

/** Whether only spaces and tabs precede `pos` on its line. */
export function startsLine(text: string, pos: number): boolean {
  return /^[ \t]*$/.test(text.slice(lineStart(text, pos), pos));
}

/** The line break style of `text`: CRLF if it has any, else LF. */
export function detectEol(text: string): string {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/** The indentation unit of `text`: a tab, or the first indented line's spaces (default 2). */
export function detectIndentUnit(text: string): string {
  const m = /^([ \t]+)\S/m.exec(text);
  if (!m) return "  ";
  if (m[1].startsWith("\t")) return "\t";
  return " ".repeat(Math.min(Math.max(m[1].length, 1), 8));
}

export { lineColumn } from "../policy/_text_position.ts";

/** A byte-order mark at the start of `text` ("" if none). */
export function bomOf(text: string): string {
  return text.startsWith("\uFEFF") ? "\uFEFF" : "";
}
