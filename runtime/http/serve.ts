/**
 * Listens on a TCP address and serves an {@linkcode HttpBridge}: loopback by default, and a
 * non-loopback address only with authentication (an authorizer or bearer tokens) or when
 * explicitly public. Connections are accepted by mcp-run itself:
 * capped overall and per client address, and closed when the headers of a request do not
 * arrive in time (slow-header attacks); slow bodies are cut by the bridge. Shutdown ends every
 * session and server process before the listener closes.
 *
 * @module
 */
import type { HttpBridge, HttpBridgeOptions } from "./bridge.ts";
import { BridgeCore } from "./_bridge_core.ts";
import { loopbackHosts } from "./_host_origin.ts";
import { type HttpListener, listenHttp } from "./_listener.ts";

/** Options for {@linkcode serveHttpBridge}. */
export interface ServeHttpBridgeOptions extends Omit<HttpBridgeOptions, "allowedHosts"> {
  /**
   * Address to bind. Default `127.0.0.1`. Anything but loopback requires `authorizer`,
   * `tokens` or `public`.
   */
  hostname?: string;
  /**
   * Serve without authentication beyond loopback, on purpose: for a server safe to share, whose
   * tools are limited by an allowlist (the caller's duty: `mcp-run serve --public` checks it).
   * Default false.
   */
  public?: boolean;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Extra accepted `Host` values beside the loopback names and the bound address (needed when
   * clients reach the bridge by a DNS name or through a proxy).
   */
  allowedHosts?: readonly string[];
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /**
   * Time a connection has to send the complete headers of a request, counted from its opening
   * or from the end of its previous response (an idle kept-alive connection is closed after it
   * too). Default 10 s.
   */
  headersTimeoutMs?: number;
  /** Most connections open at once; more are closed on arrival. Default 512. */
  maxConnections?: number;
  /**
   * Most connections one client address (an IPv6 /64) may hold open; more are closed on
   * arrival. Trusted proxies (`trustProxy`) are exempt: they carry many clients. Default 64.
   */
  maxConnectionsPerClient?: number;
}

/** A listening bridge. */
export interface HttpBridgeServer {
  /** The bound address. */
  addr: Deno.NetAddr;
  /** The MCP endpoint URL. */
  url: string;
  /** The bridge (stats, handler). */
  bridge: HttpBridge;
  /** TCP connections open now. */
  readonly connections: number;
  /** Resolves once the listener and every server process have ended. */
  finished: Promise<void>;
  /** Ends every session and server process, then closes the listener. */
  shutdown(): Promise<void>;
}

/**
 * Whether a bind address is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
 *
 * @param hostname The address.
 * @returns True for loopback.
 * @example
 * ```ts
 * isLoopbackAddress("127.0.0.1"); // true
 * isLoopbackAddress("0.0.0.0"); // false
 * ```
 */
export function isLoopbackAddress(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const match = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match !== null && match.slice(1).every((part) => Number(part) <= 255);
}

/** Options for {@linkcode checkBindAddress}. */
export interface CheckBindAddressOptions {
  /** The bridge is meant to be reachable by anyone (`--public`). Default false. */
  public?: boolean;
}

/**
 * Refuses a bind that would expose the bridge without authentication, unless it is public on
 * purpose.
 *
 * @param hostname The address to bind.
 * @param authenticated Whether requests are authenticated (an authorizer or bearer tokens).
 * @param options Whether the bridge is public on purpose.
 * @throws {RangeError} If the address is not loopback, there is no authentication and the
 *   bridge is not public.
 * @example
 * ```ts
 * checkBindAddress("127.0.0.1", false); // fine
 * checkBindAddress("0.0.0.0", false, { public: true }); // fine
 * // checkBindAddress("0.0.0.0", false) throws
 * ```
 */
