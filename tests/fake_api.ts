/**
 * A fake HTTPS API for end-to-end tests, run inside a network namespace by
 * {@linkcode ./fake_internet.ts}. It answers on port 443 of every given address with canned
 * routes and logs each request (method, host, path, headers) as one JSON line.
 *
 * Usage: `deno run -A tests/fake_api.ts <config.json>`.
 *
 * @module
 */

/** A canned answer. */
export interface FakeRoute {
  /** Request path prefix (query string excluded), e.g. `/search/repositories`. */
  path: string;
  /** HTTP method; any when absent. */
  method?: string;
  /** Status code (default 200). */
  status?: number;
  /** JSON body; `text` is used when absent. */
  json?: unknown;
  /** Text body. */
  text?: string;
  /** Content type for `text` (default text/plain). */
  contentType?: string;
  /** More response headers, e.g. `{ location: "http://10.99.0.10/" }` for a redirect. */
  headers?: Record<string, string>;
}

/** What the fake API serves. */
export interface FakeApiConfig {
  /** Addresses to listen on (port 443). */
  addresses: string[];
  /** PEM certificate (chain) and key for every faked host. */
  cert: string;
  key: string;
  /** Routes, first match wins; unmatched requests get 404 JSON. */
  routes: FakeRoute[];
  /** JSONL request log. */
  log: string;
  /** File written once every address listens. */
  ready: string;
  /** Also answer plain HTTP on this port of every address (e.g. 80), with the same routes. */
  httpPort?: number;
}

/** One logged request. */
export interface FakeRequest {
  method: string;
  host: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  /** The address the request arrived on. */
  address: string;
}

function handler(config: FakeApiConfig, address: string): Deno.ServeHandler {
  return async (request) => {
    const url = new URL(request.url);
    const entry: FakeRequest = {
      method: request.method,
      // HTTP/2 has no Host header: the authority is in the URL.
      host: request.headers.get("host") ?? url.host,
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(request.headers),
      body: (await request.text()).slice(0, 4000),
      address,
    };
    Deno.writeTextFileSync(config.log, JSON.stringify(entry) + "\n", { append: true });
    const route = config.routes.find((r) =>
      url.pathname.startsWith(r.path) && (!r.method || r.method === request.method)
    );
    if (!route) return Response.json({ message: "Not Found" }, { status: 404 });
    if (route.json !== undefined) {
      return Response.json(route.json, { status: route.status, headers: route.headers });
    }
    return new Response(route.text ?? "", {
      status: route.status,
      headers: { "content-type": route.contentType ?? "text/plain", ...route.headers },
    });
  };
}

if (import.meta.main) {
  const config: FakeApiConfig = JSON.parse(Deno.readTextFileSync(Deno.args[0]));
  const listeners = config.addresses.length * (config.httpPort ? 2 : 1);
  let listening = 0;
  const onListen = (): void => {
    if (++listening === listeners) Deno.writeTextFileSync(config.ready, "ok");
  };
  for (const address of config.addresses) {
    Deno.serve(
      { hostname: address, port: 443, cert: config.cert, key: config.key, onListen },
      handler(config, address),
    );
    if (config.httpPort) {
      Deno.serve({ hostname: address, port: config.httpPort, onListen }, handler(config, address));
    }
  }
}
