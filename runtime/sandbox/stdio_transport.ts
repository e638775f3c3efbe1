/**
 * An MCP SDK `Transport` over a supervised {@linkcode ServerProcess}.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { findId, type Id } from "./_jsonrpc_ids.ts";
import { ServerExitedError, type ServerProcess } from "./server_process.ts";

/** How long an exit report waits for the server's last stderr lines, in milliseconds. */
const STDERR_DRAIN_MS = 1000;

/**
 * Speaks newline-delimited JSON-RPC with a server process. Oversized or malformed lines are
 * reported through `onerror` and skipped; an oversized line that answered an open request is
 * replaced by a JSON-RPC error for that request, so the caller fails at once instead of waiting
 * for its timeout. When the process exits, `onerror` receives a
 * {@linkcode ServerExitedError} (unless it was closed by us) and then `onclose` fires.
 *
 * @example
 * ```ts ignore
 * import { Client } from "npm:@modelcontextprotocol/sdk/client/index.js";
 * import { ProcessTransport, spawnServer } from "jsr:@sandboxed/mcp-run";
 * const client = new Client({ name: "me", version: "1.0.0" });
 * await client.connect(new ProcessTransport(spawnServer("time", plan)));
 * ```
 */
export class ProcessTransport implements Transport {
  #process: ServerProcess;
  #closing = false;
  #closed = false;
  #pending = new Set<Id>();
  #ended: Promise<ServerExitedError>;
  /** Called when the connection ends. */
  onclose?: () => void;
  /** Called on a transport problem (the connection stays open unless `onclose` follows). */
  onerror?: (error: Error) => void;
  /** Called for each message from the server. */
  onmessage?: (message: JSONRPCMessage) => void;

  /**
   * Wraps a running server; its messages are read once `start()` is called (the SDK client
   * calls it in `connect`).
   *
   * @param process A running server.
   */
  constructor(process: ServerProcess) {
    this.#process = process;
    this.#ended = process.status.then(async (status) => {
      // The exit may be seen before the last stderr lines are read: wait for them, briefly (a
      // child the server left behind may hold stderr open).
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        process.stderrEnded,
        new Promise((resolve) => timer = setTimeout(resolve, STDERR_DRAIN_MS)),
      ]);
      clearTimeout(timer);
      return new ServerExitedError(process.name, status, process.stderrTail);
    });
  }

  /** The underlying process. */
  get process(): ServerProcess {
    return this.#process;
  }

  /** Starts reading the server's messages. */
  start(): Promise<void> {
    const decoder = new TextDecoder();
    (async () => {
      try {
        for await (const piece of this.#process.lines) {
          if (piece.kind === "oversized") {
            const message =
              `Server "${this.#process.name}" sent a ${piece.size}-byte message; it was dropped`;
            this.onerror?.(new RangeError(message));
            const id = findId(
              decoder.decode(piece.head),
              decoder.decode(piece.tail),
              this.#pending,
            );
            if (id !== undefined) {
              this.#pending.delete(id);
              this.onmessage?.({ jsonrpc: "2.0", id, error: { code: -32603, message } });
            }
            continue;
          }
          const text = decoder.decode(piece.bytes).trim();
          if (!text) continue;
          let message: JSONRPCMessage;
          try {
            message = JSON.parse(text);
            if (message?.jsonrpc !== "2.0") throw new TypeError("not a JSON-RPC 2.0 message");
          } catch (error) {
            this.onerror?.(
              new SyntaxError(
                `Server "${this.#process.name}" wrote a line that is not JSON-RPC: ${
                  text.slice(0, 200)
                }`,
                { cause: error },
              ),
            );
            continue;
          }
          if ("id" in message && !("method" in message)) this.#pending.delete(message.id);
          this.onmessage?.(message);
        }
      } catch (error) {
        this.onerror?.(error as Error);
      }
      const exited = await this.#ended;
      if (!this.#closing) this.onerror?.(exited);
      this.#finish();
    })();
    return Promise.resolve();
  }

  /**
   * Tells how the server ended, once it has: a {@linkcode ServerExitedError} with its exit code
   * or signal and the end of its stderr. Use it to explain a failed request (a write that met a
   * broken pipe, a connection that closed); `onerror` reports only exits that `close()` did not
   * cause, but this reports any.
   *
   * @param waitMs How long to wait for the server to end (default 0: only if it already has).
   * @returns The exit, or `undefined` when the server is still running after `waitMs`.
   *
   * @example
   * ```ts ignore
   * try {
   *   await client.callTool({ name: "crash", arguments: {} });
   * } catch (error) {
   *   throw (await transport.exitError(2000)) ?? error;
   * }
   * ```
   */
  async exitError(waitMs = 0): Promise<ServerExitedError | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.#ended,
      new Promise<undefined>((resolve) => timer = setTimeout(() => resolve(undefined), waitMs)),
    ]);
    clearTimeout(timer);
    return result;
  }

  /**
   * Sends one message to the server.
   *
   * @param message A JSON-RPC message.
   */
  async send(message: JSONRPCMessage): Promise<void> {
    if ("method" in message && "id" in message) this.#pending.add(message.id);
    await this.#process.send(JSON.stringify(message));
  }

  /** Stops the server (close stdin → SIGTERM → SIGKILL) and fires `onclose`. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#process.stop();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }
}