export function checkBindAddress(
  hostname: string,
  authenticated: boolean,
  options: CheckBindAddressOptions = {},
): void {
  if (isLoopbackAddress(hostname) || authenticated || options.public) return;
  throw new RangeError(
    `Cannot listen on "${hostname}" without authentication: pass --auth oauth with ` +
      "--public-url, or a bearer token with --token-file (or --public for a server safe to " +
      "share, with a tool allowlist), or listen on 127.0.0.1",
  );
}

/**
 * The `Host` values accepted by default for a bind: the loopback names, and the bound address
 * itself unless it is a wildcard (`0.0.0.0`, `::`).
 *
 * @param hostname The bound address.
 * @param port The bound port.
 * @returns The allowed hosts.
 * @example
 * ```ts
 * defaultAllowedHosts("192.0.2.7", 8080);
 * // ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "192.0.2.7:8080"]
 * ```
 */
export function defaultAllowedHosts(hostname: string, port: number): string[] {
  const hosts = loopbackHosts(port);
  const host = hostname.replace(/^\[|\]$/g, "");
  if (host === "0.0.0.0" || host === "::" || isLoopbackAddress(host)) return hosts;
  hosts.push(host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
  return hosts;
}

/**
 * Starts an HTTP bridge on a TCP address.
 *
 * Requires `--allow-net` for the address, plus what `connect` needs (usually `--allow-run`).
 *
 * @param options Address, allow lists, authorizer (or tokens), limits and the server factory.
 * @returns The running server.
 * @throws {RangeError} If binding beyond loopback without authentication (and not `public`),
 *   or a limit is invalid.
 * @throws {TypeError} If an allow-list or trusted-proxy entry is malformed.
 * @throws {Deno.errors.AddrInUse} If the port is already in use.
 * @example
 * ```ts ignore
 * const server = await serveHttpBridge({ connect, port: 8080 });
 * console.log(server.url); // http://127.0.0.1:8080/mcp
 * await server.shutdown();
 * ```
 */
// Async so that every refusal, even before binding, is a rejected promise.
export async function serveHttpBridge(options: ServeHttpBridgeOptions): Promise<HttpBridgeServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  checkBindAddress(
    hostname,
    options.authorizer !== undefined || (options.tokens?.length ?? 0) > 0,
    { public: options.public },
  );
  const allowedHosts: string[] = [...(options.allowedHosts ?? [])];
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const maxConnections = options.maxConnections ?? 512;
  const maxConnectionsPerClient = options.maxConnectionsPerClient ?? 64;
  for (
    const [name, value] of Object.entries({
      headersTimeoutMs,
      maxConnections,
      maxConnectionsPerClient,
    })
  ) {
    if (!(value > 0)) throw new RangeError(`Cannot serve the bridge: "${name}" must be positive`);
  }
  // Built (and so validated) before binding; the listener's own hosts are known once bound.
  const { public: _public, ...bridgeOptions } = options;
  const core = new BridgeCore({ ...bridgeOptions, allowedHosts });
  const port = options.port ?? 0;
  let server: HttpListener;
  try {
    server = listenHttp((request, info) => core.handler(request, info), {
      hostname,
      port,
      headersTimeoutMs,
      maxConnections,
      maxConnectionsPerClient,
      exempt: core.trustedProxy,
      onError: options.onError,
    });
  } catch (error) {
    await core.close();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Deno.errors.AddrInUse(
        `Cannot listen on port ${port} of "${hostname}": the port is already in use`,
        { cause: error },
      );
    }
    throw error;
  }
  const addr = server.addr;
  core.allowHosts(defaultAllowedHosts(hostname, addr.port));
  const running: HttpBridge = {
    handler: (request, info) => core.handler(request, info),
    close: () => core.close(),
    stats: () => core.stats(),
  };
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      await running.close();
      await server.shutdown();
    })();
    return stopping;
  };
  options.signal?.addEventListener("abort", () => shutdown(), { once: true });
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    addr,
    url: `http://${host}:${addr.port}${options.path ?? "/mcp"}`,
    bridge: running,
    get connections() {
      return server.connections;
    },
    finished: server.finished.then(() => stopping),
    shutdown,
  };
}
