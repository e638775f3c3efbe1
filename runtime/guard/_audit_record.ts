/**
 * One audit record per answered client request, built from the guard's exchange: what was asked
 * (method, tool, prompt or resource), how it ended, how long it took and how large it was. The
 * content (arguments, results) only when asked for, bounded and with secret-looking values
 * masked. Pure.
 *
 * @module
 */
import { MASKED, maskText, SECRET_NAME } from "./_audit_mask.ts";
import type { Exchange, Message, RequestId } from "./stage.ts";

export { MASKED };

/** How an answered request ended. */
export type AuditOutcome = "ok" | "error" | "tool-error" | `refused-by-${string}`;

/** One line of the audit log. */
export interface AuditRecord {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** The connection's id (one per `run`, one per server process in `serve`). */
  session: string;
  /** The server's name. */
  server: string;
  /** The request's JSON-RPC id. */
  id: RequestId | null;
  /** The request's method. */
  method: string;
  /** The tool called (`tools/call`). */
  tool?: string;
  /** The prompt got (`prompts/get`). */
  prompt?: string;
  /** The resource's URI (`resources/read`, `resources/subscribe`, …). */
  uri?: string;
  /** Milliseconds from the request's arrival to its answer's departure. */
  durationMs: number;
  /** How it ended. */
  outcome: AuditOutcome;
  /**
   * The JSON-RPC error's code; its message when mcp-run's guard wrote it, or, with content, when
   * the server did (cut, masked). A tool error (`isError`) has none: its text is result content.
   */
  error?: { code: number | null; message?: string };
  /** The stage that answered instead of the server, when one did. */
  answeredBy?: string;
  /** The request's size as the client sent it, in bytes. */
  requestBytes: number;
  /** The answer's size as the client received it, in bytes. */
  responseBytes: number;
  /** With content: the tool's or prompt's arguments, or another request's parameters. */
  arguments?: unknown;
  /** With content: the answer's result (or the error's data). */
  result?: unknown;
  /** With content: set when a value was cut to keep the line bounded. */
  contentCut?: true;
}

/** Options for {@linkcode auditRecord}. */
export interface AuditRecordOptions {
  /** The connection's id. */
  session: string;
  /** The server's name. */
  server: string;
  /** Record arguments and results (`--audit-content`); default false. */
  content?: boolean;
  /** Characters of content kept per request and per answer (default 16 384). */
  contentBudget?: number;
}

/** Longest name, URI or error message kept, in characters: a peer chooses them. */
const MAX_NAME = 256;
const MAX_MESSAGE = 1024;
/** Longest single string kept in content, in characters. */
const MAX_STRING = 1024;
/** Most entries kept per array or object in content, and how deep content is followed. */
const MAX_ENTRIES = 64;
const MAX_DEPTH = 8;
const DEFAULT_BUDGET = 16_384;
/** Characters past the cut that are masked with the rest (a URL's tail, a token's end). */
const MASK_LOOKAHEAD = 512;
/** Who answers when the guard fails a request itself (see `Guard.fail()`). */
const GUARD = "mcp-run";

/**
 * The audit record of one answered client request.
 *
 * The names (method, tool, prompt, URI) and the error message are cut to a fixed length, as
 * both peers choose them, and masked as content is. A server's error message and a tool
 * error's text say what the server read or found, so they are content: without `content` only
 * the outcome and the JSON-RPC code are kept (a message the guard wrote itself stays). With
 * `content`, the arguments and the result follow, each within a budget of characters (long
 * strings, long lists and deep nesting are cut, and `contentCut` says so); the value of every
 * field named like a secret (token, password, key, secret, authorization, …) at any depth is
 * replaced by `"[masked]"`, and so are, in every string, URL credentials, secret-named query
 * values and token-shaped values (see {@linkcode maskText}).
 *
 * @param exchange The request, its answer, and what it cost.
 * @param options The session, the server and whether to record content.
 * @returns The record (JSON-ready).
 * @example
 * ```ts
 * import { auditRecord } from "./_audit_record.ts";
 * const record = auditRecord({
 *   request: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo" } },
 *   response: { jsonrpc: "2.0", id: 2, result: { content: [] } },
 *   startedAt: 0, durationMs: 4, requestBytes: 62, responseBytes: 40, answeredBy: "server",
 * }, { session: "s1", server: "time" });
 * console.log(record.tool, record.outcome); // echo ok
 * ```
 */
