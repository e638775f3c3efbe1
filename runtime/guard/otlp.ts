/**
 * The audit log as OpenTelemetry spans: one span per answered client request, named and
 * described by OpenTelemetry's MCP semantic conventions, sent as OTLP/HTTP JSON to the
 * collector the standard `OTEL_EXPORTER_OTLP_*` variables name. The exporter batches, keeps a
 * bounded queue, gives each POST a timeout and never throws: a slow or absent collector costs
 * spans, never the relay.
 *
 * @module
 */
import type { AuditRecord } from "./_audit_record.ts";

/** Where spans go: the traces URL and the headers to send with each POST. */
export interface OtlpTarget {
  /** The OTLP/HTTP traces endpoint (`…/v1/traces`). */
  url: string;
  /** Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`; an API key, say). */
  headers: Record<string, string>;
  /** The resource's `service.name` (`OTEL_SERVICE_NAME`, default `mcp-run`). */
  serviceName: string;
}

/**
 * The OTLP target the environment names, if any: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given,
 * else `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` appended; headers from
 * `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`k=v,k2=v2`, values
 * percent-encoded). `OTEL_SDK_DISABLED=true` turns export off. Spans are always sent as JSON
 * (`OTEL_EXPORTER_OTLP_PROTOCOL` is not read). Only the launcher reads these: a server's
 * environment is built from scratch and never holds them.
 *
 * @param env The launcher's environment.
 * @returns The target, or undefined when no endpoint is set.
 * @throws {TypeError} When an endpoint is not an http(s) URL or a header entry is malformed (the
 *   message names the variable, never a header's value).
 * @example
 * ```ts
 * import { otlpTarget } from "./otlp.ts";
 * const target = otlpTarget({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" });
 * console.log(target?.url); // http://127.0.0.1:4318/v1/traces
 * ```
 */
