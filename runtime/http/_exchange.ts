/**
 * One stateless request on a temporary link of a principal's server: the bridge's `initialize`
 * (answered from the first one after it), then the request; the answer, in the link's id space.
 * Also which of the server's notifications a request's client asked for.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { BridgeErrorCode, errorResponse, type Message, type RequestId } from "./_messages.ts";
import type { Downstream, Link } from "./_link.ts";
import type { Upstream } from "./_upstream.ts";
import type { HeaderParam } from "./_param_headers.ts";
import { MetaKey, ModernErrorCode } from "./_protocol_era.ts";

/** Hooks of one HTTP request. */
export interface ExchangeHooks {
  /** Aborted when the client goes away: the request is cancelled on the server. */
  signal?: AbortSignal;
  /** Told +1/-1 as the request starts and stops waiting for the server. */
  inflight?: (delta: 1 | -1) => void;
  /** Receives the server's notifications about the request (progress, log messages). */
  notify?: (notification: Message) => void;
  /** Aborted when the bridge shuts down: the request is answered with an error. */
  shutdown?: AbortSignal;
}

/** A principal's server and what the bridge knows of it. */
export interface Entry {
  readonly upstream: Upstream;
  lastActivity: number;
  /** Requests and subscriptions open: the server is not ended for idleness meanwhile. */
  active: number;
  /** Each tool's `x-mcp-header` parameters, as last listed completely; dropped when the tools
   *  change. */
  tools?: { at: number; byName: Map<string, HeaderParam[] | undefined> };
  /** The listing under way, shared by every request waiting for it. */
  toolsListing?: Promise<Map<string, HeaderParam[] | undefined> | string>;
  /** Bumped on each tools change notice: a listing that began before one is not kept. */
  toolsGeneration?: number;
}

/** The name the bridge gives itself when it initializes a server for stateless clients. */
const CLIENT_INFO = { name: "mcp-run (stateless clients)", version: "1" };
/** The version the bridge initializes a server with: the newest legacy one. */
const SERVER_PROTOCOL = "2025-11-25";

/** The bridge's own `initialize`: no client capabilities (a stateless client takes no request). */
function initializeRequest(id: RequestId): JSONRPCMessage {
  return {
    jsonrpc: "2.0",
    id,
    method: "initialize",
    params: { protocolVersion: SERVER_PROTOCOL, capabilities: {}, clientInfo: CLIENT_INFO },
  } as JSONRPCMessage;
}

/** Log levels, least severe first (RFC 5424 as MCP names them). */
const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/**
 * Which of the server's notifications about a request its client wants on an event stream:
 * progress when it sent a progress token, log messages at or above the level it asked for
 * (`_meta` logLevel). Undefined when it wants none, or takes no event stream: then the answer is
 * one JSON body.
 */
export function notificationsWanted(
  message: Message,
  headers: Headers,
): ((note: Message) => boolean) | undefined {
  if (!headers.get("accept")?.includes("text/event-stream")) return undefined;
  const meta = message.params?._meta ?? {};
  const progress = meta.progressToken !== undefined;
  const level = LEVELS.indexOf(String(meta[MetaKey.logLevel]));
  if (!progress && level < 0) return undefined;
  return (note) => {
    if (note.method === "notifications/progress") return progress;
    if (note.method !== "notifications/message") return false;
    return level >= 0 && LEVELS.indexOf(String(note.params?.level)) >= level;
  };
}

/** What {@linkcode openLink} hands back of the server's messages on a link. */
export interface LinkHandlers {
  /**
   * The server answered the bridge's `initialize`: `notifications/initialized` was sent. May run
   * before {@linkcode openLink} returns (an answer known already), so it gets the link.
   */
  ready(result: Record<string, unknown>, link: Link): void;
  /** The server refused the bridge's `initialize`. */
  refused(error: NonNullable<Message["error"]>): void;
  /** An answer to a request the caller sent on the link. */
  answer(message: Message): void;
  /** A notification, with the request it is about (if any). */
  notification(note: Message, related: RequestId | undefined): void;
  /** The server is gone. */
  close(): void;
  /** Told +1/-1 as requests start and stop waiting for the server. */
  inflight?: (delta: 1 | -1) => void;
}

