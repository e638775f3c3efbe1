/**
 * An MCP SDK `Transport` over a supervised {@linkcode ServerProcess}.
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { ServerExitedError, type ServerProcess } from "./server_process.ts";

/**
 * Speaks newline-delimited JSON-RPC with a server process. Oversized or malformed lines are
 * reported through `onerror` and skipped; when the process exits, `onerror` receives a
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
  /** Called when the connection ends. */
  onclose?: () => void;
  /** Called on a transport problem (the connection stays open unless `onclose` follows). */
  onerror?: (error: Error) => void;
  /** Called for each message from the server. */
  onmessage?: (message: JSONRPCMessage) => void;

  /** @param process A running server. */
  constructor(process: ServerProcess) {
    this.#process = process;
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
            this.onerror?.(
              new RangeError(
                `Server "${this.#process.name}" sent a ${piece.size}-byte message; it was dropped`,
              ),
            );
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
          this.onmessage?.(message);
        }
      } catch (error) {
        this.onerror?.(error as Error);
      }
      const status = await this.#process.status;
      if (!this.#closing) {
        this.onerror?.(new ServerExitedError(this.#process.name, status, this.#process.stderrTail));
      }
      this.#finish();
    })();
    return Promise.resolve();
  }

  /**
   * Sends one message to the server.
   *
   * @param message A JSON-RPC message.
   */
  async send(message: JSONRPCMessage): Promise<void> {
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
