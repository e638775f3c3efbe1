/**
 * An MCP server that fetches web pages and returns them as text or Markdown — but only from
 * hosts the user granted.
 *
 * The server has no allowlist of its own: every request, including every redirect hop, goes
 * through Deno's `fetch`, so `--allow-net=<hosts>` decides what it can reach. Redirects are
 * followed by hand (at most {@linkcode DEFAULT_MAX_REDIRECTS}) so each hop is checked
 * separately, and only `http:` and `https:` URLs are accepted.
 *
 * Tool:
 * - `fetch` `{ url, max_length?, start_index?, raw? }`: the page's text. HTML is simplified to
 *   Markdown unless `raw` is true; long pages are returned in chunks.
 *
 * Run it over stdio, granting only the hosts it may reach:
 * ```sh
 * deno run --allow-net=example.com,docs.deno.com jsr:@sandboxed/fetch
 * ```
 *
 * Requires `--allow-net=<hosts>`; nothing else.
 *
 * @module
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import { htmlToMarkdown } from "./html_to_markdown.ts";

export { decodeEntities, htmlToMarkdown } from "./html_to_markdown.ts";

/** The server's name and version, as announced to MCP clients. */
export const SERVER_INFO: { name: string; version: string } = {
  name: "sandboxed-fetch",
  version: "0.1.0",
};

/** Redirect hops followed before giving up. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** Largest response body read, in bytes; the rest is not downloaded. */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
/** Characters returned per call unless the caller asks for another amount. */
export const DEFAULT_MAX_LENGTH = 5000;
/** Time allowed for the whole fetch, redirects included, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A fetch that failed for a reason the caller should see (bad URL, denied host, HTTP error). */
export class FetchToolError extends Error {
  /**
   * @param message What went wrong and what to do.
   * @param options The underlying error, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FetchToolError";
  }
}

/** Options for {@linkcode fetchText}. */
export interface FetchTextOptions {
  /** Redirect hops to follow; default {@linkcode DEFAULT_MAX_REDIRECTS}. */
  maxRedirects?: number;
  /** Largest body to read in bytes; default {@linkcode DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
  /** Overall time limit in milliseconds; default {@linkcode DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Return HTML as is instead of converting it to Markdown. */
  raw?: boolean;
  /** User-Agent header sent with each request. */
  userAgent?: string;
}

/** A fetched document. */
export interface FetchedText {
  /** The URL the content finally came from, after redirects. */
  url: string;
  /** HTTP status of the final response. */
  status: number;
  /** The `Content-Type` of the final response, or `""`. */
  contentType: string;
  /** The body as text (Markdown when it was HTML and `raw` was not set). */
  text: string;
  /** Whether the body was cut at `maxBytes`. */
  truncated: boolean;
}

/**
 * Parses a URL the tool was given and checks that its scheme is `http:` or `https:`.
 *
 * @param url The URL text.
 * @returns The parsed URL.
 * @throws {FetchToolError} If the text is not an absolute http(s) URL.
 * @example
 * ```ts
 * import { parseHttpUrl } from "@sandboxed/fetch";
 * parseHttpUrl("https://example.com/a").hostname; // "example.com"
 * ```
 */
export function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new FetchToolError(
      `Cannot fetch "${url}": it is not an absolute URL; send one such as "https://example.com/"`,
      { cause: error },
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new FetchToolError(
      `Cannot fetch "${url}": only http: and https: URLs are fetched, not ${parsed.protocol}`,
    );
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new FetchToolError(
      `Cannot fetch "${url}": URLs with credentials are refused; remove the user:password@ part`,
    );
  }
  return parsed;
}

function isPermissionError(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied;
}

async function readLimited(
  response: Response,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (response.body === null) {
    return { bytes: new Uint8Array(), truncated: false };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.byteLength > maxBytes) {
        chunks.push(value.subarray(0, maxBytes - size));
        size = maxBytes;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes, truncated };
}

function isTextual(contentType: string): boolean {
  const type = contentType.split(";")[0].trim().toLowerCase();
  return type === "" || type.startsWith("text/") || type.endsWith("+json") ||
    type.endsWith("+xml") ||
    ["application/json", "application/xml", "application/javascript"]
      .includes(type);
}

function charsetOf(contentType: string): string {
  const match = /charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType);
  return match?.[1] ?? "utf-8";
}

/**
 * Fetches a URL, following redirects one hop at a time, and returns its text.
 *
 * Every hop is a separate Deno `fetch`, so a redirect to a host that was not granted with
 * `--allow-net` fails like a direct request to it would. Requires `--allow-net=<hosts>`.
 *
 * @param url Absolute http(s) URL.
 * @param options Limits, raw mode and user agent.
 * @returns The final URL, status, content type and text.
 * @throws {FetchToolError} For a bad URL, a host Deno refuses, too many redirects, an HTTP
 *   error status, a non-text body or a timeout.
 * @example
 * ```ts ignore
 * import { fetchText } from "@sandboxed/fetch";
 * const page = await fetchText("https://example.com/");
 * console.log(page.text);
 * ```
 */
