/**
 * Host and Origin allow lists for the HTTP bridge (DNS-rebinding and cross-site protection),
 * compiled once, and the CORS headers for an allowed origin. No wildcard is ever accepted.
 *
 * @module
 */

/** A compiled allow list: returns whether a header value is allowed. */
export type HeaderCheck = (value: string | null) => boolean;

function parseHost(value: string): URL | undefined {
  if (value === "" || /[\s/?#@\\]/.test(value)) return undefined;
  try {
    return new URL(`http://${value}`);
  } catch {
    return undefined;
  }
}

/**
 * Compiles a list of allowed `Host` header values. An entry with a port (`example.com:8080`)
 * matches only that port; an entry without one (`example.com`) matches that name on any port.
 * Names compare case-insensitively; IPv6 addresses are written in brackets (`[::1]:8080`).
 *
 * @param allowed The allowed hosts.
 * @returns A check that rejects a missing or unlisted `Host`.
 * @throws {TypeError} If an entry is a wildcard or not a host name.
 * @example
 * ```ts
 * const check = compileHostCheck(["localhost:8080"]);
 * check("localhost:8080"); // true
 * check("evil.example:8080"); // false
 * ```
 */
export function compileHostCheck(allowed: readonly string[]): HeaderCheck {
  const exact = new Set<string>();
  const anyPort = new Set<string>();
  for (const entry of allowed) {
    if (entry.includes("*")) {
      throw new TypeError(
        `Cannot allow host "${entry}": wildcards are not accepted, list each host name`,
      );
    }
    const url = parseHost(entry);
    if (url === undefined) {
      throw new TypeError(
        `Cannot allow host "${entry}": expected a host name with an optional port`,
      );
    }
    const hasPort = url.port !== "" || /:\d+$/.test(entry);
    if (hasPort) exact.add(url.host);
    else anyPort.add(url.hostname);
  }
  return memoize((value) => {
    if (value === null) return false;
    const url = parseHost(value);
    if (url === undefined) return false;
    return exact.has(url.host) || anyPort.has(url.hostname);
  });
}

/** Caches the answers for the last few distinct values (clients repeat the same headers). */
function memoize(check: HeaderCheck, size = 64): HeaderCheck {
  const cache = new Map<string | null, boolean>();
  return (value) => {
    let answer = cache.get(value);
    if (answer === undefined) {
      answer = check(value);
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
      cache.set(value, answer);
    }
    return answer;
  };
}

function normalizeOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.username !== "" || url.password !== "") return undefined;
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    return undefined;
  }
  return url.origin;
}

/**
 * Compiles a list of allowed `Origin` header values (`https://app.example.com`). A request
 * without an `Origin` (not from a browser) passes; `null` and unlisted origins do not.
 *
 * @param allowed The allowed origins: scheme, host and optional port, nothing else.
 * @returns A check for the `Origin` header.
 * @throws {TypeError} If an entry is a wildcard or not an http(s) origin.
 * @example
 * ```ts
 * const check = compileOriginCheck(["https://app.example.com"]);
 * check(null); // true
 * check("https://evil.example"); // false
 * ```
 */
export function compileOriginCheck(allowed: readonly string[]): HeaderCheck {
  const origins = new Set<string>();
  for (const entry of allowed) {
    if (entry.includes("*")) {
      throw new TypeError(
        `Cannot allow origin "${entry}": wildcards are not accepted, list each origin`,
      );
    }
    const origin = normalizeOrigin(entry);
    if (origin === undefined) {
      throw new TypeError(
        `Cannot allow origin "${entry}": expected scheme://host[:port], for example https://app.example.com`,
      );
    }
    origins.add(origin);
  }
  return memoize((value) => {
    if (value === null) return true;
    const origin = normalizeOrigin(value);
    return origin !== undefined && origins.has(origin);
  });
}

/**
 * The `Host` values a loopback listener on `port` answers to.
 *
 * @param port The listening port.
 * @returns `localhost`, `127.0.0.1` and `[::1]` with that port.
 * @example
 * ```ts
 * loopbackHosts(8080); // ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"]
 * ```
 */
export function loopbackHosts(port: number): string[] {
  return ["localhost", "127.0.0.1", "[::1]"].map((host) => `${host}:${port}`);
}

/**
 * CORS response headers for an allowed origin: that origin only, never `*`.
 *
 * @param origin The request's (allowed) `Origin`.
 * @param preflight Whether this answers an `OPTIONS` preflight.
 * @returns The headers to add.
 * @example
 * ```ts
 * corsHeaders("https://app.example.com", false)["Access-Control-Allow-Origin"];
 * // "https://app.example.com"
 * ```
 */
export function corsHeaders(origin: string, preflight: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Expose-Headers": "Mcp-Session-Id, WWW-Authenticate",
    "Vary": "Origin",
  };
  if (preflight) {
    headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE";
    headers["Access-Control-Allow-Headers"] =
      "Authorization, Content-Type, Accept, Last-Event-ID, Mcp-Session-Id, Mcp-Protocol-Version";
    headers["Access-Control-Max-Age"] = "600";
  }
  return headers;
}
