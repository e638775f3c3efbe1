/**
 * Shared mode: one server process for every session. Each client request gets a fresh id on the
 * server side (and so does its progress token), and the answers are mapped back; the server is
 * initialized once for all; `…/list_changed` and resource updates fan out (`_fan_out.ts`), and
 * resource subscriptions are counted so the server hears one per resource.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { type Message, type RequestId, settle } from "./_messages.ts";
import { SharedInit } from "./_shared_init.ts";
import { fanOut, isSubscribed, trackSubscription } from "./_fan_out.ts";
import { type LinkState, type Pending, Upstream, type UpstreamOptions } from "./_upstream.ts";

/** A server process shared by any number of sessions. */
export class Multiplexer extends Upstream {
  readonly #init = new SharedInit();

  /**
   * @param connect Starts the server and returns its transport (not yet started).
   * @param options Timeouts and the error sink.
   */
  constructor(connect: () => Promise<Transport>, options: UpstreamOptions) {
    super(connect, options, true);
  }

  /** The server's `initialize` result, once it answered the first one. */
  override get initializeResult(): Record<string, unknown> | undefined {
    return this.#init.result as Record<string, unknown> | undefined;
  }

  protected override checkAttach(): void {}

  protected override intercept(link: LinkState, message: Message): boolean {
    const clientId = message.id as RequestId;
    if (message.method === "initialize" && this.#init.request(link, clientId) !== "forward") {
      return true;
    }
    if (!trackSubscription(link, this.sessions, message)) return false;
    // An unsubscribe while another session still wants the resource: answered here.
    settle(
      link.down.send({ jsonrpc: "2.0", id: clientId, result: {} } as JSONRPCMessage, clientId),
    );
    return true;
  }

  protected override passInitialized(): boolean {
    return this.#init.passInitialized();
  }

  protected override fanOut(message: Message): boolean {
    return fanOut(this.sessions, message);
  }

  protected override initializeSucceeded(result: unknown): void {
    this.#init.succeeded(result);
  }

  protected override initializeFailed(code: number, reason: string): void {
    this.#init.failed(code, reason);
  }

  protected override initializeRefused(): void {}

  protected override keepsWithoutSession(pending: Pending): boolean {
    // Other sessions may be waiting for this answer.
    return pending.method === "initialize";
  }

  protected override detached(link: LinkState): void {
    for (const uri of link.subscriptions) {
      if (isSubscribed(this.sessions, uri)) continue;
      const childId = this.ownRequest("");
      this.toServer({
        jsonrpc: "2.0",
        id: childId,
        method: "resources/unsubscribe",
        params: { uri },
      });
    }
  }
}
