/**
 * What a tool, prompt or resource template says about itself, reduced to the fields a client and
 * its model read, in one canonical form, and hashed: the unit that tool pinning records and
 * compares.
 *
 * @module
 */

/** The kinds of definitions pinned, named as in the lists that carry them. */
export type DefinitionKind = "tool" | "prompt" | "resourceTemplate";

/** Every kind, in the order they are listed and shown. */
export const DEFINITION_KINDS: readonly DefinitionKind[] = ["tool", "prompt", "resourceTemplate"];

/**
 * The fields of each kind that reach the client (and so the model): a change in any of them can
 * change what the model is told or what the call does. Other fields (icons, `_meta`) are left
 * out, so a cosmetic change does not ask for approval.
 */
export const PINNED_FIELDS: Readonly<Record<DefinitionKind, readonly string[]>> = {
  tool: ["name", "title", "description", "inputSchema", "outputSchema", "annotations"],
  prompt: ["name", "title", "description", "arguments"],
  resourceTemplate: ["name", "title", "description", "uriTemplate", "mimeType", "annotations"],
};

/**
 * Picks a definition's pinned fields (those present), in a fixed order.
 *
 * @param kind What it defines.
 * @param definition The definition, as the server listed it.
 * @returns A new object with only the pinned fields.
 *
 * @example
 * ```ts
 * import { pinnedFields } from "./definition_hash.ts";
 * console.log(pinnedFields("tool", { name: "t", icons: [], description: "d" }));
 * // { name: "t", description: "d" }
 * ```
 */
export function pinnedFields(
  kind: DefinitionKind,
  definition: Record<string, unknown>,
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const field of PINNED_FIELDS[kind]) {
    if (definition[field] !== undefined) picked[field] = definition[field];
  }
  return picked;
}

/**
 * JSON text of a value with every object's keys sorted (by UTF-16 code units) and no spaces, so
 * equal values give equal text whatever order a server wrote their keys in.
 *
 * @param value A JSON value.
 * @returns Its canonical JSON text.
 * @throws {TypeError} For a value JSON cannot hold (a function, a bigint, a cycle).
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./definition_hash.ts";
 * console.log(canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }));
 * // {"a":[true,{"c":"x","d":null}],"b":1}
 * ```
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, open: Set<object>): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value !== "object") {
    throw new TypeError(`Cannot write a ${typeof value} as JSON: definitions are JSON values`);
  }
  if (open.has(value)) throw new TypeError("Cannot write a cyclic value as JSON");
  open.add(value);
  try {
    if (Array.isArray(value)) {
      return `[${value.map((v) => v === undefined ? "null" : write(v, open)).join(",")}]`;
    }
    const keys = Object.keys(value).filter((k) =>
      (value as Record<string, unknown>)[k] !== undefined
    )
      .sort();
    const parts = keys.map((k) =>
      `${JSON.stringify(k)}:${write((value as Record<string, unknown>)[k], open)}`
    );
    return `{${parts.join(",")}}`;
  } finally {
    open.delete(value);
  }
}

/**
 * The SHA-256 of a definition's pinned fields in canonical JSON, as lowercase hex.
 *
 * @param kind What it defines.
 * @param definition The definition, as the server listed it.
 * @returns 64 hex digits.
 * @throws {TypeError} For a definition JSON cannot hold.
 *
 * @example
 * ```ts
 * import { definitionHash } from "./definition_hash.ts";
 * const a = await definitionHash("tool", { name: "t", inputSchema: { type: "object", properties: {} } });
 * const b = await definitionHash("tool", { inputSchema: { properties: {}, type: "object" }, name: "t" });
 * console.log(a === b, a.length); // true 64
 * ```
 */
export async function definitionHash(
  kind: DefinitionKind,
  definition: Record<string, unknown>,
): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(pinnedFields(kind, definition)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
