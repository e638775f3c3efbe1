/**
 * The bridge's sessions: found by id only with the principal that created them, counted per client
 * and in total, and ended when idle. The table decides which session ends; what ending means
 * (closing its stream, leaving its server) is the caller's.
 *
 * @module
 */

/** What the table needs to know of a session. */
export interface SessionEntry {
  /** The session id, once the SDK transport assigned one. */
  id: string | undefined;
  /** The per-client key of the client that created it. */
  readonly client: string;
  /**
   * The principal that created it: the authorizer's key (a bearer token, an OAuth sign-in), or
   * the empty string without authentication.
   */
  readonly principal: string;
  /** When it last received a request (ms since the epoch). */
  lastActivity: number;
  /** Client requests waiting for the server: a busy session is never ended for idleness. */
  readonly inflight: number;
}

/** Options for {@linkcode SessionTable}. */
export interface SessionTableOptions<S extends SessionEntry> {
  /** Most sessions at once. */
  maxSessions: number;
  /** Most sessions one client may hold. */
  maxSessionsPerClient: number;
  /** A session idle this long (ms) is ended by {@linkcode SessionTable.sweep}. */
  idleTimeoutMs: number;
  /** Ends a session the table chose to end (idle, or making room). Must call `remove`. */
  end: (session: S) => void;
  /** Other server processes counted against `maxSessions` (none by default). */
  others?: () => number;
}

/** Why a new session cannot be admitted. */
export type SessionRefusal = "client-full" | "full";

/** The live sessions of a bridge. */
export class SessionTable<S extends SessionEntry> {
  readonly #options: SessionTableOptions<S>;
  readonly #byId = new Map<string, S>();
  readonly #live = new Set<S>();

  /** @param options Limits and how to end a session. */
  constructor(options: SessionTableOptions<S>) {
    this.#options = options;
  }

  /** Number of live sessions, with or without an id yet. */
  get size(): number {
    return this.#live.size;
  }

  /** The live sessions, as a copy. */
  all(): S[] {
    return [...this.#live];
  }

  /**
   * Makes room for a new session of `client`, then checks the total (sessions and the other
   * processes sharing the budget). At the per-client limit,
   * that client's least recently used session with no request in flight (and created with the
   * same principal) is ended.
   *
   * @param client The client key.
   * @param principal The principal it authenticated as.
   * @returns Undefined when a session may be added, else why not.
   */
  admit(client: string, principal: string): SessionRefusal | undefined {
    let count = 0;
    let oldest: S | undefined;
    for (const session of this.#live) {
      if (session.client !== client) continue;
      count++;
      if (session.principal !== principal || session.inflight > 0) continue;
      if (oldest === undefined || session.lastActivity < oldest.lastActivity) oldest = session;
    }
    if (count >= this.#options.maxSessionsPerClient) {
      if (oldest === undefined) return "client-full";
      this.#options.end(oldest);
    }
    const others = this.#options.others?.() ?? 0;
    if (this.#live.size + others >= this.#options.maxSessions) return "full";
    return undefined;
  }

  /**
   * Adds a session (it has no id yet).
   *
   * @param session The session.
   */
  add(session: S): void {
    this.#live.add(session);
  }

  /**
   * Records the id the transport gave a session.
   *
   * @param session The session.
   * @param id Its id.
   */
  bind(session: S, id: string): void {
    session.id = id;
    // A session ended while its first request was handled is not found again.
    if (this.#live.has(session)) this.#byId.set(id, session);
  }

  /**
   * Finds a session by id: only with the principal that created it.
   *
   * @param id The `Mcp-Session-Id` header.
   * @param principal The principal of the request.
   * @returns The session, or undefined.
   */
  find(id: string, principal: string): S | undefined {
    const session = this.#byId.get(id);
    if (session === undefined || !this.#live.has(session)) return undefined;
    return session.principal === principal ? session : undefined;
  }

  /**
   * Forgets a session.
   *
   * @param session The session.
   */
  remove(session: S): void {
    this.#live.delete(session);
    if (session.id !== undefined && this.#byId.get(session.id) === session) {
      this.#byId.delete(session.id);
    }
  }

  /**
   * Ends every session idle longer than the idle timeout with no request in flight.
   *
   * @param now The current time (ms since the epoch).
   */
  sweep(now: number): void {
    for (const session of [...this.#live]) {
      if (session.inflight === 0 && now - session.lastActivity > this.#options.idleTimeoutMs) {
        this.#options.end(session);
      }
    }
  }
}
