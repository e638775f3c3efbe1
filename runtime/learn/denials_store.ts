/**
 * The last run's denials of each server, kept in mcp-run's state beside its approval
 * (`servers/<name>/denials.json` under the cache root), for `mcp-run denials <server>`.
 *
 * @module
 */
import { join } from "../_path.ts";
import { readJsonRecord } from "../_json_record.ts";
import type { Denial } from "./denial.ts";

/** What one run of a server was refused. */
export interface DenialRecord {
  /** The server's name. */
  server: string;
  /** When the run ended, as an ISO 8601 time. */
  at: string;
  /** What started it: `run`, `inspect`, `call`, `serve`. */
  command: string;
  /** The distinct denials, in the order they first happened. */
  denials: Denial[];
  /** New distinct denials left out because the run's log was full. */
  dropped?: number;
}

/**
 * The file of a server's last run's denials (pure).
 *
 * @param cacheRoot mcp-run's cache root.
 * @param name The server's name.
 * @returns `<cacheRoot>/servers/<name>/denials.json`.
 * @throws {TypeError} When the name cannot be a file name (`..`, a slash).
 *
 * @example
 * ```ts
 * import { denialsFile } from "./denials_store.ts";
 * console.log(denialsFile("/c", "time")); // "/c/servers/time/denials.json"
 * ```
 */
export function denialsFile(cacheRoot: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new TypeError(`Cannot store denials for "${name}": not a server name`);
  }
  return join(cacheRoot, "servers", name, "denials.json");
}

/**
 * Stores a run's denials as the server's last, atomically (a reader sees the old record or the
 * new one, never a mix).
 *
 * Requires read/write access to the cache root.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param record The run's record.
 * @returns When it is written.
 * @throws {TypeError} When the server's name cannot be a file name.
 * @throws {Deno.errors.PermissionDenied} When the cache folder cannot be written.
 *
 * @example
 * ```ts ignore
 * import { writeDenials } from "./denials_store.ts";
 * await writeDenials(cacheRoot, { server: "t", at: new Date().toISOString(), command: "run", denials: [] });
 * ```
 */
export async function writeDenials(cacheRoot: string, record: DenialRecord): Promise<void> {
  const file = denialsFile(cacheRoot, record.server);
  const dir = join(file, "..");
  await Deno.mkdir(dir, { recursive: true });
  const temp = await Deno.makeTempFile({ dir, prefix: ".denials-", suffix: ".json" });
  try {
    await Deno.writeTextFile(temp, JSON.stringify(record, null, 2) + "\n");
    await Deno.rename(temp, file);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Reads a server's last run's denials.
 *
 * Requires read access to the cache root.
 *
 * @param cacheRoot mcp-run's cache root.
 * @param name The server's name.
 * @returns The record, or `undefined` when no run was recorded.
 * @throws {SyntaxError} When the file is not a record (damaged, or written by something else).
 * @throws {TypeError} When the name cannot be a server's.
 *
 * @example
 * ```ts ignore
 * import { readDenials } from "./denials_store.ts";
 * const record = await readDenials(cacheRoot, "time");
 * console.log(record?.denials.map((d) => d.asked));
 * ```
 */
export async function readDenials(
  cacheRoot: string,
  name: string,
): Promise<DenialRecord | undefined> {
  const file = denialsFile(cacheRoot, name);
  const record = await readJsonRecord(file, "a denials record");
  if (record === undefined) return undefined;
  const { denials, server, at } = (record ?? {}) as Partial<DenialRecord>;
  const shaped = Array.isArray(denials) && typeof server === "string" && typeof at === "string" &&
    denials.every((d) => typeof d?.asked === "string" && typeof d?.count === "number");
  if (!shaped) throw new SyntaxError(`"${file}" is not a denials record: remove it`);
  return record as DenialRecord;
}
