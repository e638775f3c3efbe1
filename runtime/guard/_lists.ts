/**
 * What the guard's stages (pins, scan, tool filter) and the CLI's listings share: the MCP list
 * methods, the one bounded lister that reads a list page by page, the connection's current
 * listing (read once after a change, whichever stage asks first), and the JSON-RPC error that
 * answers a refused request.
 *
 * @module
 */
import type { GuardContext, Message, Verdict } from "./stage.ts";
import { GuardErrorCode } from "./guard.ts";
import { DEFINITION_KINDS, type DefinitionKind } from "./definition_hash.ts";
import type { ListedDefinitions } from "./pin_store.ts";

/** The list methods whose answers hold definitions, and the result field that holds them. */
export const LIST_FIELDS: Readonly<Record<string, string>> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resourceTemplates",
};

/** How each pinned kind is listed: the method, the result's field, the server capability. */
export const KIND_LISTS: Readonly<
  Record<DefinitionKind, { method: string; field: string; capability: string }>
> = {
  tool: { method: "tools/list", field: "tools", capability: "tools" },
  prompt: { method: "prompts/list", field: "prompts", capability: "prompts" },
  resourceTemplate: {
    method: "resources/templates/list",
    field: "resourceTemplates",
    capability: "resources",
  },
};

/** The lists each list-changed notification concerns (templates change with the resources). */
const CHANGED_LISTS: Readonly<Record<string, readonly string[]>> = {
  "notifications/tools/list_changed": ["tools/list"],
  "notifications/prompts/list_changed": ["prompts/list"],
  "notifications/resources/list_changed": ["resources/list", "resources/templates/list"],
};

/** The most pages read of one list: a server that never stops paginating is cut off. */
const MAX_PAGES = 100;
/** The most items kept of one list: the launcher's memory stays bounded. */
const MAX_ITEMS = 10_000;

/** Sends one request to the server and resolves with its result. */
export type ListRequest = (
  method: string,
  params?: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/**
 * Reads a whole list, following `nextCursor` until the server gives none, repeats one, or the
 * bounds are reached ({@linkcode MAX_PAGES} pages, {@linkcode MAX_ITEMS} items).
 *
 * @param request Sends a request to the server (the guard's own, or an SDK client's).
 * @param method The list method (`tools/list`, …).
 * @returns Every item (objects only).
 * @throws {Error} Whatever `request` rejects with: an error the server answered, an end, a timeout.
 *
 * @example
 * ```ts
 * import { listPages } from "./_lists.ts";
 * const items = await listPages(() => Promise.resolve({ tools: [{ name: "a" }] }), "tools/list");
 * console.log(items.length); // 1
 * ```
 */
export async function listPages(
  request: ListRequest,
  method: string,
): Promise<Record<string, unknown>[]> {
  const field = LIST_FIELDS[method];
  const items: Record<string, unknown>[] = [];
  const cursors = new Set<string>();
  let cursor: unknown;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await request(method, cursor === undefined ? {} : { cursor });
    items.push(...(listItems({ jsonrpc: "2.0", result }, field) ?? []));
    if (items.length >= MAX_ITEMS) {
      items.length = MAX_ITEMS;
      break;
    }
    cursor = result?.nextCursor;
    if (typeof cursor !== "string" || cursors.has(cursor)) break;
    cursors.add(cursor);
  }
  return items;
}

/**
 * Whether an error is the server's own JSON-RPC answer (a list it advertises but does not serve),
 * rather than a closed connection or a request that timed out.
 *
 * @param error What a request rejected with.
 * @returns True for an answered error.
 */
export function isServerAnswer(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "number") return false;
  // The MCP SDK's codes for a closed connection and a request that timed out: not answers.
  return !((error as Error)?.name === "McpError" && (code === -32000 || code === -32001));
}

/**
 * Lists every definition of the kinds a server's capabilities advertise, page by page. A list the
 * server answers with a JSON-RPC error of its own reads as empty (some servers advertise lists
 * they do not serve); any other failure is thrown.
 *
 * @param request Sends a request to the server (the guard's own, or an SDK client's).
 * @param capabilities The server's capabilities, from its `initialize` result.
 * @param kinds The kinds to list (default: all).
 * @returns The definitions by kind, as listed.
 * @throws {Error} When the server ends or does not answer (whatever `request` rejects with).
 *
 * @example
 * ```ts
 * import { listDefinitions } from "./_lists.ts";
 * const listed = await listDefinitions(
 *   (method) => Promise.resolve(method === "tools/list" ? { tools: [{ name: "echo" }] } : {}),
 *   { tools: {} },
 * );
 * console.log(listed.tool.length, listed.prompt.length); // 1 0
 * ```
 */
