/**
 * The audit log: one JSON line per answered client request (`--audit FILE`), and the same as an
 * OpenTelemetry span when an OTLP endpoint is set. One log serves every session of a launch
 * (`serve` shares it between its processes); each session's guard gets its stage. Recording
 * never blocks or breaks the relay: lines and spans wait in bounded queues, and what cannot be
 * written is dropped, counted and said once.
 *
 * @module
 */
import { basename, dirname, resolve } from "../_path.ts";
import { AUDITED_EVENTS, auditEvent, auditRecord } from "./_audit_record.ts";
import { auditSpan, OtlpExporter, type OtlpTarget } from "./otlp.ts";
import type { Exchange, GuardContext, GuardStage, Message } from "./stage.ts";

export { type AuditEvent, type AuditOutcome, type AuditRecord, MASKED } from "./_audit_record.ts";

/** Most event lines (server requests, list changes, cancellations) one session writes. */
const MAX_EVENTS_PER_SESSION = 1000;

/** Options for {@linkcode openAuditLog}. */
export interface OpenAuditLogOptions {
  /** The JSONL file (`--audit`), appended to; created readable by its owner only. */
  file?: string;
  /** Record arguments and results too (`--audit-content`), bounded, secrets masked. */
  content?: boolean;
  /** Where spans go (see `otlpTarget()`), if anywhere. */
  otlp?: OtlpTarget;
  /** The server's name (the spans' resource). */
  server: string;
  /**
   * Canonical paths the server may read or write: the file may not be under one of them, or
   * the server could read what it is recorded doing, or rewrite it.
   */
  serverPaths?: string[];
  /** How clients reach mcp-run: `pipe` (stdio: `run`, the default) or `tcp` (`serve`). */
  transport?: "pipe" | "tcp";
  /** Where notices go (default: stderr). */
  log?: (line: string) => void;
  /** Most bytes of lines waiting to be written; more are dropped and counted (default 8 MiB). */
  maxPendingBytes?: number;
}

/**
 * Opens the audit log of a launch: the file (checked, then opened append-only, created with mode
 * 0600) and the span exporter. Call before the server starts, so that a bad path stops the
 * launch with a clear error.
 *
 * @param options The file, whether to record content, the OTLP target, the server.
 * @returns The log, or undefined when neither a file nor an OTLP target is given.
 * @throws {TypeError} When the path is not a regular file (a folder, a device, a FIFO: stdout
 *   carries the MCP messages, for one), or lies where the server may read or write.
 * @throws {Deno.errors.NotFound} When its folder does not exist (likewise PermissionDenied …):
 *   the message says which path and what to do.
 * @example
 * ```ts ignore
 * import { openAuditLog } from "./audit_log.ts";
 * const log = await openAuditLog({ file: "/var/log/mcp-run/time.jsonl", server: "time" });
 * // … give log.stage() to the guard; when the launch ends:
 * await log?.close();
 * ```
 */
export async function openAuditLog(options: OpenAuditLogOptions): Promise<AuditLog | undefined> {
  if (options.file === undefined && options.otlp === undefined) return undefined;
  const log = options.log ?? ((line: string) => console.error(line));
  const file = options.file === undefined ? undefined : await openAuditFile(options.file, {
    serverPaths: options.serverPaths ?? [],
    content: options.content ?? false,
    log,
    maxPendingBytes: options.maxPendingBytes ?? 8 * 1024 * 1024,
  });
  const exporter = options.otlp &&
    new OtlpExporter(options.otlp, { resource: { "mcp_run.server.name": options.server }, log });
  return new AuditLog({
    file,
    exporter,
    content: options.content ?? false,
    transport: options.transport,
    log,
  });
}

/** Where the audit log's lines go: whole lines, in order; never blocks, never throws. */
export interface AuditLineSink {
  /**
   * Queues one line.
   *
   * @param line A JSON text ending in a newline.
   */
  write(line: string): void;
  /** Writes what is queued and releases the sink; never rejects. */
  close(): Promise<void>;
}

