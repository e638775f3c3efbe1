/**
 * Admission: what the bridge decides about a request before any session or server process sees
 * it. `Host` and `Origin`, the authorizer's own routes (OAuth discovery, sign-in, tokens), the
 * path, CORS preflight, the authorizer's credential check, per-client rate and concurrency, then
 * body size and time. Each step answers with a refusal or lets the request through; nothing
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
import type { RequestAuthorizer } from "./_authorizer.ts";
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
  /** Who may use the MCP endpoint, and its own routes; none means no authentication. */
  authorizer?: RequestAuthorizer;
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

/** The principal of requests admitted without authentication. */
export const ANONYMOUS = "";

/** A request let through: who sent it, as whom, and the CORS headers to add. */
export interface Admitted {
  /** The per-client key (IP address, IPv6 per /64). */
  client: string;
  /**
   * The authorizer's principal key (sessions are bound to it), or {@linkcode ANONYMOUS}
   * without authentication.
   */
  principal: string;
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
  readonly #authorizer: RequestAuthorizer | undefined;
  readonly #limits: ClientLimits;

  /**
   * @param options Allow lists, the authorizer and limits.
   * @throws {TypeError} If an allow-list or proxy entry is malformed.
   * @throws {RangeError} If a limit is not positive.
   */
  constructor(options: AdmissionOptions) {
    this.#options = options;
    this.#hosts = options.allowedHosts;
    this.#hostAllowed = compileHostCheck(options.allowedHosts);
    this.#originAllowed = compileOriginCheck(options.allowedOrigins);
    this.#trustedProxy = compileTrustedProxies(options.trustProxy);
    this.#authorizer = options.authorizer;
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
   * Decides on a request from its line and headers (the body is not read): `/healthz`, then
   * `Host` and `Origin`, then the authorizer's own routes (any path but the MCP path; each costs
   * the client one unit of its rate), then the path, CORS preflight, the authorizer's check, and
   * the client's rate and concurrency.
   *
   * @param request The request.
   * @param peer The connection it came on.
   * @param now The current time in milliseconds (rate limits).
   * @returns A response to send at once, or the admitted request.
   */
  async admit(request: Request, peer: Peer | undefined, now: number): Promise<Verdict> {
    const pathname = pathOf(request.url);
    if (pathname === "/healthz") return { response: healthz(request) };
    const host = request.headers.get("host");
    if (!this.#hostAllowed(host)) {
      return { response: jsonError(403, -32000, "Forbidden: Host not allowed") };
    }
    const origin = request.headers.get("origin");
    if (!this.#originAllowed(origin) && !isSameOrigin(origin, host!)) {
      return { response: jsonError(403, -32000, "Forbidden: Origin not allowed") };
    }
    const cors = origin === null ? undefined : corsHeaders(origin, false);
    const authorizer = this.#authorizer;
    if (pathname !== this.#options.path) {
      if (authorizer === undefined) return { response: jsonError(404, -32000, "Not found") };
      const address = this.#address(request, peer);
      if (!this.#limits.take(clientKey(address), now)) {
        return { response: tooMany("Too many requests", cors) };
      }
      const answer = await authorizer.route(request, { address });
      return { response: withHeaders(answer ?? jsonError(404, -32000, "Not found"), cors) };
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
    let principal = ANONYMOUS;
    if (authorizer !== undefined) {
      const checked = await authorizer.check(request);
      if (typeof checked !== "string") return { response: withHeaders(checked, cors) };
      principal = checked;
    }
    const client = clientKey(this.#address(request, peer));
    const refusal = this.#throttle(client, now, cors);
    if (refusal !== undefined) return { response: refusal };
    return { admitted: { client, principal, cors } };
  }

  /** The client's address: the peer's, or the forwarded one from a trusted proxy. */
  #address(request: Request, peer: Peer | undefined): string {
    const peerAddress = peer?.remoteAddr?.hostname ?? "unknown";
    return clientAddress(peerAddress, request.headers, this.#trustedProxy);
  }

  #throttle(
    client: string,
    now: number,
    cors: Record<string, string> | undefined,
  ): Response | undefined {
    if (!this.#limits.take(client, now)) return tooMany("Too many requests", cors);
    if (!this.#limits.acquire(client, now)) return tooMany("Too many concurrent requests", cors);
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

function tooMany(message: string, cors: Record<string, string> | undefined): Response {
  return jsonError(429, -32000, message, { ...cors, "Retry-After": "1" });
}

/** The response with headers added (copied first when its headers are immutable). */
function withHeaders(response: Response, headers: Record<string, string> | undefined): Response {
  if (headers === undefined) return response;
  const copy = new Response(response.body, response);
  for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
  return copy;
}

function healthz(request: Request): Response {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return jsonError(405, -32000, "Method not allowed", { Allow: "GET, HEAD" });
  }
  return Response.json({ status: "ok" });
}
