/**
 * Admission: what the bridge decides about a request before any session or server process sees
 * it. Path, `Host` and `Origin`, CORS preflight, bearer token, per-client rate and concurrency,
 * then body size and time. Each step answers with a refusal or lets the request through; nothing
 * here starts a process or touches a session.
 *
 * @module
 */
import {
  compileHostCheck,
  compileOriginCheck,
  corsHeaders,
  type HeaderCheck,
} from "./_host_origin.ts";
import { TokenVerifier } from "./bearer_token.ts";
import { ClientLimits } from "./_client_limits.ts";
import {
  clientAddress,
  clientKey,
  compileTrustedProxies,
  type ProxyCheck,
} from "./_client_address.ts";
import { ACCEPTED_METHODS, jsonError, pathOf, readBody } from "./_http_io.ts";

/** Options for {@linkcode Admission}. */
export interface AdmissionOptions {
  /** The MCP endpoint path. */
  path: string;
  /** Accepted `Host` values. */
  allowedHosts: readonly string[];
  /** Accepted `Origin` values beside the bridge's own. */
  allowedOrigins: readonly string[];
  /** Bearer tokens; none means no authentication. */
  tokens: readonly string[];
  /** Peers whose forwarding headers are believed. */
  trustProxy: readonly string[];
  /** Requests per second per client. */
  ratePerSecond: number;
  /** Burst of requests per client. */
  rateBurst: number;
  /** Open requests per client. */
  maxConcurrentPerClient: number;
  /** Largest body in bytes. */
  maxBodyBytes: number;
  /** Time a body may take, in milliseconds. */
  bodyTimeoutMs: number;
}

/** The peer as the server saw it. */
export interface Peer {
  /** The peer address. */
  remoteAddr?: { hostname?: string };
  /** Closes the connection at once. */
  close?: () => void;
}

/** A request let through: who sent it, with which token, and the CORS headers to add. */
export interface Admitted {
  /** The per-client key (IP address, IPv6 per /64). */
  client: string;
  /** Index of the token presented, or -1 without authentication. */
  tokenIndex: number;
  /** CORS headers for a browser request, else undefined. */
  cors: Record<string, string> | undefined;
}

/** Either a refusal (or a complete answer such as `/healthz`) or the admitted request. */
export type Verdict = { response: Response } | { admitted: Admitted };

/** Either a refusal or the parsed JSON body (undefined for a GET or DELETE). */
export type BodyVerdict = { response: Response } | { body: unknown };

/** Whether `origin` is the bridge's own origin as the client addressed it (`Host`). */
function isSameOrigin(origin: string | null, host: string): boolean {
  if (origin === null) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      url.host === new URL(`http://${host}`).host && origin === url.origin;
  } catch {
    return false;
  }
}

/**
 * The bridge's gatekeeper. A successful {@linkcode Admission.admit} holds one unit of the
 * client's concurrency, which the caller gives back with {@linkcode Admission.release}.
 */
export class Admission {
  readonly #options: AdmissionOptions;
  #hostAllowed: HeaderCheck;
  #hosts: readonly string[];
  readonly #originAllowed: HeaderCheck;
  readonly #trustedProxy: ProxyCheck;
  readonly #verifier: TokenVerifier | undefined;
  readonly #limits: ClientLimits;

