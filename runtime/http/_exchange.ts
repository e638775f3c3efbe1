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
  /** The server's `initialize` answer, once known. */
  init?: Record<string, unknown>;
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
export function initializeRequest(id: RequestId): JSONRPCMessage {
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
    const down: Downstream = {
      send: (sent: JSONRPCMessage, related?: RequestId) => {
        const reply = sent as unknown as Message;
        const isAnswer = reply.method === undefined;
        if (isAnswer && reply.id === initId) {
          if (reply.error !== undefined) {
            finish({ ...reply, id });
          } else {
            entry.init ??= reply.result as Record<string, unknown>;
            link!.receive(
              { jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage,
            );
            if (message.method === "server/discover") finish({ jsonrpc: "2.0", id, result: {} });
            else link!.receive(message as unknown as JSONRPCMessage);
          }
        } else if (isAnswer && reply.id === id) {
          finish(reply);
        } else if (!isAnswer && (reply.id === undefined || reply.id === null)) {
          if (related === id) hooks.notify?.(reply);
          if (reply.method === "notifications/tools/list_changed") {
            entry.tools = undefined;
            entry.toolsGeneration = (entry.toolsGeneration ?? 0) + 1;
          }
        } else if (!isAnswer) {
          // A server request: a stateless client takes none.
          link!.receive(errorResponse(
            reply.id as RequestId,
            ModernErrorCode.MethodNotFound,
            `${reply.method} is not available: the client connected without a session (protocol 2026-07-28)`,
          ));
        }
        return Promise.resolve(true);
      },
      close: () => fail(BridgeErrorCode.ServerUnavailable, "The MCP server has ended"),
      inflight: hooks.inflight,
    };
    if (hooks.signal?.aborted) return abort();
    if (hooks.shutdown?.aborted) return shutdown();
    hooks.signal?.addEventListener("abort", abort);
    hooks.shutdown?.addEventListener("abort", shutdown);
    try {
      link = entry.upstream.attach(down);
    } catch (error) {
      return fail(BridgeErrorCode.ServerUnavailable, (error as Error).message);
    }
    link.receive(initializeRequest(initId));
  });
}