/** What an {@linkcode AuditLog} records to, and how. */
export interface AuditLogParts {
  /** The JSONL file's sink, if any. */
  file?: AuditLineSink;
  /** The span exporter, if any. */
  exporter?: OtlpExporter;
  /** Whether arguments and results are recorded. */
  content: boolean;
  /** How clients reach mcp-run (the spans' `network.transport`; default `pipe`). */
  transport?: "pipe" | "tcp";
  /** Where notices go. */
  log: (line: string) => void;
}

/**
 * A launch's audit log: records answered requests as JSON lines and spans. Made by
 * {@linkcode openAuditLog}.
 */
export class AuditLog {
  readonly #file: AuditLineSink | undefined;
  readonly #exporter: OtlpExporter | undefined;
  readonly #content: boolean;
  readonly #transport: "pipe" | "tcp" | undefined;
  readonly #log: (line: string) => void;
  #failed = false;

  /**
   * Use {@linkcode openAuditLog}, which checks and opens the file.
   *
   * @param parts The opened file, the exporter, whether to record content, where notices go.
   */
  constructor(parts: AuditLogParts) {
    this.#file = parts.file;
    this.#exporter = parts.exporter;
    this.#content = parts.content;
    this.#transport = parts.transport;
    this.#log = parts.log;
  }

