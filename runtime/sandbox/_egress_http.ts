/**
 * The HTTP/1.1 the egress proxy speaks: reading a request head within a size limit, parsing it
 * strictly, and rewriting a forward request for the origin server. Pure except
 * {@linkcode readHead}.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  /** The method, e.g. `CONNECT` or `GET`. */
  method: string;
  /** The request-target as written. */
  target: string;
  /** Header fields in order, names as written. */
  headers: [name: string, value: string][];
}

/** What {@linkcode readHead} read. */
export type HeadRead =
  | { kind: "head"; head: RequestHead; rest: Uint8Array }
  | { kind: "error"; status: number; reason: string }
  | { kind: "closed" };

const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const END = [13, 10, 13, 10];

/**
 * Reads a request head (up to the blank line) from a connection, at most `maxBytes` of it.
 *
 * @param conn The client connection.
 * @param maxBytes Largest head accepted.
 * @returns The parsed head and the bytes read after it, a protocol error, or `closed`.
 */
export async function readHead(conn: Deno.Conn, maxBytes: number): Promise<HeadRead> {
  const buf = new Uint8Array(maxBytes + 4096);
  let length = 0;
  let scanned = 0;
  while (true) {
    const end = findEnd(buf, scanned, length);
    scanned = Math.max(0, length - 3);
    if (end >= 0) {
      if (end > maxBytes) break;
      const parsed = parseHead(latin1(buf.subarray(0, end)));
      if (typeof parsed === "string") return { kind: "error", status: 400, reason: parsed };
      return { kind: "head", head: parsed, rest: buf.slice(end + 4, length) };
    }
    if (length >= maxBytes) break;
    const n = await conn.read(buf.subarray(length));
    if (n === null) return { kind: "closed" };
    length += n;
  }
  return {
    kind: "error",
    status: 431,
    reason: `the request head is larger than ${maxBytes} bytes`,
  };
}

function findEnd(buf: Uint8Array, from: number, length: number): number {
  outer: for (let i = from; i + 4 <= length; i++) {
    for (let j = 0; j < 4; j++) if (buf[i + j] !== END[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Parses a request head strictly: CRLF line ends, `METHOD SP target SP HTTP/1.x`, token header
 * names, no folded lines, no control characters.
 *
 * @param text The head without its final blank line, one character per byte.
 * @returns The head, or why it is malformed.
 */
export function parseHead(text: string): RequestHead | string {
  const lines = text.split("\r\n");
  const line = /^([A-Z]+) ([^\s]+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!line) return "the request line is not METHOD target HTTP/1.1";
  const headers: [string, string][] = [];
  for (const field of lines.slice(1)) {
    const colon = field.indexOf(":");
    const name = field.slice(0, colon);
    const value = field.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (colon <= 0 || !TOKEN_RE.test(name)) return "a header line is malformed";
    // deno-lint-ignore no-control-regex
    if (/[\0-\x08\x0a-\x1f\x7f]/.test(value)) return `the header ${name} holds control characters`;
    headers.push([name, value]);
  }
  return { method: line[1], target: line[2], headers };
}

/**
 * The values of one header, by case-insensitive name.
 *
 * @param head The request head.
 * @param name The header's name.
 * @returns Its values in order.
 */
export function headerValues(head: RequestHead, name: string): string[] {
  const lower = name.toLowerCase();
  return head.headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
}

/** Headers that describe one hop and are never passed on (plus every `Proxy-*` header). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/**
 * Writes the head of a forward request for the origin server: origin-form target, the checked
 * authority as the only `Host`, no hop-by-hop or `Proxy-*` header (nor any the client listed
 * in `Connection`), and `Connection: close` (one request per connection, so every request the
 * client sends is checked on its own).
 *
 * @param head The client's head.
 * @param path The origin-form target (`/path?query`).
 * @param authority The checked `host[:port]`.
 * @returns The head's bytes, blank line included.
 */
export function originHead(head: RequestHead, path: string, authority: string): Uint8Array {
  const listed = new Set(
    headerValues(head, "connection").flatMap((v) => v.split(",")).map((v) =>
      v.trim().toLowerCase()
    ),
  );
  const kept = head.headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return !HOP_BY_HOP.has(lower) && !lower.startsWith("proxy-") && !listed.has(lower);
  });
  const lines = [
    `${head.method} ${path} HTTP/1.1`,
    `Host: ${authority}`,
    ...kept.map(([name, value]) => `${name}: ${value}`),
    "Connection: close",
    "",
    "",
  ];
  return fromLatin1(lines.join("\r\n"));
}

/**
 * Writes a short plain-text response that closes the connection.
 *
 * @param status The status code.
 * @param reason The one-line body.
 * @returns The response's bytes.
 */
export function plainResponse(status: number, reason: string): Uint8Array {
  const body = new TextEncoder().encode(`${reason.replace(/[\r\n]+/g, " ")}\n`);
  const text = STATUS_TEXT[status] ?? "Error";
  const head = `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const out = new Uint8Array(head.length + body.length);
  out.set(fromLatin1(head));
  out.set(body, head.length);
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  405: "Method Not Allowed",
  411: "Length Required",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Bytes to a string, one character per byte, so that any header bytes survive a round trip. */
function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

function fromLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
