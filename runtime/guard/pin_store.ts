/**
 * The approved definitions of each server (its pins), kept in mcp-run's state beside its
 * approval: `servers/<name>/pins.json` under the cache root, a folder no grant can cover (the
 * grant policy refuses the cache root and everything in it), written atomically, readable only
 * by the user.
 *
 * @module
 */
import { join } from "../_path.ts";
import { readJsonRecord } from "../_json_record.ts";
import {
  DEFINITION_KINDS,
  definitionHash,
  type DefinitionKind,
  pinnedFields,
} from "./definition_hash.ts";

/** One approved definition: its hash, and its pinned fields (to say later what changed). */
export interface PinnedDefinition {
  /** SHA-256 of the pinned fields in canonical JSON (see `definitionHash`). */
  hash: string;
  /** The pinned fields, as approved. */
  definition: Record<string, unknown>;
}

/** Definitions by kind, then by name. */
export type PinnedSet = Record<DefinitionKind, Record<string, PinnedDefinition>>;

/** The definitions a server lists, by kind, as it listed them. */
export type ListedDefinitions = Record<DefinitionKind, Record<string, unknown>[]>;

/** A server's pins, as stored. */
export interface PinRecord {
  /** The server's name. */
  server: string;
  /** When they were recorded, as an ISO 8601 time. */
  at: string;
  /** How: at the first launch (trust on first use) or by `mcp-run approve`. */
  by: "first-launch" | "approve";
  /** The approved definitions. */
  definitions: PinnedSet;
}

/**
 * The file of a server's pins (pure).
 *
 * @param cacheRoot mcp-run's cache root.
 * @param name The server's name.
 * @returns `<cacheRoot>/servers/<name>/pins.json`.
 * @throws {TypeError} When the name cannot be a file name (`..`, a slash).
 *
 * @example
 * ```ts
 * import { pinsFile } from "./pin_store.ts";
 * console.log(pinsFile("/c", "time")); // "/c/servers/time/pins.json"
 * ```
 */
export function pinsFile(cacheRoot: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new TypeError(`Cannot keep pins for "${name}": not a server name`);
  }
  return join(cacheRoot, "servers", name, "pins.json");
}

/**
 * Hashes what a server lists into the set to pin. A definition without a string name is left
 * out (no client can call it by name), and so is one that cannot be hashed (nested too deeply to
 * write): left out of a pinned set, it is blocked. Of two with one name, the first counts, as a
 * client looking it up would find it.
 *
 * @param listed The definitions by kind.
 * @returns The pinned set.
 *
 * @example
 * ```ts
 * import { pinSet } from "./pin_store.ts";
 * const set = await pinSet({ tool: [{ name: "echo", description: "Echoes" }], prompt: [], resourceTemplate: [] });
 * console.log(Object.keys(set.tool)); // ["echo"]
 * ```
 */
export async function pinSet(listed: ListedDefinitions): Promise<PinnedSet> {
  const set: PinnedSet = { tool: {}, prompt: {}, resourceTemplate: {} };
  for (const kind of DEFINITION_KINDS) {
    for (const definition of listed[kind]) {
      const name = definition?.name;
      if (typeof name !== "string" || Object.hasOwn(set[kind], name)) continue;
      let hash: string;
      try {
        hash = await definitionHash(kind, definition);
      } catch {
        // Nested beyond the stack (or not JSON): never pinned, so never passed.
        continue;
      }
      set[kind][name] = { hash, definition: pinnedFields(kind, definition) };
    }
  }
  return set;
}

/**
 * Reads a server's pins.
 *
 * Requires read access to the cache root.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param name The server's name.
 * @returns The record, or `undefined` when none was recorded.
 * @throws {SyntaxError} When the file is not a pin record (the message says to approve again).
 * @throws {TypeError} When the name cannot be a server's.
 *
 * @example
 * ```ts ignore
 * import { readPins } from "./pin_store.ts";
 * console.log(Object.keys((await readPins(cacheRoot, "time"))?.definitions.tool ?? {}));
 * ```
 */
export async function readPins(cacheRoot: string, name: string): Promise<PinRecord | undefined> {
  const file = pinsFile(cacheRoot, name);
  const record = await readJsonRecord(file, "a pin record");
  if (record === undefined) return undefined;
  if (!isPinRecord(record)) {
    throw new SyntaxError(
      `"${file}" is not a pin record: remove it and run \`mcp-run approve ${name}\` to review ` +
        "and pin the server's tools again",
    );
  }
  return record;
}

function isPinRecord(value: unknown): value is PinRecord {
  const record = value as PinRecord;
  if (!record || typeof record !== "object" || typeof record.server !== "string") return false;
  const definitions = record.definitions as Record<string, unknown> | undefined;
  if (!definitions || typeof definitions !== "object") return false;
  return DEFINITION_KINDS.every((kind) => {
    const named = definitions[kind] as Record<string, PinnedDefinition> | undefined;
    return !!named && typeof named === "object" &&
      Object.values(named).every((p) =>
        typeof p?.hash === "string" && !!p.definition && typeof p.definition === "object"
      );
  });
}

/** Options for {@linkcode writePins}. */
export interface WritePinsOptions {
  /**
   * Write only when the server has no pins yet (the first launch: two sessions starting at
   * once must not replace each other's, or an approval made meanwhile).
   */
  ifAbsent?: boolean;
}

/**
 * Stores a server's pins atomically (a reader sees the old record or the new one, never a mix),
 * readable and writable only by the user (mode 0600).
 *
 * Requires read/write access to the cache root.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param record The pins.
 * @param options `ifAbsent`: keep pins already there.
 * @returns The record now stored: the one given, or with `ifAbsent` the one already there.
 * @throws {TypeError} When the server's name cannot be a file name.
 * @throws {Deno.errors.PermissionDenied} When the cache folder cannot be written.
 *
 * @example
 * ```ts ignore
 * import { pinSet, writePins } from "./pin_store.ts";
 * const definitions = await pinSet({ tool: tools, prompt: [], resourceTemplate: [] });
 * await writePins(cacheRoot, { server: "time", at: new Date().toISOString(), by: "approve", definitions });
 * ```
 */
export async function writePins(
  cacheRoot: string,
  record: PinRecord,
  options: WritePinsOptions = {},
): Promise<PinRecord> {
  const file = pinsFile(cacheRoot, record.server);
  const dir = join(file, "..");
  await Deno.mkdir(dir, { recursive: true });
  const temp = await Deno.makeTempFile({ dir, prefix: ".pins-", suffix: ".json" });
  try {
    await Deno.chmod(temp, 0o600);
    await Deno.writeTextFile(temp, JSON.stringify(record, null, 2) + "\n");
    if (!options.ifAbsent) {
      await Deno.rename(temp, file);
      return record;
    }
    try {
      // A link fails when the file exists: the first writer wins, whole.
      await Deno.link(temp, file);
      return record;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      return await readPins(cacheRoot, record.server) ?? record;
    }
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}
