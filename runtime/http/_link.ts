/**
 * A link: one client session attached to a server, as an upstream and the bridge see it.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { RequestId } from "./_messages.ts";
import type { Pending } from "./_pending_requests.ts";

/** The client side of a link: one HTTP session. */
export interface Downstream {
  /**
   * Delivers a message to the client.
   *
   * @param message The message, with ids already in the client's space.
   * @param relatedRequestId The client request it belongs to (picks the HTTP stream).
   * @returns Whether the message could be handed to a stream.
   */
  send(message: JSONRPCMessage, relatedRequestId?: RequestId): Promise<boolean>;
  /** The server is gone: end the session once the messages already sent are flushed. */
  close(): void;
  /** Told +1 when a client request starts waiting for the server, -1 when it stops. */
  inflight?(delta: 1 | -1): void;
}

/** What `Upstream.attach` returns: the session's handle on the server. */
export interface Link {
  /** Passes one message from the client to the server. */
  receive(message: JSONRPCMessage): void;
  /** Answers every request still in flight with an error `message` (used at shutdown). */
  failPending(message: string): void;
  /** Leaves the server: in-flight requests are cancelled on the server side. */
  detach(): void;
  /** Number of client requests in flight. */
  readonly inflight: number;
}

/** An upstream's record of one link. */
export interface LinkState {
  /** Where its messages go. */
  down: Downstream;
  /** Client request id → pending request. */
  inflight: Map<RequestId, Pending<LinkState>>;
  /** Server-initiated requests sent to this session (server ids). */
  serverRequests: Set<RequestId>;
  /** Resource URIs this session subscribed to (shared mode). */
  subscriptions: Set<string>;
  /** Whether it left or its server ended. */
  closed: boolean;
}
