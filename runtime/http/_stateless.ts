/**
 * Stateless requests (protocol 2026-07-28): each POST is self-contained. Each principal (the
 * credential a request was admitted with) gets its own process, started on its first request,
 * initialized once by the bridge (as a legacy client with no client capabilities), shared by that
 * principal's requests and ended after the idle timeout. A request without credentials (no
 * authentication, `--public`) names no one to share with: it gets a process of its own, ended
 * once it is answered (a subscription's, once the stream closes). In `shared` session mode the
 * bridge's one process serves them all. Requests of different principals never reach the same
 * process, so no state a server keeps (in memory, in its files) crosses from one to another.
 * Every process counts against the bridge's session budget.
 *
 * A request is one exchange on a temporary link of that process (`_exchange.ts`). Its answer is one JSON body, or, when
 * the client asked for progress (a progress token) or log messages (`_meta` logLevel), an event
 * stream scoped to the request: those notifications, then the answer. A client that goes away
 * (or closes that stream) cancels the request on the server. Server requests (sampling,
 * elicitation, roots) get an error: a stateless client takes none. `server/discover` is
 * answered from the server's `initialize`; `subscriptions/listen` opens a long-lived link
 * (`_listen.ts`); `initialize` belongs to the legacy generation and is refused here.
 *
 * @module
 */
import { BridgeErrorCode, type Message, type RequestId } from "./_messages.ts";
import type { Upstream } from "./_upstream.ts";
import { type Entry, exchange, type ExchangeHooks, notificationsWanted } from "./_exchange.ts";
import { filterOf, listen, type SubscriptionFilter } from "./_listen.ts";
import { eventStream } from "./_http_io.ts";
import { type HeaderParam, headerParamsOf, paramHeaderMismatch } from "./_param_headers.ts";
import {
  checkModernRequest,
  discoverResultOf,
  legacyMessageOf,
  modernError,
  ModernErrorCode,
  modernResultOf,
} from "./_protocol_era.ts";

/** Options for {@linkcode StatelessServers}. */
export interface StatelessServersOptions {
  /** Starts a server for one principal (not yet running: it starts on its first message). */
  start: () => Upstream;
  /** Ends a server started by `start`. */
  end: (upstream: Upstream) => void;
  /** In `shared` session mode: the one shared server, instead of one per principal. */
  shared?: () => Upstream;
  /** Whether another server process may be started now (the bridge's session budget). */
  canStart: () => boolean;
  /** A principal's server with no request for this long is ended (ms). */
  idleTimeoutMs: number;
}

/** Longest time a server's tool list is trusted for header checks without a change notice (ms). */
const TOOLS_MAX_AGE_MS = 60_000;

/** Most pages of `tools/list` read for the header check. */
const MAX_TOOL_PAGES = 20;

/** Most subscriptions one client address, and one principal, may hold open. */
const MAX_LISTENERS = 8;

/** Hooks of one stateless HTTP request. */
export interface StatelessHooks extends ExchangeHooks {
  /** The per-client key (address) it came from: subscriptions are counted per client too. */
  client?: string;
}

/** The server processes of stateless requests, one per principal. */
export class StatelessServers {
  readonly #options: StatelessServersOptions;
  readonly #entries = new Map<string, Entry>();
  /** Processes of single anonymous requests and subscriptions, ended with them. */
  readonly #ephemeral = new Set<Entry>();
  /** Open subscriptions per client key and per principal (`principal:` prefixed). */
  readonly #listeners = new Map<string, number>();
  readonly #closing = new AbortController();
  readonly #sharedEntries = new WeakMap<Upstream, Entry>();

  /** @param options How servers start and end, and the budget. */
  constructor(options: StatelessServersOptions) {
    this.#options = options;
  }

  /** Server processes held for stateless requests (principals' and single requests'). */
  get size(): number {
    return this.#entries.size + this.#ephemeral.size;
  }

