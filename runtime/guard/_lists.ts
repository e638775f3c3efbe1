/**
 * What the scan and the tool filter share: the MCP list methods they judge, reading a list the
 * client has not asked for yet, and the JSON-RPC error that answers a refused request.
 *
 * @module
 */
import type { GuardContext, Message, Verdict } from "./stage.ts";
import { GuardErrorCode } from "./guard.ts";

/** The list methods whose answers hold definitions, and the result field that holds them. */
export const LIST_FIELDS: Readonly<Record<string, string>> = {
  "tools/list": "tools",
  "prompts/list": "prompts",
  "resources/list": "resources",
  "resources/templates/list": "resourceTemplates",
};

/** A paginated list is followed this far and no further: a server cannot keep the guard busy. */
const MAX_PAGES = 50;

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
  return items.filter((i): i is Record<string, unknown> => i !== null && typeof i === "object");
}

/**
 * Reads a whole list from the server with the guard's own requests (its answers never reach the
 * client), following `nextCursor` up to a bound.
 *
 * @param context The guard's services.
 * @param method The list method (`tools/list`, …).
 * @returns Every item.
 * @throws {Error} When the server answers with an error, ends, or does not answer in time.
 */
export async function listAll(
  context: GuardContext,
  method: string,
): Promise<Record<string, unknown>[]> {
  const field = LIST_FIELDS[method];
  const items: Record<string, unknown>[] = [];
  let cursor: unknown;
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await context.request(method, cursor === undefined ? {} : { cursor });
    items.push(...(listItems({ result }, field) ?? []));
    cursor = result.nextCursor;
    if (typeof cursor !== "string") break;
  }
  return items;
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