export function otlpTarget(env: Record<string, string | undefined>): OtlpTarget | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!traces && !base) return undefined;
  const name = traces ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
  let url: URL;
  try {
    url = traces ? new URL(traces) : new URL(`${base!.replace(/\/+$/, "")}/v1/traces`);
  } catch (error) {
    throw new TypeError(`${name} must be an http(s) URL, got "${traces ?? base}"`, {
      cause: error,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${name} must be an http(s) URL, got "${traces ?? base}"`);
  }
  return {
    url: url.href,
    headers: {
      ...otlpHeaders(env, "OTEL_EXPORTER_OTLP_HEADERS"),
      ...otlpHeaders(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
    },
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "mcp-run",
  };
}

/** `k=v,k2=v2` with percent-encoded values; a bad entry names the variable, not its value. */
function otlpHeaders(
  env: Record<string, string | undefined>,
  name: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (env[name] ?? "").split(",")) {
    if (entry.trim() === "") continue;
    const eq = entry.indexOf("=");
    const key = eq > 0 ? entry.slice(0, eq).trim() : "";
    let value: string | undefined;
    try {
      value = eq > 0 ? decodeURIComponent(entry.slice(eq + 1).trim()) : undefined;
    } catch { /* reported below */ }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || value === undefined) {
      throw new TypeError(`${name} must be a list of key=value pairs separated by commas`);
    }
    headers[key] = value;
  }
  return headers;
}

/** An OTLP attribute: a key and a typed value. */
export interface OtlpAttribute {
  /** The attribute's name. */
  key: string;
  /** Its value. */
  value: { stringValue: string } | { intValue: string } | { doubleValue: number };
}

/** A span in OTLP/JSON form (ids in hex, times in nanoseconds as decimal strings). */
export interface OtlpSpan {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  /** The caller's span, from the request's `_meta.traceparent`, if any. */
  parentSpanId?: string;
  /** `{mcp.method.name} {target}`. */
  name: string;
  /** 2: SERVER (mcp-run receives the client's request). */
  kind: number;
  /** Start, in nanoseconds since the epoch. */
  startTimeUnixNano: string;
  /** End, in nanoseconds since the epoch. */
  endTimeUnixNano: string;
  /** The span's attributes. */
  attributes: OtlpAttribute[];
  /** 0: unset; 2: error, with the record's error message, or its outcome when it has none. */
  status: { code: number; message?: string };
}

/** Options for {@linkcode auditSpan}. */
export interface AuditSpanOptions {
  /** When the request arrived, in epoch milliseconds. */
  startedAt: number;
  /** The request's `params._meta.traceparent` (W3C trace context), if any. */
  traceparent?: unknown;
  /** The protocol version the server answered `initialize` with. */
  protocolVersion?: unknown;
  /** How the client reached mcp-run: `pipe` (stdio, the default) or `tcp` (`serve`). */
  transport?: "pipe" | "tcp";
}

const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The span of one audit record, following OpenTelemetry's MCP semantic conventions: name
 * `{mcp.method.name} {target}` (the tool or prompt name; the method alone otherwise), kind
 * SERVER, `mcp.method.name`, `gen_ai.tool.name`, `gen_ai.prompt.name`, `mcp.resource.uri`,
 * `jsonrpc.request.id`, `mcp.session.id`, `mcp.protocol.version`, `gen_ai.operation.name`
 * (`execute_tool`), `error.type` (the JSON-RPC code, or `tool_error`), `rpc.response.status_code`
 * and `network.transport` (`pipe` for stdio, `tcp` for HTTP); mcp-run's own under `mcp_run.*` (server, outcome, stage,
 * sizes). With content, `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result` as JSON text
 * (bounded and masked as in the record). A valid `traceparent` in the request's `_meta` makes
 * the span a child of the caller's.
 *
 * @param record The audit record.
 * @param options When the request arrived, its trace context, the protocol version.
 * @returns The span.
 * @example
 * ```ts
 * import { auditSpan } from "./otlp.ts";
 * const span = auditSpan({
 *   time: "2026-01-01T00:00:00.000Z", session: "s", server: "time", id: 1, method: "tools/call",
 *   tool: "now", durationMs: 2, outcome: "ok", requestBytes: 50, responseBytes: 80,
 * }, { startedAt: Date.parse("2026-01-01T00:00:00.000Z") });
 * console.log(span.name); // tools/call now
 * ```
 */
export function auditSpan(record: AuditRecord, options: AuditSpanOptions): OtlpSpan {
  const parent = typeof options.traceparent === "string"
    ? TRACEPARENT.exec(options.traceparent.trim().toLowerCase())
    : null;
  const target = record.tool ?? record.prompt;
  const attributes: Record<string, string | number | undefined> = {
    "mcp.method.name": record.method,
    "gen_ai.tool.name": record.tool,
    "gen_ai.prompt.name": record.prompt,
    "mcp.resource.uri": record.uri,
    "jsonrpc.request.id": record.id === null ? undefined : String(record.id),
    "mcp.session.id": record.session,
    "mcp.protocol.version": typeof options.protocolVersion === "string"
      ? options.protocolVersion
      : undefined,
    "gen_ai.operation.name": record.method === "tools/call" ? "execute_tool" : undefined,
    "network.transport": options.transport ?? "pipe",
    "error.type": record.outcome === "tool-error"
      ? "tool_error"
      : record.error?.code == null
      ? undefined
      : String(record.error.code),
    "rpc.response.status_code": record.error?.code == null ? undefined : String(record.error.code),
    "mcp_run.server.name": record.server,
    "mcp_run.outcome": record.outcome,
    "mcp_run.answered_by": record.answeredBy,
    "mcp_run.request.size": record.requestBytes,
    "mcp_run.response.size": record.responseBytes,
    "gen_ai.tool.call.arguments": contentText(record.arguments),
    "gen_ai.tool.call.result": contentText(record.result),
  };
  const startNano = BigInt(Math.round(options.startedAt * 1000)) * 1000n;
  const endNano = startNano + BigInt(Math.round(record.durationMs * 1000)) * 1000n;
  const failed = record.outcome !== "ok";
  return {
    traceId: parent?.[1] ?? randomHex(16),
    spanId: randomHex(8),
    ...(parent ? { parentSpanId: parent[2] } : {}),
    name: target === undefined ? record.method : `${record.method} ${target}`,
    kind: SPAN_KIND_SERVER,
    startTimeUnixNano: String(startNano),
    endTimeUnixNano: String(endNano),
    attributes: otlpAttributes(attributes),
    // The record's message only: a tool error's text is content, kept out as the record keeps it.
    status: failed
      ? { code: STATUS_ERROR, message: record.error?.message ?? record.outcome }
      : { code: 0 },
  };
}

function contentText(value: unknown): string | undefined {
  return value === undefined ? undefined : JSON.stringify(value);
}

/**
 * Attributes in OTLP form, those without a value left out.
 *
 * @param values Attribute values by key (integers become `intValue`).
 * @returns The OTLP attributes.
 */
export function otlpAttributes(
  values: Record<string, string | number | undefined>,
): OtlpAttribute[] {
  return Object.entries(values).flatMap(([key, v]): OtlpAttribute[] => {
    if (v === undefined) return [];
    if (typeof v === "string") return [{ key, value: { stringValue: v } }];
    return [{ key, value: Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v } }];
  });
}

function randomHex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The body of an OTLP/HTTP JSON traces request (`ExportTraceServiceRequest`).
 *
 * @param spans The spans.
 * @param resource The resource's attributes (`service.name`, …).
 * @returns The body, as an object to serialize.
 * @example
 * ```ts
 * import { otlpTraceBody } from "./otlp.ts";
 * const body = otlpTraceBody([], { "service.name": "mcp-run" });
 * console.log(body.resourceSpans.length); // 1
 * ```
 */
export function otlpTraceBody(
  spans: OtlpSpan[],
  resource: Record<string, string>,
): { resourceSpans: unknown[] } {
  return {
    resourceSpans: [{
      resource: { attributes: otlpAttributes(resource) },
      scopeSpans: [{ scope: { name: "mcp-run.audit" }, spans }],
    }],
  };
}

/** Options for {@linkcode OtlpExporter}. */
export interface OtlpExporterOptions {
  /** The resource's attributes besides `service.name` (the server's name, …). */
  resource?: Record<string, string>;
  /** Most spans waiting to be sent; more are dropped and counted (default 2048). */
  maxQueue?: number;
  /** Most spans per POST (default 512). */
  maxBatch?: number;
  /** How long a span may wait for others before a POST (default 1000 ms). */
  delayMs?: number;
  /** How long one POST may take (default 5000 ms); shutdown waits at most this long too. */
  timeoutMs?: number;
  /** Where notices go (a collector that fails, spans dropped). */
  log?: (line: string) => void;
}

/**
 * Sends spans to an OTLP/HTTP collector as JSON, in batches, one POST at a time. `add` never
 * blocks or throws: a full queue drops the span (counted, said once), a failed POST drops its
 * batch (said once, with the reason); the relay goes on either way. Timers do not keep the
 * process alive; {@linkcode OtlpExporter.shutdown} sends what is left, within the timeout.
 * Requires `--allow-net` for the collector's host.
 *
 * @example
 * ```ts ignore
 * import { OtlpExporter, otlpTarget } from "./otlp.ts";
 * const exporter = new OtlpExporter(otlpTarget(Deno.env.toObject())!, {
 *   resource: { "mcp_run.server.name": "time" },
 * });
 * exporter.add(span);
 * await exporter.shutdown();
 * ```
 */
export class OtlpExporter {
  readonly #target: OtlpTarget;
  readonly #resource: Record<string, string>;
  readonly #options: Required<Omit<OtlpExporterOptions, "resource">>;
  #queue: OtlpSpan[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | undefined;
  #dropped = 0;
  #failed = 0;
  #closed = false;

  /**
   * An exporter that sends nothing until spans are added.
   *
   * @param target Where to send (see {@linkcode otlpTarget}).
   * @param options Resource, bounds, timeout and where notices go.
   */
  constructor(target: OtlpTarget, options: OtlpExporterOptions = {}) {
    this.#target = target;
    this.#resource = { "service.name": target.serviceName, ...options.resource };
    this.#options = {
      maxQueue: options.maxQueue ?? 2048,
      maxBatch: options.maxBatch ?? 512,
      delayMs: options.delayMs ?? 1000,
      timeoutMs: options.timeoutMs ?? 5000,
      log: options.log ?? ((line) => console.error(line)),
    };
  }

  /** Spans dropped so far: the queue was full, or their POST failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queues a span; sends a batch when enough are waiting or after the delay.
   *
   * @param span The span.
   */
  add(span: OtlpSpan): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#options.maxQueue) {
      if (this.#dropped++ === 0) {
        this.#options.log(
          `mcp-run: the span queue for ${this.#target.url} is full; spans are dropped until ` +
            "the collector catches up",
        );
      }
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#options.maxBatch) this.#kick();
    else if (this.#timer === undefined) {
      const timer = setTimeout(() => this.#kick(), this.#options.delayMs);
      Deno.unrefTimer(Number(timer));
      this.#timer = timer;
    }
  }

  /**
   * Sends what is queued and stops taking spans. Waits at most the timeout; what is not sent
   * by then is dropped. Never rejects.
   *
   * @returns When the last POST has ended or the timeout passed.
   */
  async shutdown(): Promise<void> {
    this.#closed = true;
    this.#kick();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#options.timeoutMs);
    });
    await Promise.race([this.#sending, deadline]);
    clearTimeout(timer);
    if (this.#queue.length) this.#dropped += this.#queue.splice(0).length;
    if (this.#failed > 1) {
      this.#options.log(`mcp-run: ${this.#failed} span batches could not be sent`);
    }
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#drain().finally(() => this.#sending = undefined);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length) {
      const batch = this.#queue.splice(0, this.#options.maxBatch);
      const failure = await this.#post(batch);
      if (failure === undefined) continue;
      this.#dropped += batch.length;
      if (this.#failed++ === 0) {
        this.#options.log(
          `mcp-run: cannot send spans to ${this.#target.url}: ${failure}; ` +
            "those spans are dropped (the server runs on)",
        );
      }
    }
  }

  /** One POST; the reason it failed, or undefined. */
  async #post(batch: OtlpSpan[]): Promise<string | undefined> {
    try {
      const response = await fetch(this.#target.url, {
        method: "POST",
        headers: { ...this.#target.headers, "content-type": "application/json" },
        body: JSON.stringify(otlpTraceBody(batch, this.#resource)),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await response.body?.cancel();
      return response.ok ? undefined : `the collector answered ${response.status}`;
    } catch (error) {
      return (error as Error).message;
    }
  }
}
