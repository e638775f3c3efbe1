/**
 * Pure edits of a client's configuration text: add, replace, read and remove one entry while
 * every other byte of the file stays as it was.
 *
 * @module
 */
import { isDeepStrictEqual } from "node:util";
import { jsoncAppend, jsoncDelete, jsoncEntry, jsoncSet, jsoncValueAt } from "./_jsonc_edit.ts";
import { MANAGED_ENV, MANAGED_VALUE } from "./_marker.ts";
import {
  yamlDeleteListEntry,
  yamlDeleteMapEntry,
  yamlSetListEntry,
  yamlSetMapEntry,
  yamlValue,
} from "./_yaml_edit.ts";
import type { ClientEntry } from "./client_entry.ts";
import { EntryConflictError } from "./entry_conflict_error.ts";
import { getClient } from "./registry.ts";
import type { ClientId, ClientSpec } from "./types.ts";

/** Options for {@link withClientEntry} and {@link withoutClientEntry}. */
export interface ConfigTextOptions {
  /** Replace or remove an entry of the same name that mcp-run did not write. */
  force?: boolean;
  /** File name used in error messages. */
  file?: string;
}

/** Keys of the header of a Continue block file. */
const CONTINUE_HEADER = ["name", "version", "schema"] as const;

/**
 * Return `text` with `entry` added, or replacing the entry of the same name.
 *
 * Only the entry's own lines change (plus, for VS Code, the `inputs` it needs): comments,
 * order, trailing commas, indentation and line endings elsewhere are kept byte for byte. Text
 * already holding an equal entry is returned unchanged, so installing twice is a no-op.
 *
 * @param text Current file content; `null` or `""` for a file that does not exist yet.
 * @param entry The entry, from `clientEntry()`.
 * @param options `force` to replace a foreign entry; `file` for messages.
 * @returns The new file content.
 * @throws {SyntaxError} If `text` cannot be parsed (with line and column).
 * @throws {TypeError} If the file's structure is not what the client reads (say
 *   `mcpServers` is a list).
 * @throws {EntryConflictError} If an entry of that name exists, was not written by mcp-run,
 *   and `force` is not set.
 * @example
 * ```ts
 * import { clientEntry } from "./client_entry.ts";
 * import { withClientEntry } from "./config_text.ts";
 * const entry = clientEntry("claude-code", { command: "deno", args: ["run", "x.ts"], env: {}, secrets: [] }, { name: "x" });
 * const text = withClientEntry('{\n  // mine\n  "mcpServers": {}\n}\n', entry);
 * console.assert(text.includes("// mine") && text.includes('"x": {'));
 * ```
 */
export function withClientEntry(
  text: string | null,
  entry: ClientEntry,
  options: ConfigTextOptions = {},
): string {
  const spec = getClient(entry.client);
  const file = options.file ?? `${spec.displayName} configuration`;
  const current = text ?? "";
  const existing = readClientEntry(current, spec.id, entry.name, { file });
  if (existing !== undefined && !isManagedEntry(spec.id, existing) && !options.force) {
    throw new EntryConflictError(spec.id, entry.name, file, "replace");
  }
  let out = current;
  if (!isDeepStrictEqual(existing, entry.value)) {
    if (spec.layout === "file-list") {
      const value = entry.value as Record<string, unknown> & { name: string };
      const header = { name: entry.name, version: "0.0.1", schema: "v1" };
      out = yamlSetListEntry(current, file, spec.containerKey, value, header);
    } else if (spec.format === "yaml") {
      out = yamlSetMapEntry(current, file, spec.containerKey, entry.name, entry.value);
    } else {
      out = jsoncSet(current, file, [spec.containerKey, entry.name], entry.value);
    }
  }
  for (const input of entry.inputs) {
    const inputs = jsoncValueAt(out, file, ["inputs"]);
    const present = Array.isArray(inputs) &&
      inputs.some((i) => (i as Record<string, unknown> | null)?.id === input.id);
    if (!present) out = jsoncAppend(out, file, ["inputs"], input);
  }
  return out;
}

/**
 * Return `text` without the entry `target.name`.
 *
 * Only the entry's lines (and, for VS Code, inputs no other server references) are removed.
 * Text without the entry is returned unchanged.
 *
 * @param text Current file content; `null` for a file that does not exist.
 * @param target Client and entry name.
 * @param options `force` to remove a foreign entry; `file` for messages.
 * @returns The new content, or `null` when the whole file should be deleted (a Continue
 *   block file left with no server).
 * @throws {SyntaxError} If `text` cannot be parsed (with line and column).
 * @throws {EntryConflictError} If the entry was not written by mcp-run and `force` is not set.
 * @example
 * ```ts
 * import { withoutClientEntry } from "./config_text.ts";
 * const text = '{"mcpServers": {"x": {"command": "deno", "env": {"MCP_RUN_MANAGED": "1"}}, "y": {}}}';
 * console.assert(withoutClientEntry(text, { client: "cursor", name: "x" }) === '{"mcpServers": {"y": {}}}');
 * ```
 */
