/**
 * Shared mode starts one server for every session, so it is initialized once: the first
 * session's `initialize` goes to the server, sessions asking meanwhile wait for its answer, and
 * later ones get the same answer at once. Only the first `notifications/initialized` is passed on.
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import { errorResponse, type RequestId, settle } from "./_messages.ts";

/** What to do with a session's `initialize`. */
export type InitDecision = "answered" | "waiting" | "forward";

/** The one initialization of a shared server. */
export class SharedInit {
  #result: unknown;
  #waiting: { link: LinkState; clientId: RequestId }[] | undefined;
  #initializedForwarded = false;

  /** The server's `initialize` result, once it answered. */
  get result(): unknown {
    return this.#result;
  }

  /**
   * Takes a session's `initialize`.
   *
   * @param link The session.
   * @param clientId The request id.
   * @returns `answered` (from the first answer), `waiting` (for it), or `forward` (the first).
   */
  request(link: LinkState, clientId: RequestId): InitDecision {
    if (this.#result !== undefined) {
      const answer = { jsonrpc: "2.0", id: clientId, result: this.#result } as JSONRPCMessage;
      settle(link.down.send(answer, clientId));
      return "answered";
    }
    if (this.#waiting !== undefined) {
      this.#waiting.push({ link, clientId });
      return "waiting";
    }
    this.#waiting = [];
    return "forward";
  }

  /**
   * Whether a session's `notifications/initialized` goes to the server: only the first after
   * the server answered.
   *
   * @returns True to pass it on.
   */
  passInitialized(): boolean {
    if (this.#initializedForwarded || this.#result === undefined) return false;
    this.#initializedForwarded = true;
    return true;
  }

  /**
   * The server answered: every waiting session gets the result.
   *
   * @param result The `initialize` result.
   */
  succeeded(result: unknown): void {
    this.#result = result;
    for (const waiting of this.#waiting ?? []) {
      if (waiting.link.closed) continue;
      settle(waiting.link.down.send(
        { jsonrpc: "2.0", id: waiting.clientId, result } as JSONRPCMessage,
        waiting.clientId,
      ));
    }
    this.#waiting = undefined;
  }

  /**
   * The server refused, failed or timed out: every waiting session gets the error.
   *
   * @param code The JSON-RPC error code.
   * @param reason The message.
   */
  failed(code: number, reason: string): void {
    for (const waiting of this.#waiting ?? []) {
      if (waiting.link.closed) continue;
      settle(
        waiting.link.down.send(errorResponse(waiting.clientId, code, reason), waiting.clientId),
      );
    }
    this.#waiting = undefined;
  }
}
