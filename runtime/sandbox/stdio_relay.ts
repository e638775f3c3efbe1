/**
 * The `run` relay: passes a client's stdio to a server process line by line, with bounded
 * buffers, through the MCP-layer guard ({@linkcode Guard}): frames that are not JSON-RPC and
 * responses to unknown or answered ids are dropped and counted, the stages judge every message,
 * and the client's open requests get JSON-RPC errors when the server drops a response, does not
 * answer in time, or dies.
 *
 * @module
 */
import { errorAnswer, Guard, GuardErrorCode } from "../guard/guard.ts";
import type { GuardStage, Message } from "../guard/stage.ts";
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
  /** The guard's checks, in order (default none: only frames and ids are supervised). */
  stages?: readonly GuardStage[];
  /** Milliseconds a client request may wait for its answer (default: no limit). */
  requestTimeoutMs?: number;
  /** The connection's id for the stages (default: a random UUID). */
  session?: string;
}

/**
 * Relays stdio between a client and a server until either side ends, then stops the server.
 *
 * Each complete line passes the guard; one that no stage changed is passed on byte for byte. A
 * server line over the size cap is dropped and, if it answered an open request, the client gets
 * a JSON-RPC error for that id instead. When the server exits, every still-open request gets an
 * error naming the exit code; one the guard had to stop counts as failed with code 1. When
 * the client's input ends, the server is stopped (close stdin →
 * SIGTERM → SIGKILL).
 *
 * @param server The running server.
 * @param options Streams, bounds and the guard's stages.
 * @returns The server's exit status.
 */
export async function relayStdio(
  server: ServerProcess,
  options: RelayStdioOptions = {},
): Promise<Deno.CommandStatus> {
  const output = new ClientOutput((options.output ?? Deno.stdout.writable).getWriter());
  const log = options.log ?? ((line: string) => console.error(line));
  let stopped = false;
  const guard = new Guard(options.stages ?? [], {
    toClient: (message, raw) => output.message(message, raw),
    toServer: (message, raw) => server.send(raw ?? encode(message)).catch(() => {}),
    stopServer: () => {
      stopped = true;
      server.stop();
    },
    log,
  }, {
    server: server.name,
    session: options.session,
    requestTimeoutMs: options.requestTimeoutMs,
  });
  const gate = new Gate(options.gate, server);
  const fromServer = serverToClient(server, guard, gate, log);
  const fromClient = clientToServer(options.input ?? Deno.stdin.readable, guard, {
    maxLineBytes: options.maxLineBytes,
    log,
    output,
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
  await guard.close(gate.error?.message ?? `Server "${server.name}" ${how} before answering`);
  await output.close();
  if (gate.error) throw gate.error;
  // A server the guard stopped failed, whatever it exited with (the signal was the guard's).
  return stopped ? { success: false, code: 1, signal: null } : status;
}

const encoder = new TextEncoder();
/** JSON-RPC "parse error". */
const PARSE_ERROR = -32700;

function encode(message: Message): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** The client's side of the relay: whole lines. */
class ClientOutput {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #open = true;

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer;
  }

  /** Writes a message (its original bytes when given), then a newline. */
  message(message: Message, raw?: Uint8Array): Promise<void> {
    return this.line(raw ?? encode(message));
  }

  /** Writes a line's own bytes, then a newline; a client that went away is written no more. */
  async line(bytes: Uint8Array): Promise<void> {
    if (!this.#open) return;
    try {
      await this.#writer.write(bytes);
      await this.#writer.write(encoder.encode("\n"));
    } catch {
      this.#open = false;
    }
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

/** Passes the server's lines through the guard once the gate opens. */
async function serverToClient(
  server: ServerProcess,
  guard: Guard,
  gate: Gate,
  log: (line: string) => void,
): Promise<void> {
  await gate.settled;
  if (gate.error) return;
  const decoder = new TextDecoder();
  for await (const piece of server.lines) {
    if (piece.kind === "line") {
      const message = parse(piece.bytes, decoder);
      if (message === undefined) {
        await guard.fromServer({ jsonrpc: undefined }, piece.bytes);
      } else await guard.fromServer(message, piece.bytes);
      continue;
    }
    log(`mcp-run: dropped a ${piece.size}-byte message from "${server.name}" (over the limit)`);
    const open = new Set<Id>(guard.openRequests);
    const id = findId(decoder.decode(piece.head), decoder.decode(piece.tail), open);
    if (id !== undefined) {
      await guard.fail(
        id,
        `Server "${server.name}" sent a ${piece.size}-byte response; it was dropped`,
      );
    }
  }
}

/** Passes the client's lines through the guard to the server. */
async function clientToServer(
  input: ReadableStream<Uint8Array>,
  guard: Guard,
  options: { maxLineBytes?: number; log: (line: string) => void; output: ClientOutput },
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
      const value = parseAny(piece.bytes, decoder);
      if (Array.isArray(value)) {
        // A batch would carry its calls past the guard's checks; MCP no longer has batches.
        await options.output.message(
          errorAnswer(
            null as unknown as Id,
            GuardErrorCode.Refused,
            "JSON-RPC batches are not supported",
          ),
        );
      } else if (value && typeof value === "object") {
        await guard.fromClient(value as Message, piece.bytes);
      } else if (piece.bytes.some((byte) => byte > 32)) {
        // Not JSON to the guard, but perhaps to a laxer parser (NaN, comments): never passed on.
        await options.output.message(errorAnswer(null, PARSE_ERROR, "Parse error: not JSON"));
      }
    }
  } catch { /* the server's stdin closed: it is exiting */ }
}

function parseAny(bytes: Uint8Array, decoder: TextDecoder): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

function parse(bytes: Uint8Array, decoder: TextDecoder): Message | undefined {
  const value = parseAny(bytes, decoder);
  return value && typeof value === "object" && !Array.isArray(value) ? value as Message : undefined;
}
