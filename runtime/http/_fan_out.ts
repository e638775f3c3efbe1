/**
 * Shared mode's notifications for everyone: `…/list_changed` (which carries no data) goes to
 * every session, `notifications/resources/updated` to the sessions subscribed to that resource.
 * Subscriptions are counted per session, so the server hears one subscribe per resource and the
 * unsubscribe only when its last session lets go.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import { type Message, settle } from "./_messages.ts";

/**
 * Sends a server notification to every session it is for, when it is one of the fanned-out
 * kinds.
 *
 * @param links The sessions.
 * @param message A notification from the server.
 * @returns Whether it was one of them (and so needs no routing).
 */
export function fanOut(links: ReadonlySet<LinkState>, message: Message): boolean {
  const method = message.method!;
  if (method.endsWith("/list_changed")) {
    for (const link of links) settle(link.down.send(message as JSONRPCMessage));
    return true;
  }
  if (method !== "notifications/resources/updated") return false;
  const uri = message.params?.uri;
  for (const link of links) {
    if (typeof uri === "string" && link.subscriptions.has(uri)) {
      settle(link.down.send(message as JSONRPCMessage));
    }
  }
  return true;
}

/**
 * @param links The sessions.
 * @param uri A resource.
 * @returns Whether any session is subscribed to it.
 */
export function isSubscribed(links: ReadonlySet<LinkState>, uri: string): boolean {
  for (const link of links) if (link.subscriptions.has(uri)) return true;
  return false;
}

/**
 * Records a session's `resources/subscribe` or `resources/unsubscribe`.
 *
 * @param link The session.
 * @param links Every session (the link included).
 * @param message The request.
 * @returns True when the request must not reach the server: an unsubscribe while another
 *   session still wants the resource (the caller answers it).
 */
export function trackSubscription(
  link: LinkState,
  links: ReadonlySet<LinkState>,
  message: Message,
): boolean {
  const uri = message.params?.uri;
  if (typeof uri !== "string") return false;
  if (message.method === "resources/subscribe") {
    link.subscriptions.add(uri);
    return false;
  }
  if (message.method !== "resources/unsubscribe") return false;
  link.subscriptions.delete(uri);
  return isSubscribed(links, uri);
}
