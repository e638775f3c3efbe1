/**
 * A client that speaks JSON-RPC by hand to a stdio process (`mcp-run run`, or a fixture run
 * directly as the unguarded control): nothing between the test and the process hides a message,
 * so every line that reaches the client is counted.
 *
 * @module
 */
import { LineSplitter } from "../runtime/sandbox/line_splitter.ts";

// deno-lint-ignore no-explicit-any
export type RawMessage = Record<string, any>;

/** A process spoken to in raw JSON-RPC lines. */
export class RawClient {
  readonly child: Deno.ChildProcess;
  /** Every message received, in order (non-JSON lines as `{ raw: text }`). */
  readonly received: RawMessage[] = [];
  /** The process's stderr, as text. */
  stderr = "";
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  readonly #stderrDone: Promise<void>;
  #nextId = 1;
  #wake: (() => void) | undefined;

  /**
   * Starts the process.
   *
   * @param program The program.
   * @param args Its arguments.
   * @param env Its whole environment.
   */
  constructor(program: string, args: string[], env: Record<string, string>) {
    this.child = new Deno.Command(program, {
      args,
      env,
      clearEnv: true,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    const decoder = new TextDecoder();
    this.#reading = this.child.stdout.pipeThrough(new LineSplitter(64 * 1024 * 1024)).pipeTo(
      new WritableStream({
        write: (piece) => {
          if (piece.kind !== "line") return;
          const text = decoder.decode(piece.bytes);
          try {
            this.received.push(JSON.parse(text));
          } catch {
            this.received.push({ raw: text });
          }
          this.#wake?.();
        },
      }),
    ).catch(() => {});
    this.#stderrDone = this.child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (t) => void (this.stderr = (this.stderr + t).slice(-200_000)) }),
    ).catch(() => {});
  }

  /** Sends one message. */
  async send(message: RawMessage): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(message) + "\n"));
  }

  /** Sends a request; returns its id. */
  async request(method: string, params: RawMessage = {}): Promise<number> {
    const id = this.#nextId++;
    await this.send({ jsonrpc: "2.0", id, method, params });
    return id;
  }

  /** Waits until a received message matches, or throws after `timeoutMs`. */
  async waitFor(match: (m: RawMessage) => boolean, timeoutMs = 60_000): Promise<RawMessage> {
    const deadline = Date.now() + timeoutMs;
    let checked = 0;
    for (;;) {
      for (; checked < this.received.length; checked++) {
        if (match(this.received[checked])) return this.received[checked];
      }
      if (Date.now() > deadline) {
        throw new Error(`no matching message in ${timeoutMs} ms; stderr:\n${this.stderr}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Sends a request and waits for its answer. */
  async call(method: string, params: RawMessage = {}, timeoutMs?: number): Promise<RawMessage> {
    const id = await this.request(method, params);
    return await this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs);
  }

  /** Initializes the session with the given client capabilities. */
  async initialize(capabilities: RawMessage = {}): Promise<RawMessage> {
    const answer = await this.call("initialize", {
      protocolVersion: "2025-06-18",
      capabilities,
      clientInfo: { name: "raw", version: "1.0.0" },
    });
    await this.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    return answer;
  }

  /** Closes stdin and waits for the process, with its output drained. */
  async end(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    return await this.finish();
  }

  /** Waits for the process to exit, with its output drained. */
  async finish(): Promise<Deno.CommandStatus> {
    const status = await this.child.status;
    await Promise.all([this.#reading, this.#stderrDone]);
    return status;
  }

  /** Kills the process if it still runs. */
  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.finish();
  }
}
