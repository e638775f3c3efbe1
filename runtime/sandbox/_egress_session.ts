/**
 * One client connection of the egress proxy and the upstream connection it leads to: closed
 * together, with one deadline the proxy's sweeper enforces (head, connect or idle timeout).
 *
 * @module
 */

/** A client connection of the egress proxy, with its upstream connection once there is one. */
export class EgressSession {
  /** The client's connection (from the forwarder). */
  readonly client: Deno.Conn;
  /** When the sweeper closes the session, in `Date.now()` milliseconds. */
  deadline: number;
  #conns: Deno.Conn[];
  #closed = false;
  #ended: Promise<undefined>;
  #end!: () => void;

  /**
   * Starts a session for a client connection.
   *
   * @param client The client's connection.
   * @param timeoutMs Time allowed before the first deadline.
   */
  constructor(client: Deno.Conn, timeoutMs: number) {
    this.client = client;
    this.#conns = [client];
    this.deadline = Date.now() + timeoutMs;
    this.#ended = new Promise((resolve) => this.#end = () => resolve(undefined));
  }

  /**
   * Moves the deadline to `timeoutMs` from now.
   *
   * @param timeoutMs Time allowed from now.
   */
  extend(timeoutMs: number): void {
    this.deadline = Date.now() + timeoutMs;
  }

  /**
   * Waits for a promise unless the session ends first.
   *
   * @param promise What to wait for.
   * @returns Its value, or `undefined` when the session ended first.
   */
  race<T>(promise: Promise<T>): Promise<T | undefined> {
    return Promise.race([promise, this.#ended]);
  }

  /**
   * Connects upstream; the connection belongs to the session (closed with it), and one that
   * completes after the session ended is closed at once.
   *
   * @param options Where to connect (an address literal and a port).
   * @returns The connection, or `undefined` when the session ended first.
   * @throws {Error} When the connection fails.
   */
  connect(options: Deno.ConnectOptions): Promise<Deno.Conn | undefined> {
    const pending = Deno.connect(options);
    pending.then((conn) => {
      if (this.#closed) closeQuietly(conn);
      else this.#conns.push(conn);
    }, () => {});
    return this.race(pending);
  }

  /** Closes the client and upstream connections (again is a no-op). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#end();
    for (const conn of this.#conns) closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}

/**
 * Writes all of a buffer.
 *
 * @param conn Where to write.
 * @param bytes What to write.
 */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/**
 * Copies bytes from one connection to another through one 32 KiB buffer, until the end of input
 * or `limit` bytes.
 *
 * @param from Where to read.
 * @param to Where to write.
 * @param touch Called whenever bytes move (for the idle timer).
 * @param limit Most bytes to copy (default: until the end of input).
 */
export async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  touch: () => void,
  limit = Infinity,
): Promise<void> {
  const buf = new Uint8Array(32 * 1024);
  let left = limit;
  while (left > 0) {
    const n = await from.read(buf.subarray(0, Math.min(buf.length, left)));
    if (n === null) return;
    touch();
    await writeAll(to, buf.subarray(0, n));
    left -= n;
  }
}
