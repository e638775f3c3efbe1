/**
 * The guard around an MCP SDK `Transport`: how `serve` puts each server process behind the same
 * checks as `run`. Messages the client side sends pass the guard's client hooks before they
 * reach the server; the server's messages pass its server hooks before `onmessage` sees them.
 *
 * @module
 */
import type {
  Transport,
  TransportSendOptions,
} from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { Guard, type GuardSettings } from "./guard.ts";
import type { GuardStage, Message } from "./stage.ts";

/**
 * A transport whose messages pass a {@linkcode Guard}. Open requests are left to the caller when
 * the server ends (the HTTP bridge answers them itself), and timeouts are the caller's too.
 *
 * @example
 * ```ts ignore
 * import { GuardedTransport } from "jsr:@sandboxed/mcp-run/guard";
 * const transport = new GuardedTransport(new ProcessTransport(process), stages, { server: "time" });
 * await client.connect(transport);
 * ```
 */
export class GuardedTransport implements Transport {
  readonly #inner: Transport;
  readonly #guard: Guard;
  #fromServer: Promise<void> = Promise.resolve();
  #fromClient: Promise<void> = Promise.resolve();
  /** Called when the connection ends. */
  onclose?: () => void;
  /** Called on a transport problem. */
  onerror?: (error: Error) => void;
  /** Called for each message from the server that passed the guard. */
  onmessage?: (message: JSONRPCMessage) => void;

  /**
   * Puts a guard around a transport.
   *
   * @param inner The server's transport (not yet started).
   * @param stages The guard's checks, in order.
   * @param settings The server's name and the session's id.
   * @param log Where notices go (default: stderr).
   */
  constructor(
    inner: Transport,
    stages: readonly GuardStage[],
    settings: Omit<GuardSettings, "requestTimeoutMs">,
    log: (line: string) => void = (line) => console.error(line),
  ) {
    this.#inner = inner;
    this.#guard = new Guard(stages, {
      toClient: (message) => this.onmessage?.(message as JSONRPCMessage),
      toServer: (message) => this.#inner.send(message as JSONRPCMessage),
      stopServer: () => void this.#inner.close(),
      log,
    }, settings);
  }

  /** The underlying transport's session id, if any. */
  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  /** Starts the underlying transport, with the guard between it and this one's handlers. */
  start(): Promise<void> {
    this.#inner.onmessage = (message: JSONRPCMessage) => {
      this.#fromServer = this.#fromServer
        .then(() => this.#guard.fromServer(message as Message))
        .catch((error) => this.onerror?.(error as Error));
    };
    this.#inner.onerror = (error: Error) => this.onerror?.(error);
    this.#inner.onclose = () => {
      this.#fromServer = this.#fromServer
        .then(() => this.#guard.close("the server ended", { failOpen: false }))
        .finally(() => this.onclose?.());
    };
    return this.#inner.start();
  }

  /**
   * Sends a client message through the guard; a refused request is answered on `onmessage`.
   *
   * @param message The message.
   * @param _options Ignored: the guard keeps the order of messages.
   * @returns Once the message was delivered, refused or answered.
   */
  send(message: JSONRPCMessage, _options?: TransportSendOptions): Promise<void> {
    const sent = this.#fromClient.then(() => this.#guard.fromClient(message as Message));
    this.#fromClient = sent.catch(() => {});
    return sent;
  }

  /** Closes the underlying transport. */
  close(): Promise<void> {
    return this.#inner.close();
  }
}