/**
 * Attaches a link to a server for a stateless client and initializes it as the bridge (answered
 * at once after the first time). Server requests (sampling, elicitation, roots) get an error: a
 * stateless client takes none.
 *
 * @param upstream The server.
 * @param initId The id of the bridge's `initialize` on this link.
 * @param handlers Where the server's messages go.
 * @returns The link, its `initialize` sent.
 * @throws {Error} If the server cannot take a link (`Upstream.attach`).
 * @example
 * ```ts ignore
 * const link = openLink(upstream, "mcp-run-init", {
 *   ready: (_result, opened) => opened.receive(request),
 *   refused: (error) => console.error(error.message),
 *   answer: (reply) => console.log(reply.result),
 *   notification: () => {},
 *   close: () => {},
 * });
 * ```
 */
export function openLink(upstream: Upstream, initId: RequestId, handlers: LinkHandlers): Link {
  const down: Downstream = {
    send: (sent: JSONRPCMessage, related?: RequestId) => {
      const reply = sent as unknown as Message;
      if (reply.method === undefined && reply.id === initId) {
        if (reply.error !== undefined) {
          handlers.refused(reply.error);
          return Promise.resolve(true);
        }
        link.receive({ jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage);
        handlers.ready((reply.result ?? {}) as Record<string, unknown>, link);
      } else if (reply.method === undefined) {
        handlers.answer(reply);
      } else if (reply.id === undefined || reply.id === null) {
        handlers.notification(reply, related);
      } else {
        link.receive(errorResponse(
          reply.id,
          ModernErrorCode.MethodNotFound,
          `${reply.method} is not available: the client connected without a session (protocol 2026-07-28)`,
        ));
      }
      return Promise.resolve(true);
    },
    close: () => handlers.close(),
    inflight: handlers.inflight,
  };
  // The server writes to `down` only after it receives something on the link.
  const link = upstream.attach(down);
  link.receive(initializeRequest(initId));
  return link;
}

/**
 * One request on a temporary link: initialize (answered at once after the first time), then the
 * request; resolves with its answer, in the link's id space.
 */
export function exchange(entry: Entry, message: Message, hooks: ExchangeHooks): Promise<Message> {
  const id = message.id as RequestId;
  const initId: RequestId = id === "mcp-run-init" ? "mcp-run-init-2" : "mcp-run-init";
  return new Promise<Message>((resolve) => {
    let link: Link | undefined;
    let done = false;
    const finish = (answer: Message) => {
      if (done) return;
      done = true;
      hooks.signal?.removeEventListener("abort", abort);
      hooks.shutdown?.removeEventListener("abort", shutdown);
      resolve(answer);
      // After the answer: nothing is in flight, and detaching cancels whatever still is.
      queueMicrotask(() => link?.detach());
    };
    const fail = (code: number, reason: string) =>
      finish(errorResponse(id, code, reason) as unknown as Message);
    const abort = () => fail(BridgeErrorCode.RequestCancelled, "Request cancelled");
    const shutdown = () => fail(BridgeErrorCode.ServerUnavailable, "The server is shutting down");
    if (hooks.signal?.aborted) return abort();
    if (hooks.shutdown?.aborted) return shutdown();
    hooks.signal?.addEventListener("abort", abort);
    hooks.shutdown?.addEventListener("abort", shutdown);
    try {
      link = openLink(entry.upstream, initId, {
        ready: (_result, opened) => {
          if (message.method === "server/discover") finish({ jsonrpc: "2.0", id, result: {} });
          else opened.receive(message as unknown as JSONRPCMessage);
        },
        refused: (error) => finish({ jsonrpc: "2.0", id, error }),
        answer: (reply) => {
          if (reply.id === id) finish(reply);
        },
        notification: (note, related) => {
          if (related === id) hooks.notify?.(note);
          if (note.method === "notifications/tools/list_changed") {
            entry.tools = undefined;
            entry.toolsGeneration = (entry.toolsGeneration ?? 0) + 1;
          }
        },
        close: () => fail(BridgeErrorCode.ServerUnavailable, "The MCP server has ended"),
        inflight: hooks.inflight,
      });
    } catch (error) {
      return fail(BridgeErrorCode.ServerUnavailable, (error as Error).message);
    }
  });
}