export function auditRecord(exchange: Exchange, options: AuditRecordOptions): AuditRecord {
  const { request, response } = exchange;
  const params = asObject(request.params);
  const method = cut(String(request.method ?? ""), MAX_NAME);
  const record: AuditRecord = {
    time: new Date(exchange.startedAt).toISOString(),
    session: options.session,
    server: options.server,
    id: typeof request.id === "string" ? maskCut(request.id, MAX_NAME) : request.id ?? null,
    method,
    ...target(method, params),
    durationMs: Math.round(exchange.durationMs * 1000) / 1000,
    outcome: "ok",
    requestBytes: exchange.requestBytes,
    responseBytes: exchange.responseBytes,
  };
  Object.assign(record, outcome(response, exchange.answeredBy, options.content ?? false));
  if (options.content) addContent(record, request, response, options.contentBudget);
  return record;
}

/**
 * Messages worth a line besides answered requests: what the server asks of the client
 * (sampling, elicitation, roots), its list changes (a definition may have changed under the
 * client), and the client's cancellations (a cancelled request gets no answer, so no other line).
 */
export const AUDITED_EVENTS: ReadonlySet<string> = new Set([
  "sampling/createMessage",
  "elicitation/create",
  "roots/list",
  "notifications/tools/list_changed",
  "notifications/prompts/list_changed",
  "notifications/resources/list_changed",
  "notifications/cancelled",
]);

/** One line of the audit log for a message that is not an answered request. */
export interface AuditEvent {
  /** When it passed (ISO 8601). */
  time: string;
  /** The connection's id. */
  session: string;
  /** The server's name. */
  server: string;
  /** Who sent it. */
  from: "client" | "server";
  /** `request` (the server's, to the client) or `notification`. */
  event: "request" | "notification";
  /** Its method. */
  method: string;
  /** A request's id. */
  id?: RequestId;
  /** Its size, in bytes of JSON text. */
  bytes: number;
  /** With content: its parameters, bounded and masked. */
  params?: unknown;
  /** With content: set when a value was cut. */
  contentCut?: true;
}

/**
 * The audit line of a message that is not an answered request (see {@linkcode AUDITED_EVENTS}).
 *
 * @param message The message, as it passed the guard.
 * @param from Who sent it.
 * @param options The session, the server, whether to record content.
 * @returns The line's record.
 * @example
 * ```ts
 * import { auditEvent } from "./_audit_record.ts";
 * const event = auditEvent(
 *   { jsonrpc: "2.0", method: "notifications/tools/list_changed" },
 *   "server",
 *   { session: "s1", server: "time" },
 * );
 * console.log(event.event, event.method); // notification notifications/tools/list_changed
 * ```
 */
export function auditEvent(
  message: Message,
  from: "client" | "server",
  options: AuditRecordOptions,
): AuditEvent {
  const isRequest = typeof message.id === "string" || typeof message.id === "number";
  const event: AuditEvent = {
    time: new Date().toISOString(),
    session: options.session,
    server: options.server,
    from,
    event: isRequest ? "request" : "notification",
    method: cut(String(message.method ?? ""), MAX_NAME),
    ...(isRequest
      ? { id: typeof message.id === "string" ? maskCut(message.id, MAX_NAME) : message.id! }
      : {}),
    bytes: new TextEncoder().encode(JSON.stringify(message)).length,
  };
  const { _meta: _, ...params } = asObject(message.params);
  if (options.content && Object.keys(params).length) {
    const bounded = new Bounder(options.contentBudget ?? DEFAULT_BUDGET);
    event.params = bounded.value(params, 0);
    if (bounded.cut) event.contentCut = true;
  }
  return event;
}

/** The tool, prompt or resource a request is about, by its method. */
function target(
  method: string,
  params: Record<string, unknown>,
): Pick<AuditRecord, "tool" | "prompt" | "uri"> {
  const name = typeof params.name === "string" ? maskCut(params.name, MAX_NAME) : undefined;
  const uri = typeof params.uri === "string" ? maskCut(params.uri, MAX_NAME) : undefined;
  if (method === "tools/call" && name !== undefined) return { tool: name };
  if (method === "prompts/get" && name !== undefined) return { prompt: name };
  if (method.startsWith("resources/") && uri !== undefined) return { uri };
  return {};
}

/**
 * The outcome, the error and who answered, from the answer. A tool error's text is left out
 * (with content it is in the result); so is a server's error message without content, as a
 * server may put what it read there ("no such user: ada, key=…").
 */
