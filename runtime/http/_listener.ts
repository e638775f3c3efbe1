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

type Handler = (request: Request, info: ConnectionInfo) => Promise<Response>;

/** The open connections: who may connect, the header deadline of each, and their ends. */
class Connections {
  readonly #serve: ServeOnConnection;
  readonly #handler: Handler;
  readonly #options: ListenHttpOptions;
  readonly #open = new Set<Connection>();
  readonly #perClient = new Map<string, number>();
  readonly #ended = new Set<Promise<void>>();
  /** Set once shutting down: every new connection is refused. */
  stopping = false;

  constructor(serve: ServeOnConnection, handler: Handler, options: ListenHttpOptions) {
    this.#serve = serve;
    this.#handler = handler;
    this.#options = options;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Serves an accepted connection, or closes it at once when a cap is reached. */
  admit(conn: Deno.Conn): void {
    const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
    const key = clientKey(peer);
    const count = this.#perClient.get(key) ?? 0;
    const exempt = this.#options.exempt?.(peer) ?? false;
    if (
      this.stopping || this.#open.size >= this.#options.maxConnections ||
      (!exempt && count >= this.#options.maxConnectionsPerClient)
    ) {
      closeQuietly(conn);
      return;
    }
    this.#perClient.set(key, count + 1);
    const connection: Connection = {
      key,
      abort: new AbortController(),
      timer: undefined,
      active: 0,
    };
    this.#open.add(connection);
    this.#arm(connection);
    try {
      connection.server = this.#serveConnection(conn, connection);
    } catch (error) {
      this.#release(connection);
      closeQuietly(conn);
      this.#options.onError?.(error as Error);
      return;
    }
    const end = connection.server.finished.catch(() => {}).finally(() => {
      this.#release(connection);
      this.#ended.delete(end);
    });
    this.#ended.add(end);
  }

  /**
   * Lets the requests in flight finish for `graceMs`, then closes every connection.
   *
   * @returns When every connection has ended.
   */
  async close(graceMs: number): Promise<void> {
    const graceful = Promise.all(
      [...this.#open].map((connection) => connection.server?.shutdown().catch(() => {})),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      graceful,
      new Promise((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
    for (const connection of this.#open) connection.abort.abort();
    while (this.#ended.size > 0) await Promise.all([...this.#ended]);
  }

  #serveConnection(conn: Deno.Conn, connection: Connection): ConnectionServer {
    const info: ConnectionInfo = {
      remoteAddr: conn.remoteAddr as Deno.NetAddr,
      close: () => connection.abort.abort(),
    };
    return this.#serve(
      conn,
      connection.abort.signal,
      (request, served) => {
        // The headers arrived: no deadline until the last response of the connection ends.
        clearTimeout(connection.timer);
        connection.active++;
        const done = (): void => {
          connection.active--;
          if (connection.active === 0 && this.#open.has(connection)) this.#arm(connection);
        };
        if (served.completed !== undefined) served.completed.then(done, done);
        else done();
        return this.#handler(request, info);
      },
      (error) => {
        this.#options.onError?.(error as Error);
        return new Response("Internal error", { status: 500 });
      },
      () => {},
    );
  }

  #arm(connection: Connection): void {
    clearTimeout(connection.timer);
    connection.timer = setTimeout(
      () => connection.abort.abort(),
      this.#options.headersTimeoutMs,
    );
  }

  #release(connection: Connection): void {
    clearTimeout(connection.timer);
    if (!this.#open.delete(connection)) return;
    const left = (this.#perClient.get(connection.key) ?? 1) - 1;
    if (left > 0) this.#perClient.set(connection.key, left);
    else this.#perClient.delete(connection.key);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/** Accepts connections until the listener closes; a failed accept waits and goes on. */
async function acceptAll(
  listener: Deno.Listener,
  connections: Connections,
  onError: ((error: Error) => void) | undefined,
): Promise<void> {
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (connections.stopping || error instanceof Deno.errors.BadResource) return;
      // Out of file descriptors, say: wait for connections to close, then go on.
      onError?.(error as Error);
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    connections.admit(conn);
  }
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
export function listenHttp(handler: Handler, options: ListenHttpOptions): HttpListener {
  const serve = serveOnConnection();
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const connections = new Connections(serve, handler, options);
  const accepting = acceptAll(listener, connections, options.onError);
  let shutting: Promise<void> | undefined;
  const shutdown = (graceMs = 1000): Promise<void> => {
    shutting ??= (async () => {
      connections.stopping = true;
      try {
        listener.close();
      } catch { /* closed */ }
      await accepting;
      await connections.close(graceMs);
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
      return connections.size;
    },
    shutdown,
  };
}
