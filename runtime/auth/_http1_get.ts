// One HTTP/1.1 GET over an already connected stream, read with a size cap: what the client
// metadata fetch needs, and nothing a redirect or a proxy could steer.

/** Options for {@link http1Get}. */
export interface Http1GetOptions {
  /** The largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Ends the exchange (the caller closes the connection). */
  signal?: AbortSignal;
}

const MAX_HEAD_BYTES = 16 * 1024;

/**
 * Send `GET url` on `conn` with `Connection: close` and no credentials, and read a 200 answer.
 *
 * @param conn The connected (TLS) stream; closed when done.
 * @param url The URL (its host goes into `Host`, its path into the request line).
 * @param options Size cap and abort signal.
 * @returns The body as UTF-8 text.
 * @throws {Error} If the status is not 200 (redirects are not followed), the answer is
 *   malformed, or the head or body exceeds its cap.
 */
export async function http1Get(
  conn: Deno.Conn,
  url: URL,
  options: Http1GetOptions,
): Promise<string> {
  const abort = () => {
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    const request = `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      "Accept: application/json\r\nAccept-Encoding: identity\r\nUser-Agent: mcp-run\r\n" +
      "Connection: close\r\n\r\n";
    const bytes = new TextEncoder().encode(request);
    for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
    const limit = MAX_HEAD_BYTES + options.maxBodyBytes + 16 * 1024; // chunk framing
    const raw = await readAll(conn, limit);
    return parseResponse(raw, options.maxBodyBytes);
  } catch (e) {
    if (options.signal?.aborted) throw new Error("the server did not answer in time", { cause: e });
    throw e;
  } finally {
    options.signal?.removeEventListener("abort", abort);
    abort();
  }
}

async function readAll(conn: Deno.Conn, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(16 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch (e) {
      // A TLS peer that closes without close_notify ends the body all the same.
      if (e instanceof Deno.errors.UnexpectedEof) break;
      throw e;
    }
    if (n === null) break;
    size += n;
    if (size > limit) throw new Error(`the answer exceeds ${limit} bytes`);
    parts.push(buffer.slice(0, n));
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

function parseResponse(raw: Uint8Array, maxBody: number): string {
  let end = -1;
  for (let i = 0; i + 3 < raw.length && i < MAX_HEAD_BYTES; i++) {
    if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("the answer has no complete HTTP head");
  const head = new TextDecoder().decode(raw.subarray(0, end)).split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!status) throw new Error("the answer is not HTTP/1.1");
  if (status[1] !== "200") {
    throw new Error(
      `the server answered ${status[1]}${
        status[1].startsWith("3") ? " (redirects are not followed)" : ""
      }, not 200`,
    );
  }
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error("the answer has a malformed header line");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  const encoding = headers.get("transfer-encoding")?.toLowerCase();
  if (encoding === "chunked") body = dechunk(body);
  else if (encoding) throw new Error(`the answer uses transfer encoding "${encoding}"`);
  else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!Number.isSafeInteger(length) || length < 0) throw new Error("bad Content-Length");
    if (length > maxBody) throw new Error(`the document exceeds ${maxBody} bytes`);
    if (body.length < length) throw new Error("the answer ended before its Content-Length");
    body = body.subarray(0, length);
  }
  const contentEncoding = headers.get("content-encoding");
  if (contentEncoding && contentEncoding !== "identity") {
    throw new Error(`the answer is encoded as "${contentEncoding}"`);
  }
  if (body.length > maxBody) throw new Error(`the document exceeds ${maxBody} bytes`);
  return new TextDecoder("utf-8", { fatal: true }).decode(body);
}

function dechunk(data: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let at = 0;
  while (true) {
    let lineEnd = at;
    while (lineEnd + 1 < data.length && !(data[lineEnd] === 13 && data[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    if (lineEnd + 1 >= data.length) throw new Error("the chunked answer is truncated");
    const sizeText = new TextDecoder().decode(data.subarray(at, lineEnd)).split(";")[0].trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new Error("the chunked answer is malformed");
    const size = parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size + 2 > data.length) throw new Error("the chunked answer is truncated");
    out.push(data.subarray(at, at + size));
    at += size + 2;
  }
  const all = new Uint8Array(out.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of out) {
    all.set(p, pos);
    pos += p.length;
  }
  return all;
}
