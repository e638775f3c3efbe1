/**
 * The `run` relay: passes a client's stdio to a server process line by line, with bounded
 * buffers, and answers the client's open requests with JSON-RPC errors when the server drops a
 * response or dies.
 *
 * @module
 */
import { findId, type Id } from "./_jsonrpc_ids.ts";
import { LineSplitter } from "./line_splitter.ts";
import type { ServerProcess } from "./server_process.ts";

/** Options for {@linkcode relayStdio}. */
export interface RelayStdioOptions {
  /** The client's messages (default: our stdin). */
  input?: ReadableStream<Uint8Array>;
  /** Where the server's messages go (default: our stdout). */
  output?: WritableStream<Uint8Array>;
  /** Longest client line passed on, in bytes (default 4 MiB). */
  maxLineBytes?: number;
  /** Where relay notices go (default: stderr). */
  log?: (line: string) => void;
  /**
   * Nothing the server writes is passed on before this settles; if it rejects, the server is
   * stopped, open requests get the rejection's message, and the relay throws it.
   */
  gate?: Promise<unknown>;
}

/** JSON-RPC "internal error": the server failed to answer. */
const SERVER_ERROR = -32603;

/**
 * Relays stdio between a client and a server until either side ends, then stops the server.
 *
 * Each complete line is passed on unchanged. A server line over the size cap is dropped and, if
 * it answered an open request, the client gets a JSON-RPC error for that id instead. When the
 * server exits, every still-open request gets an error naming the exit code. When the client's
 * input ends, the server is stopped (close stdin → SIGTERM → SIGKILL).
 *
 * @param server The running server.
 * @param options Streams and bounds.
 * @returns The server's exit status.
 */
export async function relayStdio(
  server: ServerProcess,
  options: RelayStdioOptions = {},
): Promise<Deno.CommandStatus> {
  const output = new ClientOutput((options.output ?? Deno.stdout.writable).getWriter());
  const log = options.log ?? ((line: string) => console.error(line));
  const pending = new Set<Id>();
  const gate = new Gate(options.gate, server);
  const fromServer = serverToClient(server, output, pending, gate, log);
  const fromClient = clientToServer(options.input ?? Deno.stdin.readable, server, pending, {
    maxLineBytes: options.maxLineBytes,
    log,
  });
  const ended = await Promise.race([
    server.status.then(() => "server" as const),
    fromClient.then(() => "client" as const),
  ]);
  if (ended === "client") await server.stop();
  const status = await server.status;
  await gate.settled;
  await fromServer.catch(() => {});
  const how = status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
  const why = gate.error?.message ?? `Server "${server.name}" ${how} before answering`;
  for (const id of pending) await output.fail(id, why);
  await output.close();
  if (gate.error) throw gate.error;
  return status;
}

/** The client's side of the relay: whole lines, and errors for requests the server dropped. */
class ClientOutput {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();
  #open = true;

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer;
  }

  /** Writes a line's own bytes, then a newline; a client that went away is written no more. */
  async line(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return;
    try {
      await this.#writer.write(bytes);
      await this.#writer.write(this.#encoder.encode("\n"));
    } catch {
      this.#open = false;
    }
  }

  /** Answers an open request with a JSON-RPC error. */
  fail(id: Id, message: string): Promise<void> {
    const error = { jsonrpc: "2.0", id, error: { code: SERVER_ERROR, message } };
    return this.line(this.#encoder.encode(JSON.stringify(error)));
  }

  close(): Promise<void> {
    return this.#writer.close().catch(() => {});
  }
}

/** The caller's gate: a rejection stops the server and becomes the relay's error. */
class Gate {
  /** Settles once the gate has opened or been refused. */
  readonly settled: Promise<void>;
  error: Error | undefined;

  constructor(gate: Promise<unknown> | undefined, server: ServerProcess) {
    this.settled = (gate ?? Promise.resolve()).then(() => {}, (error: Error) => {
      this.error = error;
      server.stop();
    });
  }
}

/** Passes the server's lines on once the gate opens; a dropped answer becomes an error. */
async function serverToClient(
  server: ServerProcess,
  output: ClientOutput,
  pending: Set<Id>,
  gate: Gate,
  log: (line: string) => void,
): Promise<void> {
  await gate.settled;
  if (gate.error) return;
  const decoder = new TextDecoder();
  for await (const piece of server.lines) {
    if (piece.kind === "line") {
      const id = responseId(piece.bytes, decoder);
      if (id !== undefined) pending.delete(id);
      await output.line(piece.bytes);
      continue;
    }
    log(`mcp-run: dropped a ${piece.size}-byte message from "${server.name}" (over the limit)`);
    const id = findId(decoder.decode(piece.head), decoder.decode(piece.tail), pending);
    if (id !== undefined) {
      pending.delete(id);
      await output.fail(
        id,
        `Server "${server.name}" sent a ${piece.size}-byte response; it was dropped`,
      );
    }
  }
}

/** Passes the client's lines to the server, noting the requests that wait for an answer. */
async function clientToServer(
  input: ReadableStream<Uint8Array>,
  server: ServerProcess,
  pending: Set<Id>,
  options: { maxLineBytes?: number; log: (line: string) => void },
): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const piece of input.pipeThrough(new LineSplitter(options.maxLineBytes))) {
      if (piece.kind === "oversized") {
        options.log(
          `mcp-run: dropped a ${piece.size}-byte message from the client (over the limit)`,
        );
        continue;
      }
      const id = requestId(piece.bytes, decoder);
      if (id !== undefined) pending.add(id);
      await server.send(piece.bytes);
    }
  } catch { /* the server's stdin closed: it is exiting */ }
}

function parse(bytes: Uint8Array, decoder: TextDecoder): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(decoder.decode(bytes));
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isId(value: unknown): value is Id {
  return typeof value === "string" || typeof value === "number";
}

function requestId(bytes: Uint8Array, decoder: TextDecoder): Id | undefined {
  const m = parse(bytes, decoder);
  return m && typeof m.method === "string" && isId(m.id) ? m.id : undefined;
}

function responseId(bytes: Uint8Array, decoder: TextDecoder): Id | undefined {
  const m = parse(bytes, decoder);
  return m && m.method === undefined && isId(m.id) ? m.id : undefined;
}
