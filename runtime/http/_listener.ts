/**
 * A TCP listener for the HTTP bridge that accepts connections itself, so that it can refuse
 * and close them: caps on open connections (overall and per client address) and a deadline for
 * the headers of each request (from the connection's start, or from the end of the previous
 * response on a kept-alive connection). Each admitted connection is served by Deno's own HTTP
 * server (hyper), one connection at a time.
 *
 * `Deno.serve` has no read timeout and no connection limit (Deno 2.9): a client trickling its
 * headers a byte at a time keeps its connection, and its file descriptor, for ever. Deno's
 * runtime serves a single accepted connection through `serveHttpOnConnection`, an internal
 * function (`Deno[Deno.internal]`) present since Deno 1.36; it is checked for at start.
 *
 * @module
 */
import { clientKey } from "./_client_address.ts";

/** What a request handler learns about its connection. */
export interface ConnectionInfo {
  /** The TCP peer. */
  remoteAddr: Deno.NetAddr;
  /** Closes the connection at once (a body that arrives too slowly). */
  close(): void;
}

/** Options for {@linkcode listenHttp}. */
export interface ListenHttpOptions {
  /** Address to bind. */
  hostname: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Time a connection has to deliver the headers of its next request. */
  headersTimeoutMs: number;
  /** Most connections open at once; more are closed as soon as they are accepted. */
  maxConnections: number;
  /** Most connections one client address (an IPv6 /64) may hold open. */
  maxConnectionsPerClient: number;
  /** Peers exempt from the per-client cap (trusted reverse proxies, which carry many clients). */
  exempt?: (address: string) => boolean;
  /** Called with errors that reach no client. */
  onError?: (error: Error) => void;
}

/** A listening server. */
export interface HttpListener {
  /** The bound address. */
  addr: Deno.NetAddr;
  /** Resolves once the listener and every connection have closed. */
  finished: Promise<void>;
  /** Open connections. */
  readonly connections: number;
  /**
   * Stops accepting, lets the requests in flight finish for `graceMs`, then closes every
   * connection.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** What `serveHttpOnConnection` returns (the shape `Deno.serve` returns). */
interface ConnectionServer {
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: (request: Request, info: { completed?: Promise<void> }) => Response | Promise<Response>,
  onError: (error: unknown) => Response,
  onListen: () => void,
) => ConnectionServer;

function serveOnConnection(): ServeOnConnection {
  const internal = (Deno as unknown as Record<symbol, Record<string, unknown>>)[
    (Deno as unknown as { internal: symbol }).internal
  ];
  const serve = internal?.serveHttpOnConnection;
  if (typeof serve !== "function") {
    throw new TypeError(
      `Cannot serve HTTP with connection limits on Deno ${Deno.version.deno}: it has no ` +
        "serveHttpOnConnection; use Deno 2.9",
    );
  }
  return serve as ServeOnConnection;
}

interface Connection {
  key: string;
  abort: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
  active: number;
  server?: ConnectionServer;
}

/**
 * Listens on a TCP address and serves HTTP/1.1 on each admitted connection.
 *
 * Requires `--allow-net` for the address.
 *
 * @param handler The request handler; its second argument names the peer and can close the
 *   connection.
 * @param options Address, deadline and caps.
 * @returns The listener.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {TypeError} If this Deno cannot serve single connections.
 * @example
 * ```ts ignore
 * const server = listenHttp(() => Promise.resolve(new Response("ok")), {
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   headersTimeoutMs: 10_000,
 *   maxConnections: 512,
 *   maxConnectionsPerClient: 64,
 * });
 * await server.shutdown();
 * ```
 */
export function listenHttp(
  handler: (request: Request, info: ConnectionInfo) => Promise<Response>,
  options: ListenHttpOptions,
): HttpListener {
  const serve = serveOnConnection();
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const open = new Set<Connection>();
  const perClient = new Map<string, number>();
  const ended = new Set<Promise<void>>();
  let stopping = false;

  const arm = (connection: Connection): void => {
    clearTimeout(connection.timer);
    connection.timer = setTimeout(() => connection.abort.abort(), options.headersTimeoutMs);
  };

  const admit = (conn: Deno.Conn): void => {
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    const key = clientKey(peer);
    const count = perClient.get(key) ?? 0;
    const exempt = options.exempt?.(peer) ?? false;
    if (
      stopping || open.size >= options.maxConnections ||
      (!exempt && count >= options.maxConnectionsPerClient)
    ) {
      try {
        conn.close();
      } catch { /* already closed */ }
      return;
    }
    perClient.set(key, count + 1);
    const connection: Connection = {
      key,
      abort: new AbortController(),
      timer: undefined,
      active: 0,
    };
    open.add(connection);
    arm(connection);
    const info: ConnectionInfo = {
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      close: () => connection.abort.abort(),
    };
    const release = (): void => {
      clearTimeout(connection.timer);
      if (!open.delete(connection)) return;
      const left = (perClient.get(key) ?? 1) - 1;
      if (left > 0) perClient.set(key, left);
      else perClient.delete(key);
    };
    try {
      connection.server = serve(
        conn,
        connection.abort.signal,
        (request, served) => {
          clearTimeout(connection.timer);
          connection.active++;
          const done = (): void => {
            connection.active--;
            if (connection.active === 0 && open.has(connection)) arm(connection);
          };
          if (served.completed !== undefined) served.completed.then(done, done);
          else done();
          return handler(request, info);
        },
        (error) => {
          options.onError?.(error as Error);
          return new Response("Internal error", { status: 500 });
        },
        () => {},
      );
    } catch (error) {
      release();
      try {
        conn.close();
      } catch { /* already closed */ }
      options.onError?.(error as Error);
      return;
    }
    const end = connection.server.finished.catch(() => {}).finally(() => {
      release();
      ended.delete(end);
    });
    ended.add(end);
  };

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping || error instanceof Deno.errors.BadResource) return;
        // Out of file descriptors, say: wait for connections to close, then go on.
        options.onError?.(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      admit(conn);
    }
  })();

  let shutting: Promise<void> | undefined;
  const shutdown = (graceMs = 1000): Promise<void> => {
    shutting ??= (async () => {
      stopping = true;
      try {
        listener.close();
      } catch { /* closed */ }
      await accepting;
      const connections = [...open];
      const graceful = Promise.all(
        connections.map((connection) => connection.server?.shutdown().catch(() => {})),
      );
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        graceful,
        new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
      for (const connection of open) connection.abort.abort();
      while (ended.size > 0) await Promise.all([...ended]);
    })();
    return shutting;
  };

  const finished = (async () => {
    await accepting;
    await shutdown();
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    finished,
    get connections() {
      return open.size;
    },
    shutdown,
  };
}
