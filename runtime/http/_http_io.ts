/**
 * The HTTP plumbing of the bridge: error bodies, session ids, bounded body reads, the view of a
 * request handed to the SDK transport, and the hook that tells when a response stream ends.
 *
 * @module
 */

/** The methods the MCP endpoint accepts. */
export const ACCEPTED_METHODS = "GET, POST, DELETE";

/** A JSON-RPC error body with an HTTP status, as every refusal of the bridge is answered. */
export function jsonError(
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

/** A session id: 256 random bits, base64url, so that ids cannot be guessed. */
export function randomSessionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Why a body was not read: larger than allowed, or slower than allowed. */
export type BodyRefusal = "too-large" | "too-slow";

/**
 * Reads a request body up to `maxBytes`, giving up after `timeoutMs`; refuses on the declared
 * length before reading anything.
 */
export async function readBody(
  request: Request,
  maxBytes: number,
  timeoutMs: number,
): Promise<string | BodyRefusal> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= maxBytes)) {
    await request.body?.cancel().catch(() => {});
    return "too-large";
  }
  if (request.body === null) return "";
  const reader = request.body.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeoutMs);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (timedOut) return "too-slow";
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        return "too-large";
      }
      chunks.push(value);
    }
  } catch (error) {
    if (timedOut) return "too-slow";
    throw error;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Whether a parsed body is a single `initialize` request (the only way to open a session). */
export function isInitializeRequest(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) &&
    (body as { method?: unknown }).method === "initialize" &&
    (body as { id?: unknown }).id !== undefined;
}

const HIDDEN_HEADERS = new Set(["authorization", "cookie", "proxy-authorization"]);

/** A read-only view of request headers without credentials. */
class ForwardedHeaders {
  readonly #headers: Headers;
  constructor(headers: Headers) {
    this.#headers = headers;
  }
  get(name: string): string | null {
    return HIDDEN_HEADERS.has(name.toLowerCase()) ? null : this.#headers.get(name);
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
  /** Empty: headers only ever reach the SDK's own checks, never the server or the session. */
  entries(): IterableIterator<[string, string]> {
    return [][Symbol.iterator]();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/**
 * What the SDK transport gets of a request: method, URL and headers without credentials, and
 * no body (the bridge always passes the parsed body). A view rather than a copy: the pinned SDK
 * (1.32.2) reads only these members when `parsedBody` is given.
 */
export function forwardable(request: Request): Request {
  return {
    method: request.method,
    url: request.url,
    headers: new ForwardedHeaders(request.headers),
  } as unknown as Request;
}

/** The path of an absolute request URL, without parsing it fully. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  let end = url.length;
  const query = url.indexOf("?", start);
  if (query >= 0) end = query;
  const hash = url.indexOf("#", start);
  if (hash >= 0 && hash < end) end = hash;
  return url.slice(start, end);
}

/**
 * Calls `done` once the response body has been sent or abandoned: for a GET event stream, when
 * it ends; for anything else, at once (a POST stream lasts as long as its requests, which are
 * counted while they wait for the server).
 */
export function whenBodyEnds(request: Request, response: Response, done: () => void): Response {
  const body = response.body;
  if (
    body === null || request.method !== "GET" ||
    !response.headers.get("content-type")?.includes("text/event-stream")
  ) {
    done();
    return response;
  }
  const reader = body.getReader();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          finish();
          controller.close();
        } else {
          controller.enqueue(chunk.value);
        }
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(stream, { status: response.status, headers: response.headers });
}

/** An event-stream response the bridge writes messages to. */
export interface EventStream {
  /** The response carrying the stream. */
  readonly response: Response;
  /** Sends one JSON-RPC message as an event (dropped once the client went away). */
  send(message: unknown): void;
  /** Sends a keep-alive comment. */
  comment(): void;
  /** Ends the stream. */
  close(): void;
}

/**
 * An event-stream response written by the bridge (stateless requests and subscriptions).
 *
 * @param cancelled Called when the client closes the stream.
 * @returns The response and its writer.
 * @example
 * ```ts
 * import { eventStream } from "./_http_io.ts";
 * const stream = eventStream(() => {});
 * stream.send({ jsonrpc: "2.0", method: "notifications/progress", params: {} });
 * stream.close();
 * console.assert((await stream.response.text()).startsWith("event: message\ndata: "));
 * ```
 */
export function eventStream(cancelled: () => void): EventStream {
  const encoder = new TextEncoder();
  let out!: ReadableStreamDefaultController<Uint8Array>;
  const write = (text: string) => {
    try {
      out.enqueue(encoder.encode(text));
    } catch { /* the client went away */ }
  };
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => {
      out = controller;
    },
    cancel: cancelled,
  });
  return {
    response: new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    }),
    send: (message) => write(`event: message\ndata: ${JSON.stringify(message)}\n\n`),
    comment: () => write(":\n\n"),
    close: () => {
      try {
        out.close();
      } catch { /* cancelled by the client */ }
    },
  };
}