export function withoutClientEntry(
  text: string | null,
  target: { client: ClientId; name: string },
  options: ConfigTextOptions = {},
): string | null {
  if (text === null) return null;
  const spec = getClient(target.client);
  const file = options.file ?? `${spec.displayName} configuration`;
  const existing = readClientEntry(text, spec.id, target.name, { file });
  if (existing === undefined) return text;
  if (!isManagedEntry(spec.id, existing) && !options.force) {
    throw new EntryConflictError(spec.id, target.name, file, "remove");
  }
  if (spec.layout === "file-list") {
    return yamlDeleteListEntry(text, file, spec.containerKey, target.name, CONTINUE_HEADER);
  }
  if (spec.format === "yaml") {
    return yamlDeleteMapEntry(text, file, spec.containerKey, target.name);
  }
  let out = jsoncDelete(text, file, [spec.containerKey, target.name]);
  if (spec.secrets === "input") out = withoutUnusedInputs(out, file, spec, existing);
  return out;
}

/**
 * Read the entry `name` from a client's configuration text.
 *
 * @param text File content (`""` for none).
 * @param client Client id.
 * @param name Entry name.
 * @param options `file` for messages.
 * @returns The entry as stored, or undefined if absent.
 * @throws {SyntaxError} If `text` cannot be parsed (with line and column).
 * @throws {TypeError} If the entries container has the wrong type.
 * @example
 * ```ts
 * import { readClientEntry } from "./config_text.ts";
 * const entry = readClientEntry("extensions:\n  x:\n    cmd: deno\n", "goose", "x");
 * console.assert(entry?.cmd === "deno");
 * ```
 */
export function readClientEntry(
  text: string,
  client: ClientId,
  name: string,
  options: { file?: string } = {},
): Record<string, unknown> | undefined {
  const spec = getClient(client);
  const file = options.file ?? `${spec.displayName} configuration`;
  if (spec.format === "jsonc") {
    return jsoncEntry(text, file, spec.containerKey, name) as Record<string, unknown> | undefined;
  }
  const container = yamlValue(text, file)[spec.containerKey];
  if (container === undefined || container === null) return undefined;
  if (spec.layout === "file-list") {
    if (!Array.isArray(container)) {
      throw new TypeError(`Cannot read "${file}": "${spec.containerKey}" is not a list`);
    }
    return container.find((item) => item?.name === name);
  }
  if (typeof container !== "object" || Array.isArray(container)) {
    throw new TypeError(`Cannot read "${file}": "${spec.containerKey}" is not a mapping`);
  }
  return (container as Record<string, Record<string, unknown>>)[name];
}

/**
 * Whether an entry was written by mcp-run: its environment map holds `MCP_RUN_MANAGED=1`.
 *
 * @param client Client id (decides the environment key: `env`, or goose's `envs`).
 * @param value The entry as stored.
 * @returns True for mcp-run's entries.
 * @example
 * ```ts
 * import { isManagedEntry } from "./config_text.ts";
 * console.assert(isManagedEntry("goose", { envs: { MCP_RUN_MANAGED: "1" } }));
 * console.assert(!isManagedEntry("cursor", { command: "npx" }));
 * ```
 */
export function isManagedEntry(client: ClientId, value: unknown): boolean {
  const env = (value as Record<string, unknown> | null)?.[getClient(client).envKey];
  return typeof env === "object" && env !== null &&
    (env as Record<string, unknown>)[MANAGED_ENV] === MANAGED_VALUE;
}

/** Remove VS Code inputs the removed entry referenced and no remaining server references. */
function withoutUnusedInputs(
  text: string,
  file: string,
  spec: ClientSpec,
  removed: Record<string, unknown>,
): string {
  const ids = [...JSON.stringify(removed).matchAll(/\$\{input:([^}]+)\}/g)].map((m) => m[1]);
  if (ids.length === 0) return text;
  const stillUsed = JSON.stringify(jsoncValueAt(text, file, [spec.containerKey]) ?? {});
  const listed = jsoncValueAt(text, file, ["inputs"]);
  const inputs = Array.isArray(listed) ? listed : [];
  let out = text;
  for (let i = inputs.length - 1; i >= 0; i--) {
    const id = (inputs[i] as Record<string, unknown> | null)?.id;
    if (typeof id === "string" && ids.includes(id) && !stillUsed.includes("${input:" + id + "}")) {
      out = jsoncDelete(out, file, ["inputs", i]);
    }
  }
  return out;
}
