/**
 * Protocol supervision: what a server may send a client besides answers. Notifications are
 * rate-limited (a flood is dropped and counted, never passed on), and a request the server makes
 * of the client (sampling, elicitation, roots) is passed on only when the client declared that
 * capability in `initialize`; otherwise the server gets an error and the client never sees it.
 *
 * @module
 */
import type { GuardContext, GuardStage, Message, Verdict } from "./stage.ts";

/** Options for {@linkcode notificationLimit}. */
export interface NotificationLimitOptions {
  /** Notifications and requests per second passed on over time. Default 100. */
  perSecond?: number;
  /** Notifications passed on at once before the rate applies. Default 500. */
  burst?: number;
  /** The clock, in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * A stage that passes the server's notifications and requests (ping included) at a bounded rate
 * (a token bucket): a notification over it is dropped and counted by the guard, a request over it
 * is answered with an error. A list change passes at most once a second, never held back by a
 * flood, since the checks after this one list again on it.
 *
 * @param options The rate and burst.
 * @returns The stage.
 * @example
 * ```ts
 * import { notificationLimit } from "./supervision.ts";
 * const stage = notificationLimit({ perSecond: 1, burst: 1, now: () => 0 });
 * const note = { jsonrpc: "2.0", method: "notifications/message", params: {} };
 * console.log("pass" in (stage.fromServer!(note, undefined, {} as never) as object)); // true
 * console.log("drop" in (stage.fromServer!(note, undefined, {} as never) as object)); // true
 * ```
 */
export function notificationLimit(options: NotificationLimitOptions = {}): GuardStage {
  const perSecond = options.perSecond ?? 100;
  const now = options.now ?? Date.now;
  // Requests have their own bucket: a flood of notifications does not starve them.
  const notifications = new Bucket(perSecond, options.burst ?? 500, now);
  const requests = new Bucket(perSecond, options.burst ?? 500, now);
  const changed = new Map<string, number>();
  return {
    name: "notification-limit",
    fromServer(message: Message): Verdict {
      if (message.method === undefined) return { pass: message };
      if (message.method.endsWith("/list_changed") && message.id === undefined) {
        // Never starved by a flood (the checks after this one relist on it), but one a second.
        const t = now();
        if (t - (changed.get(message.method) ?? -Infinity) < 1000) {
          return { drop: "list changes within a second of the last" };
        }
        changed.set(message.method, t);
        return { pass: message };
      }
      if (message.id === undefined) {
        if (notifications.take()) return { pass: message };
        return { drop: `notifications over ${perSecond} a second` };
      }
      if (requests.take()) return { pass: message };
      // A request over the rate is answered, so the server does not wait for it.
      const error = { code: TOO_MANY, message: `More than ${perSecond} requests a second` };
      return { reply: { jsonrpc: "2.0", id: message.id, error } };
    },
  };
}

/** A token bucket. */
class Bucket {
  #tokens: number;
  #last: number;
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;

  constructor(perSecond: number, burst: number, now: () => number) {
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const t = this.#now();
    this.#tokens = Math.min(
      this.#burst,
      this.#tokens + ((t - this.#last) / 1000) * this.#perSecond,
    );
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** The error a server request over the rate gets. */
const TOO_MANY = -32000;

/** The client capability each server request needs (`ping` needs none). */
const NEEDS: Record<string, string | null> = {
  "ping": null,
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

/** JSON-RPC "method not found": the client cannot take this request. */
const METHOD_NOT_FOUND = -32601;

/** Options for {@linkcode serverRequestCheck}. */
export interface ServerRequestCheckOptions {
  /**
   * Whether the client's declared capabilities are checked (default true). Without it only the
   * methods are: a process several sessions share was initialized by the first one alone, so
   * there the HTTP bridge routes each request to a session instead.
   */
  capabilities?: boolean;
}

/**
 * A stage that passes a server's request to the client only when the client declared the
 * capability it needs in `initialize` (`sampling`, `elicitation`, `roots`; `ping` always);
 * any other request, or one made before `initialize` was answered, gets a JSON-RPC error back.
 *
 * @param options Whether capabilities are checked, or only methods.
 * @returns The stage.
 * @example
 * ```ts
 * import { serverRequestCheck } from "./supervision.ts";
 * const stage = serverRequestCheck();
 * const ask = { jsonrpc: "2.0", id: 7, method: "sampling/createMessage", params: {} };
 * const context = { clientInit: { capabilities: {} }, serverInit: {}, log: () => {} } as never;
 * console.log("reply" in (stage.fromServer!(ask, undefined, context) as object)); // true
 * ```
 */
export function serverRequestCheck(options: ServerRequestCheckOptions = {}): GuardStage {
  const capabilities = options.capabilities ?? true;
  return {
    name: "server-requests",
    fromServer(message: Message, _request, context: GuardContext): Verdict {
      if (message.method === undefined || message.id === undefined) return { pass: message };
      const why = refusal(message.method, context, capabilities);
      if (why === undefined) return { pass: message };
      context.log(`refused the server's ${message.method} request: ${why}`);
      return {
        reply: {
          jsonrpc: "2.0",
          id: message.id,
          error: { code: METHOD_NOT_FOUND, message: `${message.method} refused: ${why}` },
        },
      };
    },
  };
}

/** Why a server request may not reach the client, or undefined when it may. */
function refusal(
  method: string,
  context: GuardContext,
  capabilities: boolean,
): string | undefined {
  if (!Object.hasOwn(NEEDS, method)) return "not a request MCP servers may make of clients";
  const capability = NEEDS[method];
  if (capability === null || !capabilities) return undefined;
  if (!context.serverInit) return "the session is not initialized yet";
  const declared = context.clientInit?.capabilities as Record<string, unknown> | undefined;
  if (declared && typeof declared === "object" && declared[capability] !== undefined) {
    return undefined;
  }
  return `the client did not declare the "${capability}" capability`;
}