function outcome(
  response: Message,
  answeredBy: string,
  content: boolean,
): Pick<AuditRecord, "outcome" | "error" | "answeredBy"> {
  const by = answeredBy === "server" ? {} : { answeredBy: cut(answeredBy, MAX_NAME) };
  if (response.error !== undefined) {
    const error = asObject(response.error);
    const code = typeof error.code === "number" ? error.code : null;
    const message = maskCut(String(error.message ?? ""), MAX_MESSAGE);
    // The guard itself ("mcp-run") answers a timeout or a server that ended: not a refusal.
    const refused = answeredBy === "server" || answeredBy === GUARD
      ? "error"
      : `refused-by-${by.answeredBy}` as const;
    const said = content || answeredBy !== "server" ? { message } : {};
    return { outcome: refused, error: { code, ...said }, ...by };
  }
  if (asObject(response.result).isError === true) return { outcome: "tool-error", ...by };
  return { outcome: "ok", ...by };
}

/** Adds the bounded, masked arguments and result. */
function addContent(
  record: AuditRecord,
  request: Message,
  response: Message,
  budget = DEFAULT_BUDGET,
): void {
  const params = asObject(request.params);
  const { _meta: _, ...rest } = params;
  const named = record.tool !== undefined || record.prompt !== undefined;
  const asked = named ? params.arguments : Object.keys(rest).length ? rest : undefined;
  const answer = response.error !== undefined ? asObject(response.error).data : response.result;
  let wasCut = false;
  for (const [field, value] of [["arguments", asked], ["result", answer]] as const) {
    if (value === undefined) continue;
    const bounded = new Bounder(budget);
    record[field] = bounded.value(value, 0);
    wasCut ||= bounded.cut;
  }
  if (wasCut) record.contentCut = true;
}

/** Copies a value within a budget of characters, masking secret-looking fields and values. */
class Bounder {
  #left: number;
  cut = false;

  constructor(budget: number) {
    this.#left = budget;
  }

  value(value: unknown, depth: number): unknown {
    if (this.#left <= 0) return this.#cutHere("[cut]");
    if (typeof value === "string") return this.#string(value);
    if (value === null || typeof value !== "object") {
      this.#left -= 8;
      return typeof value === "number" || typeof value === "boolean" ? value : null;
    }
    if (depth >= MAX_DEPTH) return this.#cutHere("[cut: nested too deeply]");
    if (Array.isArray(value)) return this.#array(value, depth);
    return this.#object(value as Record<string, unknown>, depth);
  }

  #string(text: string): string {
    const limit = Math.min(MAX_STRING, Math.max(this.#left, 0));
    // Masked before the cut, with some text past it: a URL cut before its "@" would keep its
    // password unmasked. Bounded, so a 3 MB string costs no more than a short one.
    const masked = maskText(text.slice(0, limit + MASK_LOOKAHEAD));
    const kept = masked.length <= limit ? masked : masked.slice(0, limit);
    // Charged as written: a control character takes six characters in JSON.
    this.#left -= JSON.stringify(kept).length;
    if (kept === text) return text;
    if (text.length <= limit + MASK_LOOKAHEAD && kept === masked) return kept;
    this.cut = true;
    return `${kept}…[cut: ${text.length} characters]`;
  }

  #array(items: unknown[], depth: number): unknown[] {
    const out: unknown[] = [];
    // Entries stop once the budget is spent: each would still cost its "[cut]".
    for (const item of items.slice(0, MAX_ENTRIES)) {
      if (this.#left <= 0) break;
      out.push(this.value(item, depth + 1));
    }
    if (items.length > out.length) out.push(this.#cutHere(`[cut: ${items.length} items]`));
    return out;
  }

  #object(object: Record<string, unknown>, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = Object.keys(object);
    let kept = 0;
    for (const key of keys.slice(0, MAX_ENTRIES)) {
      if (this.#left <= 0) break;
      const name = maskCut(key, MAX_NAME);
      this.#left -= JSON.stringify(name).length + 2;
      out[name] = SECRET_NAME.test(key) ? MASKED : this.value(object[key], depth + 1);
      kept++;
    }
    if (keys.length > kept) out["[cut]"] = this.#cutHere(`${keys.length} fields`);
    return out;
  }

  #cutHere(note: string): string {
    this.cut = true;
    return note;
  }
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** A name or message as written: masked (looking a little past the cut), then cut. */
function maskCut(text: string, max: number): string {
  const masked = maskText(text.slice(0, max + MASK_LOOKAHEAD));
  return masked.length <= max && text.length <= max + MASK_LOOKAHEAD
    ? masked
    : `${masked.slice(0, max)}…`;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
