/**
 * A minimal MCP stdio client transport over `Deno.Command`, for tests until the core's
 * `ProcessTransport` is available: clean environment, newline-delimited JSON, and shutdown
 * escalation (close stdin → SIGTERM → SIGKILL).
 *
 * @module
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Options for {@linkcode DenoChildTransport}. */
export interface DenoChildTransportOptions {
  /** The program. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The whole environment of the child (nothing is inherited). */
  env: Record<string, string>;
  /** Working directory. */
  cwd?: string;
}

const encoder = new TextEncoder();

/** A stdio transport to a child process. */
export class DenoChildTransport implements Transport {
  /** Called when the child's stdout ends or it exits. */
  onclose?: () => void;
  /** Called on malformed output. */
  onerror?: (error: Error) => void;
  /** Called for each message from the child. */
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #options: DenoChildTransportOptions;
  #child: Deno.ChildProcess | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #closed = false;

  /** @param options The command. */
  constructor(options: DenoChildTransportOptions) {
    this.#options = options;
  }

  /** The child's pid once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the child. */
  start(): Promise<void> {
    const child = new Deno.Command(this.#options.command, {
      args: this.#options.args,
      env: this.#options.env,
      clearEnv: true,
      cwd: this.#options.cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#read(child.stdout).catch((error) => this.onerror?.(error as Error));
    child.status.then(() => this.#ended());
    return Promise.resolve();
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    let buffer = "";
    for await (const chunk of stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line === "") continue;
        try {
          this.onmessage?.(JSON.parse(line) as JSONRPCMessage);
        } catch (error) {
          this.onerror?.(error as Error);
        }
      }
    }
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose?.();
  }

  /** Writes one message. */
  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#writer === undefined || this.#closed) throw new Error("The child is not running");
    await this.#writer.write(encoder.encode(JSON.stringify(message) + "\n"));
  }

  /** Ends the child: close stdin, then SIGTERM, then SIGKILL; waits for it to exit. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    const exited = (ms: number) =>
      Promise.race([
        child.status.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
      ]);
    await this.#writer?.close().catch(() => {});
    if (!await exited(1000)) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      if (!await exited(1000)) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }
    await child.status;
    this.#ended();
  }
}
