/**
 * Requests the server makes of a client (sampling, elicitation, roots): which session each went
 * to, and who owns the progress tokens they carry. A request goes to a session only when exactly
 * one session can be the one it is about.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import {
  BridgeErrorCode,
  errorResponse,
  isToken,
  type Message,
  type RequestId,
} from "./_messages.ts";

/** Sends a message to the server. */
export type ToServer = (message: Message) => void;

/** A server request sent to a session. */
export interface ServerRequest {
  /** The session. */
  link: LinkState;
  /** The client request it was made while handling, which picks the HTTP stream. */
  related?: RequestId;
  /** Its progress token, when it carried one not already in use. */
  progressToken?: string | number;
}

/** Where a server-initiated message goes. */
export interface Route {
  /** The session. */
  link: LinkState;
  /** The client request it belongs to. */
  related?: RequestId;
}

function lastKey<K>(map: Map<K, unknown>): K | undefined {
  let last: K | undefined;
  for (const key of map.keys()) last = key;
  return last;
}

/**
 * The session (and the client request) a server-initiated message belongs to, if certain: the
 * only session with a request in flight, else the only session.
 *
 * @param links The sessions attached.
 * @returns The route, or undefined when it is ambiguous.
 */
export function routeOf(links: ReadonlySet<LinkState>): Route | undefined {
  let busy: LinkState | undefined;
  for (const link of links) {
    if (link.inflight.size === 0) continue;
    if (busy !== undefined) return undefined; // two sessions are waiting: ambiguous
    busy = link;
  }
  if (busy !== undefined) return { link: busy, related: lastKey(busy.inflight) };
  if (links.size === 1) return { link: links.values().next().value! };
  return undefined;
}

/** The server's requests awaiting a client's answer. */
export class ServerRequests {
  readonly #byId = new Map<RequestId, ServerRequest>();
  readonly #progress = new Map<string | number, LinkState>();

  /**
   * @param id A server request id.
   * @returns The request, if open.
   */
  get(id: RequestId): ServerRequest | undefined {
    return this.#byId.get(id);
  }

  /**
   * Records a request sent along a route.
   *
   * @param id Its id.
   * @param route Where it goes.
   * @param token Its progress token, if any.
   * @returns The record.
   */
  open(id: RequestId, route: Route, token: string | number | undefined): ServerRequest {
    const request: ServerRequest = { link: route.link, related: route.related };
    if (token !== undefined && !this.#progress.has(token)) {
      request.progressToken = token;
      this.#progress.set(token, route.link);
    }
    this.#byId.set(id, request);
    route.link.serverRequests.add(id);
    return request;
  }

  /**
   * Forgets an answered, cancelled or undeliverable request.
   *
   * @param id Its id.
   * @param request Its record.
   */
  end(id: RequestId, request: ServerRequest): void {
    this.#byId.delete(id);
    request.link.serverRequests.delete(id);
    if (request.progressToken !== undefined) this.#progress.delete(request.progressToken);
  }

  /**
   * @param token A progress token from a client.
   * @returns The session whose server request carries it.
   */
  progressOwner(token: string | number): LinkState | undefined {
    return this.#progress.get(token);
  }

  /**
   * Sends a server request to the one session it can be about. Without one (or when its id is
   * taken) the server gets an error, except for `ping`, which is answered here.
   *
   * @param message The request.
   * @param links The sessions attached.
   * @param toServer Where answers for the server go.
   */
  forward(message: Message, links: ReadonlySet<LinkState>, toServer: ToServer): void {
    const id = message.id as RequestId;
    const route = routeOf(links);
    if (route === undefined || this.get(id) !== undefined) {
      if (message.method === "ping") {
        toServer({ jsonrpc: "2.0", id, result: {} });
        return;
      }
      toServer(serverError(
        id,
        route === undefined
          ? `Cannot route "${message.method}": no single client session it belongs to`
          : `Request id ${JSON.stringify(id)} is already in use`,
      ));
      return;
    }
    const token = message.params?._meta?.progressToken;
    const request = this.open(id, route, isToken(token) ? token : undefined);
    route.link.down.send(message as JSONRPCMessage, route.related).then((delivered) => {
      if (delivered || this.get(id) !== request) return;
      this.end(id, request);
      toServer(serverError(id, "The client session cannot be reached"));
    }, () => {});
  }

  /**
   * Passes a session's answer to the server, when the request was made of that session.
   *
   * @param link The session.
   * @param message The answer.
   * @param toServer Where it goes.
   */
  answer(link: LinkState, message: Message, toServer: ToServer): void {
    const id = message.id as RequestId;
    const request = this.get(id);
    if (request === undefined || request.link !== link) return;
    this.end(id, request);
    toServer(message);
  }

  /**
   * Forgets the requests made of a session that left.
   *
   * @param link The session.
   * @param toServer Where their errors go; undefined when the server is not open.
   */
  drop(link: LinkState, toServer: ToServer | undefined): void {
    for (const id of [...link.serverRequests]) {
      const request = this.get(id);
      if (request !== undefined) this.end(id, request);
      toServer?.(serverError(id, "The client session closed"));
    }
  }

  /** Forgets every request (the server ended). */
  clear(): void {
    this.#byId.clear();
  }
}

function serverError(id: RequestId, reason: string): Message {
  return errorResponse(id, BridgeErrorCode.InternalError, reason) as Message;
}
