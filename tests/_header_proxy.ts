/**
 * A loopback HTTP/1.1 proxy at the byte level that adds one header to every request and passes
 * everything else through untouched: the request line, `Host` and `Origin` as the client sent
 * them, bodies, and streamed answers (SSE). For clients that cannot send a header themselves,
 * such as the conformance suite's CLI, in front of a server that requires it.
 *
 * @module
 */

/** A running proxy. */
export interface HeaderProxy {
  /** Its loopback port. */
  port: number;
  /** Stop accepting and close every connection. */
  close(): Promise<void>;
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);
const CRLF = new Uint8Array([13, 10]);

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Reads a byte stream by delimiter or length. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = new Uint8Array(0);

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #more(): Promise<boolean> {
    const { done, value } = await this.#reader.read();
    if (done) return false;
    const joined = new Uint8Array(this.#buffer.length + value.length);
    joined.set(this.#buffer);
    joined.set(value, this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  /** The bytes up to and including `delimiter`; null at the end of the stream. */
  async until(delimiter: Uint8Array): Promise<Uint8Array | null> {
    for (;;) {
      const at = indexOf(this.#buffer, delimiter);
      if (at >= 0) return this.take(at + delimiter.length);
      if (!(await this.#more())) return null;
    }
  }

  /** Exactly `n` bytes, or throws at the end of the stream. */
  async exactly(n: number): Promise<Uint8Array> {
    while (this.#buffer.length < n) {
      if (!(await this.#more())) throw new Error("the client closed mid-body");
    }
    return this.take(n);
  }

  take(n: number): Uint8Array {
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Forwards requests from `client` to `upstream`, adding the header to each head. */
async function forwardRequests(
  client: Deno.Conn,
  upstream: Deno.Conn,
  header: () => string | undefined,
): Promise<void> {
  const reader = new ByteReader(client.readable);
  const encoder = new TextEncoder();
  for (;;) {
    const head = await reader.until(CRLF2);
    if (head === null) return;
    const lines = new TextDecoder().decode(head).split("\r\n").slice(0, -2);
    const extra = header();
    const name = extra?.slice(0, extra.indexOf(":")).toLowerCase();
    const kept = lines.filter((line, i) => i === 0 || line.split(":")[0].toLowerCase() !== name);
    if (extra !== undefined) kept.splice(1, 0, extra);
    await writeAll(upstream, encoder.encode(`${kept.join("\r\n")}\r\n\r\n`));
    const field = (wanted: string) =>
      lines.find((line) => line.split(":")[0].trim().toLowerCase() === wanted)
        ?.slice(wanted.length + 1).trim();
    if (field("transfer-encoding")?.toLowerCase().includes("chunked")) {
      for (;;) {
        const sizeLine = await reader.until(CRLF);
        if (sizeLine === null) return;
        await writeAll(upstream, sizeLine);
        const size = parseInt(new TextDecoder().decode(sizeLine), 16);
        if (size === 0) {
          // Trailers, then the empty line.
          for (;;) {
            const line = await reader.until(CRLF);
            if (line === null) return;
            await writeAll(upstream, line);
            if (line.length === 2) break;
          }
          break;
        }
        await writeAll(upstream, await reader.exactly(size + 2));
      }
    } else {
      const length = Number(field("content-length") ?? "0");
      if (length > 0) await writeAll(upstream, await reader.exactly(length));
    }
  }
}

/**
 * Starts the proxy on 127.0.0.1.
 *
 * @param targetPort The upstream's loopback port.
 * @param header The header line to add (`Name: value`), read at each request; undefined adds
 *   none. A header of the same name from the client is dropped.
 * @returns The proxy.
 */
export function startHeaderProxy(
  targetPort: number,
  header: () => string | undefined,
): HeaderProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const close = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const accepting = (async () => {
    for await (const client of listener) {
      open.add(client);
      (async () => {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        open.add(upstream);
        // The answers end when the upstream closes; the client's end closes the upstream.
        const answers = upstream.readable.pipeTo(client.writable, { preventClose: true })
          .catch(() => {}).then(() => close(client));
        await forwardRequests(client, upstream, header).catch(() => {});
        close(upstream);
        await answers;
      })().catch(() => close(client));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const conn of open) close(conn);
      await accepting;
    },
  };
}