export function listDefinitions(
  request: ListRequest,
  capabilities: Record<string, unknown> | undefined,
  kinds: readonly DefinitionKind[] = DEFINITION_KINDS,
): Promise<ListedDefinitions> {
  return listKinds((method) => listPages(request, method), capabilities, kinds);
}

/**
 * {@linkcode listDefinitions} with the lists read by `list`.
 *
 * @param list Reads one whole list.
 * @param capabilities The server's capabilities.
 * @param kinds The kinds to list.
 * @returns The definitions by kind.
 */
export async function listKinds(
  list: (method: string) => Promise<Record<string, unknown>[]>,
  capabilities: Record<string, unknown> | undefined,
  kinds: readonly DefinitionKind[],
): Promise<ListedDefinitions> {
  const listed: ListedDefinitions = { tool: [], prompt: [], resourceTemplate: [] };
  for (const kind of kinds) {
    const { method, capability } = KIND_LISTS[kind];
    if (!capabilities?.[capability]) continue;
    try {
      listed[kind] = await list(method);
    } catch (error) {
      if (!isServerAnswer(error)) throw error;
    }
  }
  return listed;
}

/** Per connection: each list's current listing (under way or read), by method. */
const listings = new WeakMap<GuardContext, Map<string, Promise<Record<string, unknown>[]>>>();
/** The list-changed notifications already acted on (each stage sees the same one). */
const changes = new WeakSet<Message>();

/** The JSON-RPC error code of a request the guard refuses. */
export const REFUSED: number = GuardErrorCode.Refused;

/**
 * The items of a list answer, when the message is one.
 *
 * @param message A message from the server.
 * @param field The result field that holds the list.
 * @returns The items (objects only), or undefined when the message holds no such list.
 */
export function listItems(message: Message, field: string): Record<string, unknown>[] | undefined {
  const result = message.result as Record<string, unknown> | undefined;
  const items = result?.[field];
  if (!Array.isArray(items)) return undefined;
  return items.filter((i): i is Record<string, unknown> =>
    i !== null && typeof i === "object" && !Array.isArray(i)
  );
}

/**
 * The connection's current listing of one list, read with the guard's own requests (its answers
 * never reach the client). Read once: the stages that need it after a change share one listing,
 * until the next {@linkcode listChanged}. A listing that failed is read again when next asked.
 *
 * @param context The guard's services.
 * @param method The list method (`tools/list`, …).
 * @returns Every item (a shared array: not to be changed).
 * @throws {Error} When the server answers with an error, ends, or does not answer in time.
 */
export function listAll(
  context: GuardContext,
  method: string,
): Promise<Record<string, unknown>[]> {
  let byMethod = listings.get(context);
  if (!byMethod) listings.set(context, byMethod = new Map());
  const current = byMethod.get(method);
  if (current) return current;
  const listing = listPages((m, params) => context.request(m, params), method);
  byMethod.set(method, listing);
  listing.catch(() => {
    if (byMethod.get(method) === listing) byMethod.delete(method);
  });
  return listing;
}

/**
 * Forgets the current listings a list-changed notification concerns, once per notification
 * (every stage calls it; the first forgets). Listings under way still settle for those waiting.
 *
 * @param context The guard's services.
 * @param notification The server's `notifications/…/list_changed`.
 */
export function listChanged(context: GuardContext, notification: Message): void {
  if (changes.has(notification)) return;
  changes.add(notification);
  for (const method of CHANGED_LISTS[notification.method ?? ""] ?? []) {
    listings.get(context)?.delete(method);
  }
}

/**
 * The answer to a request the guard refuses: a JSON-RPC error sent back to the client.
 *
 * @param request The client's request.
 * @param message What was refused and why, and how to allow it.
 * @param data Details for programs (the finding, the filter).
 * @returns The verdict.
 */
export function refuse(request: Message, message: string, data?: unknown): Verdict {
  const error: NonNullable<Message["error"]> = { code: REFUSED, message };
  if (data !== undefined) error.data = data;
  return { reply: { jsonrpc: "2.0", id: request.id ?? null, error } };
}

/**
 * A message with its result's list replaced (a copy; the original is not changed).
 *
 * @param message A list answer.
 * @param field The list's field.
 * @param items The new items.
 * @returns The copy.
 */
export function withItems(message: Message, field: string, items: unknown[]): Message {
  return { ...message, result: { ...(message.result as Record<string, unknown>), [field]: items } };
}
