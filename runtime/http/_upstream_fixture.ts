/** Upstreams over an in-memory server, with session ends that record what reaches them. */
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { Message } from "./_messages.ts";
import type { Downstream, Link, Upstream, UpstreamOptions } from "./_upstream.ts";

/** A message a session received, with the client request it was sent for. */
export type Sent = { message: Message; related?: string | number };

/** A session end that records what reaches it. */
export class FakeSession implements Downstream {
  /** What reached it. */
  sent: Sent[] = [];
  /** Whether the upstream ended it. */
  closed = false;
  /** Requests waiting for the server, as told. */
  inflightCount = 0;
  /** Records the message. */
  send(message: JSONRPCMessage, related?: string | number): Promise<boolean> {
    this.sent.push({ message: message as Message, related });
    return Promise.resolve(true);
  }
  /** Records the end. */
  close(): void {
    this.closed = true;
  }
  /** Counts. */
  inflight(delta: 1 | -1): void {
    this.inflightCount += delta;
  }
}

/** What {@linkcode linkedUpstream} returns. */
export interface LinkedUpstream<U extends Upstream> {
  /** The upstream under test. */
  upstream: U;
  /** The server's end of the linked pair. */
  server: Transport;
  /** Every message the server received. */
  atServer: Message[];
  /** Attaches a recording session. */
  attach: () => [FakeSession, Link];
  /** Sends a message from the server (`jsonrpc` added). */
  fromServer: (message: Record<string, unknown>) => Promise<void>;
}

/** Constructs an upstream of one mode. */
export type UpstreamClass<U extends Upstream> = new (
  connect: () => Promise<Transport>,
  options: UpstreamOptions,
) => U;

/**
 * An upstream over an in-memory server whose received messages the test reads.
 *
 * @param mode The upstream class.
 * @param options Its options (request timeout 10 s unless given).
 * @returns The upstream and the test's handles.
 */
export function linkedUpstream<U extends Upstream>(
  mode: UpstreamClass<U>,
  options: Partial<UpstreamOptions> = {},
): LinkedUpstream<U> {
  const [client, server] = InMemoryTransport.createLinkedPair();
  const atServer: Message[] = [];
  server.onmessage = (message: unknown) => atServer.push(message as Message);
  const upstream = new mode(() => Promise.resolve(client), {
    requestTimeoutMs: 10_000,
    ...options,
  });
  const attach = (): [FakeSession, Link] => {
    const down = new FakeSession();
    return [down, upstream.attach(down)];
  };
  const fromServer = (message: Record<string, unknown>) =>
    server.send({ jsonrpc: "2.0", ...message } as JSONRPCMessage);
  return { upstream, server, atServer, attach, fromServer };
}

/** Lets pending callbacks run. */
export const turn = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 0));

/** A `tools/call` request. */
export const call = (id: number | string, params: Record<string, unknown> = {}): JSONRPCMessage =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params }) as JSONRPCMessage;

/** An `initialize` request. */
export const initialize = (id: number): JSONRPCMessage =>
  ({ jsonrpc: "2.0", id, method: "initialize", params: {} }) as JSONRPCMessage;
