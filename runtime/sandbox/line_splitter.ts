/**
 * A bounded newline splitter: turns a byte stream into lines without ever holding more than a
 * fixed number of bytes, so a peer that writes a 1 GiB line cannot grow our memory.
 *
 * @module
 */

/** One piece of output from {@linkcode LineSplitter}. */
export type SplitLine =
  | { kind: "line"; bytes: Uint8Array }
  | {
    kind: "oversized";
    /** Total length of the dropped line in bytes. */
    size: number;
    /** The first bytes of the dropped line. */
    head: Uint8Array;
    /** The last bytes of the dropped line. */
    tail: Uint8Array;
  };

const EDGE = 256;

/**
 * A `TransformStream` from bytes to lines (without the newline; a trailing `\r` is removed).
 * Lines longer than `maxLineBytes` are dropped and reported as `oversized` with their size and
 * first and last 256 bytes.
 *
 * @example
 * ```ts
 * import { LineSplitter } from "./line_splitter.ts";
 * const lines = ReadableStream.from([new TextEncoder().encode("a\nbb\n")])
 *   .pipeThrough(new LineSplitter(1));
 * for await (const line of lines) console.log(line.kind); // "line", then "oversized"
 * ```
 */
export class LineSplitter extends TransformStream<Uint8Array, SplitLine> {
  /**
   * Makes a splitter.
   *
   * @param maxLineBytes The longest line passed on, in bytes (default 4 MiB).
   */
  constructor(maxLineBytes: number = 4 * 1024 * 1024) {
    let parts: Uint8Array[] = [];
    let length = 0;
    let dropping = false;
    let head: Uint8Array = new Uint8Array();
    let tail: Uint8Array = new Uint8Array();
    const keepTail = (chunk: Uint8Array) => {
      const joined = concat([tail, chunk.subarray(Math.max(0, chunk.length - EDGE))]);
      tail = joined.subarray(Math.max(0, joined.length - EDGE));
    };
    const take = (chunk: Uint8Array) => {
      length += chunk.length;
      if (dropping) return keepTail(chunk);
      if (length > maxLineBytes) {
        const all = concat([...parts, chunk]);
        head = all.slice(0, EDGE);
        tail = new Uint8Array(0);
        keepTail(all);
        parts = [];
        dropping = true;
        return;
      }
      parts.push(chunk.slice());
    };
    const finish = (controller: TransformStreamDefaultController<SplitLine>) => {
      if (dropping) {
        controller.enqueue({ kind: "oversized", size: length, head, tail });
      } else {
        let bytes = concat(parts);
        if (bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, bytes.length - 1);
        controller.enqueue({ kind: "line", bytes });
      }
      parts = [];
      length = 0;
      dropping = false;
    };
    super({
      transform(chunk, controller) {
        let start = 0;
        for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
          take(chunk.subarray(start, nl));
          finish(controller);
          start = nl + 1;
        }
        if (start < chunk.length) take(chunk.subarray(start));
      },
      flush(controller) {
        if (length > 0 || parts.length > 0) finish(controller);
      },
    });
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
