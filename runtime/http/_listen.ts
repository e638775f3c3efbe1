/**
 * `subscriptions/listen` (protocol 2026-07-28): the stateless client's long-lived stream of change
 * notifications, in place of 2025-11-25's GET stream and `resources/subscribe`. It is a link of
 * the principal's server like a request's, kept open: the bridge initializes it, subscribes to the
 * resources asked for (when the server offers subscriptions), acknowledges what it will deliver,
 * then relays `…/list_changed` and `resources/updated` of the kinds acknowledged, each marked with
 * the subscription id. Closing the stream ends the link (and its resource subscriptions); the
 * bridge shutting down ends it with the graceful-close result.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Message, RequestId } from "./_messages.ts";
import type { Link } from "./_link.ts";
import type { Upstream } from "./_upstream.ts";
import { eventStream } from "./_http_io.ts";
import { openLink } from "./_exchange.ts";

/** The `_meta` key marking each message of a subscription with its id. */
const SUBSCRIPTION_ID = "io.modelcontextprotocol/subscriptionId";
/** Most resource URIs one subscription may name. */
export const MAX_RESOURCE_SUBSCRIPTIONS = 32;
/** Interval between keep-alive comments on a quiet stream (ms). */
const KEEP_ALIVE_MS = 25_000;

/** What a client asks a subscription to deliver. */
export interface SubscriptionFilter {
  /** `notifications/tools/list_changed`. */
  toolsListChanged?: boolean;
  /** `notifications/prompts/list_changed`. */
  promptsListChanged?: boolean;
  /** `notifications/resources/list_changed`. */
  resourcesListChanged?: boolean;
  /** `notifications/resources/updated` for these URIs. */
  resourceSubscriptions?: string[];
}

/**
 * Reads a listen request's filter.
 *
 * @param params The request's params.
 * @returns The filter, or a reason it is malformed.
 */
export function filterOf(params: Record<string, unknown> | undefined): SubscriptionFilter | string {
  const raw = params?.notifications;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return "params.notifications must be an object";
  }
  const filter: SubscriptionFilter = {};
  for (const key of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"] as const) {
    const value = (raw as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== "boolean") return `params.notifications.${key} must be a boolean`;
    filter[key] = value;
  }
  const uris = (raw as Record<string, unknown>).resourceSubscriptions;
  if (uris !== undefined) {
    if (
      !Array.isArray(uris) || uris.length > MAX_RESOURCE_SUBSCRIPTIONS ||
      !uris.every((uri) => typeof uri === "string" && uri.length > 0 && uri.length <= 2048)
    ) {
      return `params.notifications.resourceSubscriptions must list at most ${MAX_RESOURCE_SUBSCRIPTIONS} URIs`;
    }
    filter.resourceSubscriptions = [...new Set(uris as string[])];
  }
  return filter;
}

/**
 * What the server can deliver of a filter, given its `initialize` capabilities.
 *
 * @param filter What the client asked for.
 * @param capabilities The server's capabilities.
 * @returns The acknowledged filter.
 */
export function honoredFilter(
  filter: SubscriptionFilter,
  capabilities: Record<string, unknown> | undefined,
): SubscriptionFilter {
  const cap = (name: string) =>
    (capabilities?.[name] ?? undefined) as Record<string, unknown> | undefined;
  const honored: SubscriptionFilter = {};
  if (filter.toolsListChanged && cap("tools")?.listChanged) honored.toolsListChanged = true;
  if (filter.promptsListChanged && cap("prompts")?.listChanged) honored.promptsListChanged = true;
  if (filter.resourcesListChanged && cap("resources")?.listChanged) {
    honored.resourcesListChanged = true;
  }
  if (filter.resourceSubscriptions?.length && cap("resources")?.subscribe) {
    honored.resourceSubscriptions = filter.resourceSubscriptions;
  }
  return honored;
}

/** Whether a server notification belongs on a subscription with this (acknowledged) filter. */
function wanted(honored: SubscriptionFilter, note: Message): boolean {
  switch (note.method) {
    case "notifications/tools/list_changed":
      return honored.toolsListChanged === true;
    case "notifications/prompts/list_changed":
      return honored.promptsListChanged === true;
    case "notifications/resources/list_changed":
      return honored.resourcesListChanged === true;
    case "notifications/resources/updated":
      return honored.resourceSubscriptions?.includes(String(note.params?.uri)) === true;
    default:
      return false;
  }
}

/** Hooks of one listen stream. */
export interface ListenHooks {
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** Aborted when the bridge shuts down. */
  shutdown?: AbortSignal;
  /** Called once when the stream has ended, however it ended. */
  ended: () => void;
}

/**
 * Opens a subscription on the server: the response is the event stream.
 *
 * @param upstream The principal's server.
 * @param id The listen request's id (the subscription id).
 * @param filter What the client asked for.
 * @param hooks Initialization, cancellation and the end.
 * @returns The event-stream response.
 */
export function listen(
  upstream: Upstream,
  id: RequestId,
  filter: SubscriptionFilter,
  hooks: ListenHooks,
): Response {
  let link: Link | undefined;
  let honored: SubscriptionFilter | undefined;
  let ended = false;
  const stream = eventStream(() => end(false));
  const marked = (note: Message) => ({
    ...note,
    params: { ...note.params, _meta: { ...note.params?._meta, [SUBSCRIPTION_ID]: id } },
  });
  const keepAlive = setInterval(() => stream.comment(), KEEP_ALIVE_MS);
  Deno.unrefTimer(keepAlive);
  const end = (graceful: boolean) => {
    if (ended) return;
    ended = true;
    clearInterval(keepAlive);
    hooks.signal?.removeEventListener("abort", cancelled);
    hooks.shutdown?.removeEventListener("abort", shutdown);
    if (graceful) {
      stream.send({ jsonrpc: "2.0", id, result: { _meta: { [SUBSCRIPTION_ID]: id } } });
    }
    stream.close();
    link?.detach();
    hooks.ended();
  };
  const cancelled = () => end(false);
  const shutdown = () => end(true);
  const acknowledge = (opened: Link, capabilities: Record<string, unknown> | undefined) => {
    honored = honoredFilter(filter, capabilities);
    for (const [n, uri] of (honored.resourceSubscriptions ?? []).entries()) {
      opened.receive(
        {
          jsonrpc: "2.0",
          id: `mcp-run-subscribe-${n}`,
          method: "resources/subscribe",
          params: { uri },
        } as JSONRPCMessage,
      );
    }
    stream.send({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { notifications: honored, _meta: { [SUBSCRIPTION_ID]: id } },
    });
  };
  if (hooks.signal?.aborted || hooks.shutdown?.aborted) {
    end(false);
    return stream.response;
  }
  hooks.signal?.addEventListener("abort", cancelled);
  hooks.shutdown?.addEventListener("abort", shutdown);
  try {
    link = openLink(upstream, "mcp-run-init", {
      ready: (result, opened) => {
        if (ended) return;
        acknowledge(opened, result.capabilities as Record<string, unknown> | undefined);
      },
      refused: (error) => {
        if (ended) return;
        stream.send({ jsonrpc: "2.0", id, error });
        end(false);
      },
      answer: () => {}, // resources/subscribe: nothing to tell the client
      notification: (note, related) => {
        if (related === undefined && honored !== undefined && wanted(honored, note)) {
          stream.send(marked(note));
        }
      },
      close: () => end(false),
    });
  } catch (error) {
    stream.send({ jsonrpc: "2.0", id, error: { code: -32000, message: (error as Error).message } });
    end(false);
  }
  return stream.response;
}