  /**
   * Serves one modern POST.
   *
   * @param principal The key of the credential it was admitted with, or undefined for a request
   *   without credentials (served by a process of its own).
   * @param headers The request headers (mirrored values are checked against the body).
   * @param version The `MCP-Protocol-Version` header.
   * @param body The parsed body.
   * @param hooks The client key, cancellation and in-flight counting.
   * @returns The HTTP response: one JSON body or a request-scoped event stream, 202 for a
   *   notification, or a 4xx/5xx.
   */
  async serve(
    principal: string | undefined,
    headers: Headers,
    version: string,
    body: unknown,
    hooks: StatelessHooks = {},
  ): Promise<Response> {
    const checked = checkModernRequest(headers, version, body);
    if (checked instanceof Response) return checked;
    const message = checked;
    // No client notification is defined on this transport: accepted and dropped.
    if (message.id === undefined || message.id === null) return new Response(null, { status: 202 });
    const id = message.id;
    if (message.method === "initialize") {
      return modernError(
        400,
        id,
        BridgeErrorCode.InvalidRequest,
        `initialize is not part of protocol ${version}: send it without an MCP-Protocol-Version header to open a 2025-11-25 session, or send requests directly`,
      );
    }
    const listening = message.method === "subscriptions/listen";
    const filter = listening ? filterOf(message.params) : undefined;
    if (typeof filter === "string") {
      return modernError(400, id, -32602, `Invalid params: ${filter}`);
    }
    const keys = listening ? this.#listenerKeys(principal, hooks.client) : [];
    if (keys.some((key) => (this.#listeners.get(key) ?? 0) >= MAX_LISTENERS)) {
      return modernError(
        429,
        id,
        BridgeErrorCode.ServerUnavailable,
        `Too many subscriptions: at most ${MAX_LISTENERS} open at once per client address and per credential; close one first`,
        { "Retry-After": "5" },
      );
    }
    const entry = this.#entry(principal);
    if (entry === undefined) {
      return modernError(
        503,
        id,
        BridgeErrorCode.ServerUnavailable,
        "Too many sessions: try again later",
        { "Retry-After": "5" },
      );
    }
    if (filter !== undefined) return this.#listen(entry, keys, id, filter, hooks);
    entry.active++;
    entry.lastActivity = Date.now();
    const settled = () => {
      entry.active--;
      entry.lastActivity = Date.now();
      this.#release(entry);
    };
    const final = (answer: Message): Record<string, unknown> => {
      if (answer.error !== undefined) return { jsonrpc: "2.0", id, error: answer.error };
      const result = message.method === "server/discover"
        ? discoverResultOf(entry.upstream.initializeResult)
        : answer.result;
      return {
        jsonrpc: "2.0",
        id,
        result: modernResultOf(
          message.method!,
          result,
          entry.upstream.initializeResult?.serverInfo,
        ),
      };
    };
    if (message.method === "tools/call") {
      let mismatch: string | undefined | Response;
      try {
        mismatch = await this.#paramHeaderMismatch(entry, headers, message);
      } catch (error) {
        settled();
        throw error;
      }
      if (mismatch instanceof Response) {
        settled();
        return mismatch;
      }
      if (mismatch !== undefined) {
        settled();
        return modernError(400, id, ModernErrorCode.HeaderMismatch, `Header mismatch: ${mismatch}`);
      }
    }
    const relay = notificationsWanted(message, headers);
    if (relay === undefined) {
      let answer: Message;
      try {
        answer = await exchange(entry, legacyMessageOf(message), {
          ...hooks,
          shutdown: this.#closing.signal,
        });
      } finally {
        settled();
      }
      if (hooks.signal?.aborted) return new Response(null, { status: 499 });
      // 2026-07-28: an unknown method is a 404 as well as a -32601.
      const status = answer.error?.code === ModernErrorCode.MethodNotFound ? 404 : 200;
      return Response.json(final(answer), { status });
    }
    // An event stream scoped to the request: its notifications, then its answer.
    const cancel = new AbortController();
    hooks.signal?.addEventListener("abort", () => cancel.abort(), { once: true });
    // Closing the stream cancels the request (2026-07-28): the server is told.
    const stream = eventStream(() => cancel.abort());
    exchange(entry, legacyMessageOf(message), {
      signal: cancel.signal,
      inflight: hooks.inflight,
      shutdown: this.#closing.signal,
      notify: (note) => {
        if (relay(note)) stream.send(note);
      },
    }).then((answer) => {
      if (!cancel.signal.aborted) stream.send(final(answer));
      stream.close();
    }).finally(settled);
    return stream.response;
  }

  /**
   * Checks a call's `Mcp-Param-*` headers against the tool's `x-mcp-header` parameters. The
   * tools are listed once per server (by the bridge, through the guard) and listed again after
   * the server says they changed, or after {@linkcode TOOLS_MAX_AGE_MS}. Only a complete listing
   * is kept; concurrent calls share one listing under way, which no client's leaving cancels.
   *
   * @returns Undefined when the headers match, a mismatch, or a ready 503 when the tools could
   *   not be listed (the check fails closed).
   */
  async #paramHeaderMismatch(
    entry: Entry,
    headers: Headers,
    message: Message,
  ): Promise<string | undefined | Response> {
    let byName = entry.tools?.byName;
    if (entry.tools === undefined || Date.now() - entry.tools.at > TOOLS_MAX_AGE_MS) {
      entry.toolsListing ??= this.#listTools(entry).finally(() => {
        entry.toolsListing = undefined;
      });
      const listed = await entry.toolsListing;
      if (typeof listed === "string" && this.#closing.signal.aborted) {
        return modernError(
          503,
          message.id as RequestId,
          BridgeErrorCode.ServerUnavailable,
          "The server is shutting down",
        );
      }
      if (typeof listed === "string") {
        return modernError(
          503,
          message.id as RequestId,
          BridgeErrorCode.InternalError,
          `Cannot check the Mcp-Param headers: ${listed}; try again`,
          { "Retry-After": "1" },
        );
      }
      byName = listed;
    }
    const params = byName?.get(String(message.params?.name));
    // An unknown tool is the server's to refuse; an invalid one no conforming client calls.
    if (params === undefined || params.length === 0) return undefined;
    return paramHeaderMismatch(headers, params, message.params?.arguments);
  }

  /** Lists every tool's header parameters; keeps them when the listing is complete. */
  async #listTools(entry: Entry): Promise<Map<string, HeaderParam[] | undefined> | string> {
    const generation = entry.toolsGeneration ?? 0;
    const byName = new Map<string, HeaderParam[] | undefined>();
    let cursor: unknown;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const answer = await exchange(entry, {
        jsonrpc: "2.0",
        id: "mcp-run-tools-list",
        method: "tools/list",
        params: typeof cursor === "string" ? { cursor } : {},
      }, { shutdown: this.#closing.signal });
      const result = answer.result as { tools?: unknown; nextCursor?: unknown } | undefined;
      if (answer.error !== undefined) {
        return `the server's tools/list failed (${answer.error.message})`;
      }
      if (!Array.isArray(result?.tools)) return "the server's tools/list answer lists no tools";
      for (const tool of result.tools as { name?: unknown; inputSchema?: unknown }[]) {
        if (typeof tool?.name === "string") {
          byName.set(tool.name, headerParamsOf(tool.inputSchema));
        }
      }
      cursor = result.nextCursor;
      if (typeof cursor !== "string") {
        // A listing that began before a change notice may be stale: used once, not kept.
        if ((entry.toolsGeneration ?? 0) === generation) entry.tools = { at: Date.now(), byName };
        return byName;
      }
    }
    return `the server's tools/list has more than ${MAX_TOOL_PAGES} pages`;
  }

  /** The counters a subscription counts against: its client's, and its principal's. */
  #listenerKeys(principal: string | undefined, client: string | undefined): string[] {
    const keys = [`client:${client ?? "unknown"}`];
    if (principal !== undefined) keys.push(`principal:${principal}`);
    return keys;
  }

  #listen(
    entry: Entry,
    keys: string[],
    id: RequestId,
    filter: SubscriptionFilter,
    hooks: ExchangeHooks,
  ): Response {
    entry.active++;
    for (const key of keys) this.#listeners.set(key, (this.#listeners.get(key) ?? 0) + 1);
    return listen(entry.upstream, id, filter, {
      signal: hooks.signal,
      shutdown: this.#closing.signal,
      ended: () => {
        entry.active--;
        entry.lastActivity = Date.now();
        for (const key of keys) {
          const left = (this.#listeners.get(key) ?? 1) - 1;
          if (left > 0) this.#listeners.set(key, left);
          else this.#listeners.delete(key);
        }
        this.#release(entry);
      },
    });
  }

  /** Ends a single request's process once it is done with. */
  #release(entry: Entry): void {
    if (entry.active === 0 && this.#ephemeral.delete(entry)) this.#options.end(entry.upstream);
  }

  /**
   * Ends every principal's server idle longer than the idle timeout.
   *
   * @param now The current time (ms since the epoch).
   */
  sweep(now: number): void {
    for (const [principal, entry] of this.#entries) {
      if (entry.active === 0 && now - entry.lastActivity > this.#options.idleTimeoutMs) {
        this.#entries.delete(principal);
        this.#options.end(entry.upstream);
      }
    }
  }

  /** Answers every request in flight with an error and forgets every server (the bridge ends them). */
  clear(): void {
    this.#closing.abort();
    this.#entries.clear();
    this.#ephemeral.clear();
  }

  #entry(principal: string | undefined): Entry | undefined {
    const { shared } = this.#options;
    if (shared !== undefined) {
      const upstream = shared();
      let entry = this.#sharedEntries.get(upstream);
      if (entry === undefined) {
        entry = { upstream, lastActivity: Date.now(), active: 0 };
        this.#sharedEntries.set(upstream, entry);
      }
      return entry;
    }
    if (principal === undefined) {
      if (!this.#options.canStart()) return undefined;
      const entry: Entry = { upstream: this.#options.start(), lastActivity: Date.now(), active: 0 };
      this.#ephemeral.add(entry);
      return entry;
    }
    let entry = this.#entries.get(principal);
    if (entry !== undefined && entry.upstream.closed) {
      this.#entries.delete(principal);
      this.#options.end(entry.upstream);
      entry = undefined;
    }
    if (entry === undefined) {
      if (!this.#options.canStart()) return undefined;
      entry = {
        upstream: this.#options.start(),
        lastActivity: Date.now(),
        active: 0,
      };
      this.#entries.set(principal, entry);
    }
    return entry;
  }
}
