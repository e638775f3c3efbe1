/**
 * The life of one MCP server process seen from the bridge: started on the first message,
 * messages queued while it starts, its exit (or failure to start) reported once, and stopped on
 * request. It knows nothing of sessions or ids: {@linkcode Upstream} does.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { type Message, settle } from "./_messages.ts";

/** Where a server process is in its life. An `UpstreamProcess` never restarts. */
export type UpstreamState = "idle" | "connecting" | "open" | "closed";

/** Options for {@linkcode UpstreamProcess}. */
export interface UpstreamProcessOptions {
  /** A message from the server. */
  onMessage: (message: Message) => void;
  /** The server exited or could not start (the state is already `closed`). */
  onExit: (reason: string) => void;
  /** A message could not be written: queue full, server not running, or a write error. */
  onWriteFailed: (message: Message, reason: string) => void;
  /** Transport errors that do not end the server. */
  onError?: (error: Error) => void;
  /** Most messages queued while the server starts. Default 1000. */
  maxQueuedMessages?: number;
}

/** One server process, started lazily. */
export class UpstreamProcess {
  readonly #connect: () => Promise<Transport>;
  readonly #options: UpstreamProcessOptions;
  #state: UpstreamState = "idle";
  #transport: Transport | undefined;
  #queue: Message[] = [];
  #stopping = false;
  #closing: Promise<void> | undefined;

  /**
   * @param connect Starts the server and returns its transport (not yet started).
   * @param options Where messages, exits and failures go.
   */
  constructor(connect: () => Promise<Transport>, options: UpstreamProcessOptions) {
    this.#connect = connect;
    this.#options = options;
  }

  /** Where the process is in its life. */
  get state(): UpstreamState {
    return this.#state;
  }

  /** Whether the process was started and has not ended yet. */
  get running(): boolean {
    return this.#state === "connecting" || this.#transport !== undefined || this.#stopping;
  }

  /**
   * Sends a message, starting the process on the first one and queueing while it starts.
   * A message that cannot be written goes to `onWriteFailed`.
   *
   * @param message The message.
   */
  send(message: Message): void {
    if (this.#state === "idle") this.#start();
    if (this.#state === "connecting") {
      if (this.#queue.length >= (this.#options.maxQueuedMessages ?? 1000)) {
        this.#options.onWriteFailed(
          message,
          "Too many messages queued while the MCP server starts",
        );
        return;
      }
      this.#queue.push(message);
      return;
    }
    if (this.#state !== "open" || this.#transport === undefined) {
      this.#options.onWriteFailed(message, "The MCP server is not running");
      return;
    }
    this.#transport.send(message as JSONRPCMessage).catch((error: Error) => {
      this.#options.onWriteFailed(message, `Cannot write to the MCP server: ${error.message}`);
    });
  }

  /**
   * Stops the process through its transport; `onExit` is not called.
   *
   * @returns When the transport has closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const wasConnecting = this.#state === "connecting";
    this.#state = "closed";
    this.#queue = [];
    // When connecting, #start closes the transport as soon as it arrives.
    if (!wasConnecting) await this.#closeTransport();
  }

  async #closeTransport(): Promise<void> {
    const transport = this.#transport;
    this.#transport = undefined;
    if (transport === undefined) return;
    transport.onclose = undefined;
    this.#stopping = true;
    try {
      await transport.close();
    } catch (error) {
      this.#options.onError?.(error as Error);
    } finally {
      this.#stopping = false;
    }
  }

  #start(): void {
    this.#state = "connecting";
    settle(this.#open());
  }

  async #open(): Promise<void> {
    try {
      const transport = await this.#connect();
      this.#transport = transport;
      this.#listen(transport);
      if (this.#state === "closed") {
        await this.#closeTransport();
        return;
      }
      await transport.start();
    } catch (error) {
      if (this.#state === "closed") {
        await this.#closeTransport();
        return;
      }
      const reason = (error as Error)?.message ?? String(error);
      this.#exited(`Cannot start the MCP server: ${reason}`);
      await this.#closeTransport();
      return;
    }
    if (this.#state !== "connecting") return;
    this.#state = "open";
    const queue = this.#queue;
    this.#queue = [];
    for (const message of queue) this.send(message);
  }

  #listen(transport: Transport): void {
    transport.onmessage = (message: JSONRPCMessage) => {
      if (this.#state !== "closed") this.#options.onMessage(message as Message);
    };
    let exit = "";
    transport.onerror = (error: Error) => {
      // A supervised process reports how it ended (never its stderr: that stays local).
      const { code, signal } = error as { code?: unknown; signal?: unknown };
      if (error.name === "ServerExitedError") {
        exit = typeof signal === "string" ? ` (killed by ${signal})` : ` with code ${code}`;
      }
      this.#options.onError?.(error);
    };
    transport.onclose = () => this.#exited(`The MCP server exited${exit}`);
  }

  /** The server is gone: report it once, and let go of the transport. */
  #exited(reason: string): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#queue = [];
    this.#options.onExit(reason);
    settle(this.#closeTransport());
  }
}
