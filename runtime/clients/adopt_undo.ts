/**
 * The undo record `adopt` keeps beside each file it rewrites, and `adopt --undo`, which puts the
 * original bytes back.
 *
 * @module
 */
import { basename, dirname, join } from "../_path.ts";
import { writeAtomic } from "./_atomic_file.ts";

/** What is kept to undo an adoption of one file. */
interface UndoRecord {
  v: 1;
  /** The file adopted. */
  file: string;
  /** Its bytes before the first adoption, base64. */
  original: string;
  /** SHA-256 (hex) of the bytes adopt wrote last. */
  adopted: string;
}

/**
 * Where the undo record of `file` lives: `.<name>.mcp-run-adopt.json` in the same folder, so it
 * moves and is deleted with the file's folder.
 *
 * @param file The configuration file.
 * @returns The record's path.
 * @example
 * ```ts
 * import { undoRecordPath } from "./adopt_undo.ts";
 * console.assert(undoRecordPath("/h/.cursor/mcp.json") === "/h/.cursor/.mcp.json.mcp-run-adopt.json");
 * ```
 */
export function undoRecordPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.mcp-run-adopt.json`);
}

/**
 * SHA-256 of bytes, in hex.
 * @param bytes Any bytes.
 * @returns 64 hex digits.
 */
async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: spreading a large file into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

async function readRecord(file: string): Promise<UndoRecord | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(undoRecordPath(file));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as UndoRecord;
  } catch (error) {
    throw new SyntaxError(
      `Cannot read the undo record ${undoRecordPath(file)}: it is not JSON; remove it`,
      { cause: error },
    );
  }
}

/**
 * Keep what undoing an adoption of `file` needs: its bytes before the first adoption (a second
 * adoption of an unchanged file keeps the first original), and a hash of what adopt wrote. The
 * record is readable only by the owner (mode 0600): the original may hold secret values.
 *
 * @param file The configuration file (its real path).
 * @param original Its bytes before this adoption.
 * @param adopted Its bytes after.
 * @returns The record's path.
 * @example
 * ```ts ignore
 * await recordAdoption(file, before, after);
 * ```
 */
export async function recordAdoption(
  file: string,
  original: Uint8Array,
  adopted: Uint8Array,
): Promise<string> {
  const previous = await readRecord(file);
  const keep = previous !== undefined && previous.adopted === await sha256(original)
    ? previous.original
    : toBase64(original);
  const record: UndoRecord = { v: 1, file, original: keep, adopted: await sha256(adopted) };
  const path = undoRecordPath(file);
  await writeAtomic(path, JSON.stringify(record) + "\n", 0o600);
  return path;
}

/** What {@link undoAdoption} did to one file. */
export interface UndoResult {
  /** The file. */
  file: string;
  /** Whether its original bytes were put back. */
  restored: boolean;
  /** Why not, when it was not. */
  reason?: string;
}

/**
 * Put back the bytes `file` had before `adopt`, byte for byte, and remove the undo record.
 * Refuses when the file changed since adopt wrote it (someone edited it), unless `force`.
 * Requires read and write access to the file's folder.
 *
 * @param file The configuration file.
 * @param options `force`: restore even a file changed since.
 * @returns Whether it was restored, or why not (no record; changed since).
 * @example
 * ```ts ignore
 * import { undoAdoption } from "./adopt_undo.ts";
 * const { restored, reason } = await undoAdoption("/home/a/.cursor/mcp.json");
 * ```
 */
export async function undoAdoption(
  file: string,
  options: { force?: boolean } = {},
): Promise<UndoResult> {
  const real = await Deno.realPath(file).catch(() => file);
  const record = await readRecord(real);
  if (record === undefined) {
    return { file: real, restored: false, reason: "adopt has not rewritten it" };
  }
  const current = await Deno.readFile(real).catch(() => new Uint8Array());
  if (await sha256(current) !== record.adopted && !options.force) {
    return {
      file: real,
      restored: false,
      reason: "it changed since adopt wrote it; add --force to restore the original anyway " +
        "(the changes are lost)",
    };
  }
  const bytes = Uint8Array.from(atob(record.original), (c) => c.charCodeAt(0));
  const mode = (await Deno.stat(real).catch(() => null))?.mode;
  // ignoreBOM keeps a byte order mark as text, so it is written back.
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  await writeAtomic(real, text, mode == null ? undefined : mode & 0o7777);
  await Deno.remove(undoRecordPath(real));
  return { file: real, restored: true };
}