export async function fetchText(
  url: string,
  options: FetchTextOptions = {},
): Promise<FetchedText> {
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const signal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let current = parseHttpUrl(url);
  for (let hop = 0;; hop++) {
    let response: Response;
    try {
      response = await fetch(current, {
        redirect: "manual",
        signal,
        headers: {
          "user-agent": options.userAgent ??
            `${SERVER_INFO.name}/${SERVER_INFO.version}`,
          accept: "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
        },
      });
    } catch (error) {
      if (isPermissionError(error)) {
        throw new FetchToolError(
          `Cannot fetch "${current.href}": network access to "${current.host}" was not granted ` +
            `to this server; ask the user to grant that host`,
          { cause: error },
        );
      }
      if (signal.aborted) {
        throw new FetchToolError(
          `Cannot fetch "${current.href}": it took too long`,
          {
            cause: error,
          },
        );
      }
      throw new FetchToolError(
        `Cannot fetch "${current.href}": ${error instanceof Error ? error.message : error}`,
        { cause: error },
      );
    }
    if (
      response.status >= 300 && response.status < 400 &&
      response.headers.has("location")
    ) {
      await response.body?.cancel();
      if (hop >= maxRedirects) {
        throw new FetchToolError(
          `Cannot fetch "${url}": more than ${maxRedirects} redirects; the last one pointed to ` +
            `"${response.headers.get("location")}"`,
        );
      }
      const location = response.headers.get("location") ?? "";
      try {
        current = parseHttpUrl(new URL(location, current).href);
      } catch (error) {
        throw new FetchToolError(
          `Cannot follow the redirect from "${current.href}" to "${location}": ` +
            (error instanceof Error ? error.message : String(error)),
          { cause: error },
        );
      }
      continue;
    }
    const contentType = response.headers.get("content-type") ?? "";
    if (!response.ok) {
      await response.body?.cancel();
      throw new FetchToolError(
        `Cannot fetch "${current.href}": the server answered ${response.status} ${response.statusText}`,
      );
    }
    if (!isTextual(contentType)) {
      await response.body?.cancel();
      throw new FetchToolError(
        `Cannot fetch "${current.href}": its content type "${contentType}" is not text`,
      );
    }
    const { bytes, truncated } = await readLimited(
      response,
      options.maxBytes ?? DEFAULT_MAX_BYTES,
    );
    let text: string;
    try {
      text = new TextDecoder(charsetOf(contentType)).decode(bytes);
    } catch {
      text = new TextDecoder().decode(bytes);
    }
    const isHtml = /html/i.test(contentType) ||
      (contentType === "" && /^\s*<(!doctype|html)/i.test(text));
    if (isHtml && !options.raw) text = htmlToMarkdown(text, current.href);
    return {
      url: current.href,
      status: response.status,
      contentType,
      text,
      truncated,
    };
  }
}

/** Options for {@linkcode createFetchServer}. */
export interface CreateFetchServerOptions extends Omit<FetchTextOptions, "raw"> {}

function toolError(
  message: string,
): { content: { type: "text"; text: string }[]; isError: true } {
  return { content: [{ type: "text", text: message }], isError: true };
}

/**
 * Builds the fetch MCP server with its `fetch` tool registered; connect it to any transport.
 *
 * @param options Limits and user agent applied to every call.
 * @returns An unconnected MCP server.
 * @example
 * ```ts
 * import { createFetchServer } from "@sandboxed/fetch";
 * const server = createFetchServer({ maxRedirects: 3 });
 * await server.close();
 * ```
 */
export function createFetchServer(
  options: CreateFetchServerOptions = {},
): McpServer {
  const server = new McpServer(SERVER_INFO);
  server.registerTool("fetch", {
    title: "Fetch a web page",
    description: "Fetch a URL and return its content as text; HTML pages are simplified to " +
      "Markdown. Only hosts the user granted can be reached. Long pages come in chunks: call " +
      "again with start_index to read on.",
    inputSchema: {
      url: z.string().describe("Absolute http:// or https:// URL"),
      max_length: z.number().int().positive().max(1_000_000).optional()
        .describe(
          `Most characters to return (default ${DEFAULT_MAX_LENGTH})`,
        ),
      start_index: z.number().int().nonnegative().optional().describe(
        "Character offset to start from, for reading the next chunk (default 0)",
      ),
      raw: z.boolean().optional().describe(
        "Return HTML as is instead of Markdown",
      ),
    },
    annotations: { readOnlyHint: true, openWorldHint: true },
  }, async (
    { url, max_length, start_index, raw }: {
      url: string;
      max_length?: number;
      start_index?: number;
      raw?: boolean;
    },
  ) => {
    let page: FetchedText;
    try {
      page = await fetchText(url, { ...options, raw });
    } catch (error) {
      if (error instanceof FetchToolError) return toolError(error.message);
      throw error;
    }
    const start = start_index ?? 0;
    const length = max_length ?? DEFAULT_MAX_LENGTH;
    if (start >= page.text.length && page.text.length > 0) {
      return toolError(
        `No more content: start_index ${start} is past the end (${page.text.length})`,
      );
    }
    const chunk = page.text.slice(start, start + length);
    let text = `Contents of ${page.url}:\n\n${chunk}`;
    if (start + length < page.text.length) {
      text += `\n\n[Content truncated. Call fetch with start_index=${start + length} to read on.]`;
    } else if (page.truncated) {
      text += `\n\n[The page was larger than the download limit; the rest was not fetched.]`;
    }
    return { content: [{ type: "text" as const, text }] };
  });
  return server;
}

if (import.meta.main) {
  await createFetchServer().connect(new StdioServerTransport());
}