  /**
   * The guard stage of one session: it judges nothing, records each answered request and (in
   * the file) each server request, list change and cancellation that passed the other stages,
   * at most 1000 of those per session (the rest are counted in a last line).
   *
   * @returns The stage, named `audit`.
   */
  stage(): GuardStage {
    let events = 0;
    let unrecorded = 0;
    let session: GuardContext | undefined;
    // Bounded per session: a server may send list changes as often as the rate limit lets it.
    const event = (message: Message, from: "client" | "server", context: GuardContext) => {
      session = context;
      if (!this.#file || !AUDITED_EVENTS.has(message.method as string)) return;
      if (events++ < MAX_EVENTS_PER_SESSION) this.#event(message, from, context);
      else unrecorded++;
    };
    return {
      name: "audit",
      fromClient: (message, context) => {
        event(message, "client", context);
        return { pass: message };
      },
      fromServer: (message, _request, context) => {
        event(message, "server", context);
        return { pass: message };
      },
      answered: (exchange, context) => this.record(exchange, context),
      close: () => {
        if (unrecorded === 0 || !session) return;
        this.#line({
          time: new Date().toISOString(),
          session: session.session,
          server: session.server,
          unrecordedEvents: unrecorded,
        });
      },
    };
  }

  /**
   * Records one answered request: a line in the file, a span for the collector. Never throws.
   *
   * @param exchange The request, its answer, and what it cost.
   * @param context The session's guard context (server, session, `initialize` result).
   */
  record(exchange: Exchange, context: GuardContext): void {
    try {
      const record = auditRecord(exchange, {
        session: context.session,
        server: context.server,
        content: this.#content,
      });
      this.#file?.write(`${JSON.stringify(record)}\n`);
      this.#exporter?.add(auditSpan(record, {
        startedAt: exchange.startedAt,
        traceparent: exchange.request.params?._meta &&
          (exchange.request.params._meta as Record<string, unknown>).traceparent,
        protocolVersion: context.serverInit?.protocolVersion,
        transport: this.#transport,
      }));
    } catch (error) {
      this.#failedOnce(error as Error);
    }
  }

  #event(message: Message, from: "client" | "server", context: GuardContext): void {
    try {
      const options = { session: context.session, server: context.server, content: this.#content };
      this.#line(auditEvent(message, from, options));
    } catch (error) {
      this.#failedOnce(error as Error);
    }
  }

  #line(record: object): void {
    this.#file?.write(`${JSON.stringify(record)}\n`);
  }

  #failedOnce(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#log(`mcp-run: cannot record a request in the audit log: ${error.message}`);
  }

  /**
   * Writes and sends what is waiting, then closes the file. Never rejects.
   *
   * @returns When the lines are written and the spans sent (or their timeout passed).
   */
  async close(): Promise<void> {
    await Promise.all([this.#file?.close(), this.#exporter?.shutdown()]);
  }
}

/** An audit file open for appending; whole lines, written in order, one writer at a time. */
class AuditFile implements AuditLineSink {
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #options: { log: (line: string) => void; maxPendingBytes: number };
  readonly #encoder = new TextEncoder();
  #pending: string[] = [];
  #pendingBytes = 0;
  #writing: Promise<void> | undefined;
  #dropped = 0;
  #broken = false;

  constructor(
    file: Deno.FsFile,
    path: string,
    options: { log: (line: string) => void; maxPendingBytes: number },
  ) {
    this.#file = file;
    this.#path = path;
    this.#options = options;
  }

  /** Queues a line (ending in a newline); dropped, and counted, when too many wait. */
  write(line: string): void {
    if (this.#broken) return;
    if (this.#pendingBytes + line.length > this.#options.maxPendingBytes) {
      if (this.#dropped++ === 0) {
        this.#options.log(
          `mcp-run: the audit log "${this.#path}" is not keeping up; lines are dropped`,
        );
      }
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.#writing ??= this.#drain().finally(() => this.#writing = undefined);
  }

  async close(): Promise<void> {
    while (this.#writing) await this.#writing;
    // A session that ends after the launch's log closed writes nothing more.
    this.#broken = true;
    if (this.#dropped) {
      this.#options.log(`mcp-run: ${this.#dropped} audit lines were dropped from "${this.#path}"`);
    }
    try {
      this.#file.close();
    } catch { /* already closed */ }
  }

  async #drain(): Promise<void> {
    while (this.#pending.length && !this.#broken) {
      // Whole lines in each write: with O_APPEND, another writer's lines never land inside them.
      const lines = this.#pending.splice(0, 256);
      const text = lines.join("");
      this.#pendingBytes -= text.length;
      try {
        await writeAll(this.#file, this.#encoder.encode(text));
      } catch (error) {
        this.#broken = true;
        this.#options.log(
          `mcp-run: cannot write the audit log "${this.#path}": ${(error as Error).message}; ` +
            "no further lines are written",
        );
      }
    }
    if (this.#broken) this.#pending = [];
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Checks the path, then opens it append-only (0600 when created). */
async function openAuditFile(
  path: string,
  options: {
    serverPaths: string[];
    content: boolean;
    log: (line: string) => void;
    maxPendingBytes: number;
  },
): Promise<AuditFile> {
  if (path.trim() === "") throw new TypeError("--audit must name a file, got an empty path");
  const where = await canonicalTarget(path);
  const existing = await Deno.stat(where).catch(() => undefined);
  if (existing && !existing.isFile) {
    throw new TypeError(
      `Cannot write the audit log to "${path}": it is not a regular file (a folder, a device ` +
        "or a pipe); give the path of a file",
    );
  }
  const inside = options.serverPaths.find((p) => where === p || where.startsWith(`${p}/`));
  if (inside !== undefined) {
    throw new TypeError(
      `Cannot write the audit log to "${path}": the server may access "${inside}", so it could ` +
        "read or rewrite its own record; choose a file outside the server's grants",
    );
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(where, { append: true, create: true, mode: 0o600 });
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? "its folder does not exist"
      : error instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (error as Error).message;
    const ErrorClass = (error as Error).constructor as ErrorConstructor;
    throw new ErrorClass(
      `Cannot open the audit log "${path}": ${why}; choose a file you can write`,
      {
        cause: error,
      },
    );
  }
  const mode = (await file.stat().catch(() => undefined))?.mode ?? 0;
  if (options.content && (mode & 0o077) !== 0) {
    options.log(
      `mcp-run: the audit log "${path}" is readable by others (mode ` +
        `${(mode & 0o777).toString(8)}) and will hold arguments and results: chmod 600 it`,
    );
  }
  return new AuditFile(file, path, options);
}

/** The file's absolute path with its folder's symbolic links resolved (the file may not exist). */
async function canonicalTarget(path: string): Promise<string> {
  const absolute = resolve(path);
  const real = await Deno.realPath(absolute).catch(() => undefined);
  if (real !== undefined) return real;
  const folder = await Deno.realPath(dirname(absolute)).catch(() => dirname(absolute));
  return `${folder.replace(/\/$/, "")}/${basename(absolute)}`;
}