  /**
   * @param options Allow lists, tokens and limits.
   * @throws {TypeError} If an allow-list or proxy entry is malformed.
   * @throws {RangeError} If a limit is not positive or a token is weak.
   */
  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#hosts = options.allowedHosts;
    this.#hostAllowed = compileHostCheck(options.allowedHosts);
    this.#originAllowed = compileOriginCheck(options.allowedOrigins);
    this.#trustedProxy = compileTrustedProxies(options.trustProxy);
    this.#verifier = options.tokens.length > 0 ? new TokenVerifier(options.tokens) : undefined;
    this.#limits = new ClientLimits({
      ratePerSecond: options.ratePerSecond,
      burst: options.rateBurst,
      maxConcurrent: options.maxConcurrentPerClient,
    });
  }

  /** The trusted proxies, compiled: a listener exempts them from its per-client cap too. */
  get trustedProxy(): ProxyCheck {
    return this.#trustedProxy;
  }

  /** The per-client limits, which also count JSON-RPC requests waiting for the server. */
  get limits(): ClientLimits {
    return this.#limits;
  }

  /**
   * Accepts more `Host` values: a listener knows its port only once bound.
   *
   * @param hosts The hosts to add.
   * @throws {TypeError} If an entry is a wildcard or malformed.
   */
  allowHosts(hosts: readonly string[]): void {
    const all = [...this.#hosts, ...hosts];
    this.#hostAllowed = compileHostCheck(all);
    this.#hosts = all;
  }

  /**
   * Decides on a request from its line and headers (the body is not read).
   *
   * @param request The request.
   * @param peer The connection it came on.
   * @param now The current time in milliseconds (rate limits).
   * @returns A response to send at once, or the admitted request.
   */
  admit(request: Request, peer: Peer | undefined, now: number): Verdict {
    const pathname = pathOf(request.url);
    if (pathname === "/healthz") return { response: healthz(request) };
    if (pathname !== this.#options.path) {
      return { response: jsonError(404, -32000, "Not found") };
    }
    const host = request.headers.get("host");
    if (!this.#hostAllowed(host)) {
      return { response: jsonError(403, -32000, "Forbidden: Host not allowed") };
    }
    const origin = request.headers.get("origin");
    if (!this.#originAllowed(origin) && !isSameOrigin(origin, host!)) {
      return { response: jsonError(403, -32000, "Forbidden: Origin not allowed") };
    }
    if (request.method === "OPTIONS") {
      const headers = origin === null ? {} : corsHeaders(origin, true);
      return {
        response: new Response(null, {
          status: 204,
          headers: { ...headers, Allow: ACCEPTED_METHODS },
        }),
      };
    }
    const cors = origin === null ? undefined : corsHeaders(origin, false);
    let tokenIndex = -1;
    if (this.#verifier !== undefined) {
      tokenIndex = this.#verifier.verify(request.headers.get("authorization"));
      if (tokenIndex < 0) {
        return {
          response: jsonError(401, -32000, "Unauthorized: a valid bearer token is required", {
            ...cors,
            "WWW-Authenticate": 'Bearer realm="mcp-run"',
          }),
        };
      }
    }
    const peerAddress = peer?.remoteAddr?.hostname ?? "unknown";
    const client = clientKey(clientAddress(peerAddress, request.headers, this.#trustedProxy));
    const refusal = this.#throttle(client, now, cors);
    if (refusal !== undefined) return { response: refusal };
    return { admitted: { client, tokenIndex, cors } };
  }

  #throttle(
    client: string,
    now: number,
    cors: Record<string, string> | undefined,
  ): Response | undefined {
    if (!this.#limits.take(client, now)) {
      return jsonError(429, -32000, "Too many requests", { ...cors, "Retry-After": "1" });
    }
    if (!this.#limits.acquire(client, now)) {
      return jsonError(429, -32000, "Too many concurrent requests", {
        ...cors,
        "Retry-After": "1",
      });
    }
    return undefined;
  }

  /**
   * Gives back the concurrency unit an admitted request held.
   *
   * @param client The client key from {@linkcode Admitted}.
   */
  release(client: string): void {
    this.#limits.release(client);
  }

  /**
   * Reads and parses a POST body within the size and time limits; other methods have none.
   * A body that arrives too slowly also closes its connection.
   *
   * @param request The request.
   * @param peer The connection, closed when the body is too slow.
   * @returns A refusal (405, 413, 408, 400) or the parsed body.
   */
  async readBody(request: Request, peer: Peer | undefined): Promise<BodyVerdict> {
    const method = request.method;
    if (method !== "GET" && method !== "POST" && method !== "DELETE") {
      return {
        response: jsonError(405, -32000, "Method not allowed", { Allow: ACCEPTED_METHODS }),
      };
    }
    if (method !== "POST") return { body: undefined };
    const { maxBodyBytes, bodyTimeoutMs } = this.#options;
    const text = await readBody(request, maxBodyBytes, bodyTimeoutMs);
    if (text === "too-large") {
      return {
        response: jsonError(413, -32000, `Request body must not exceed ${maxBodyBytes} bytes`),
      };
    }
    if (text === "too-slow") {
      peer?.close?.();
      return {
        response: jsonError(408, -32000, `Request body must arrive within ${bodyTimeoutMs} ms`, {
          Connection: "close",
        }),
      };
    }
    try {
      return { body: JSON.parse(text) };
    } catch {
      return { response: jsonError(400, -32700, "Parse error: invalid JSON") };
    }
  }
}

function healthz(request: Request): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return jsonError(405, -32000, "Method not allowed", { Allow: "GET, HEAD" });
  }
  return Response.json({ status: "ok" });
}
