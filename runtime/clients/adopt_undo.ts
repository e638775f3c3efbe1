/**
 * The undo record `adopt` keeps for each file it rewrites, and `adopt --undo`, which puts the
 * original bytes back. Records live in mcp-run's own state folder, never beside the file: the
 * original may hold secret values, and a workspace file's folder is often a repository.
 *
 * @module
 */
import { basename, dirname, join } from "../_path.ts";
import { withFileLock, writeAtomic } from "./_atomic_file.ts";
import { readJsonRecord } from "../_json_record.ts";

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

/** Options for {@link recordAdoption} and {@link undoRecordPath}. */
export interface AdoptUndoOptions {
  /** mcp-run's folder for undo records (created with mode 0700). */
  dir: string;
}

/** Options for {@link undoAdoption}. */
export interface UndoAdoptionOptions extends AdoptUndoOptions {
  /** Restore even a file changed since adopt wrote it. */
  force?: boolean;
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

/**
 * Where the undo record of `file` lives: in `dir`, named by a hash of the file's path (so the
 * record's name reveals nothing and two files never share one).
 *
 * @param file The configuration file (its real path).
 * @param options `dir`: the folder of undo records.
 * @returns The record's path.
 * @example
 * ```ts
 * import { undoRecordPath } from "./adopt_undo.ts";
 * const path = await undoRecordPath("/h/.cursor/mcp.json", { dir: "/h/.config/mcp-run/undo" });
 * console.assert(path.startsWith("/h/.config/mcp-run/undo/") && path.endsWith(".json"));
 * ```
 */
export async function undoRecordPath(file: string, options: AdoptUndoOptions): Promise<string> {
  const key = await sha256(new TextEncoder().encode(file));
  return join(options.dir, `${key.slice(0, 32)}.json`);
}

/** Where older versions kept the record: beside the file. Read once, then removed. */
function legacyRecordPath(file: string): string {
  return join(dirname(file), `.${basename(file)}.mcp-run-adopt.json`);
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  // In slices: spreading a large file into one call overflows the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The record at `path`, or undefined when there is none (or it is another file's). */
async function readRecord(path: string, file: string): Promise<UndoRecord | undefined> {
  const record = await readJsonRecord(path, "an undo record") as UndoRecord | undefined;
  return record?.file === file ? record : undefined;
}

/** The folder of undo records, readable only by the owner. */
async function ensureDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(dir, 0o700);
}

/**
 * Keep what undoing an adoption of `file` needs: its bytes before the first adoption (a second
 * adoption of an unchanged file keeps the first original), and a hash of what adopt wrote. The
 * record is kept in `options.dir`, readable only by the owner (file 0600, folder 0700): the
 * original may hold secret values. A record an older version left beside the file is taken
 * over and removed.
 *
 * @param file The configuration file (its real path).
 * @param original Its bytes before this adoption.
 * @param adopted Its bytes after.
 * @param options `dir`: the folder of undo records.
 * @returns The record's path.
 * @example
 * ```ts ignore
 * await recordAdoption(file, before, after, { dir: "/home/a/.config/mcp-run/undo" });
 * ```
 */
export async function recordAdoption(
  file: string,
  original: Uint8Array,
  adopted: Uint8Array,
  options: AdoptUndoOptions,
): Promise<string> {
  const path = await undoRecordPath(file, options);
  const legacy = legacyRecordPath(file);
  const previous = await readRecord(path, file) ?? await readRecord(legacy, file);
  const keep = previous !== undefined && previous.adopted === await sha256(original)
    ? previous.original
    : toBase64(original);
  const record: UndoRecord = { v: 1, file, original: keep, adopted: await sha256(adopted) };
  await ensureDir(options.dir);
  await writeAtomic(path, JSON.stringify(record) + "\n", 0o600);
  await Deno.remove(legacy).catch(() => {});
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
 * Refuses when the file changed since adopt wrote it (someone edited it), unless `force`. The
 * check and the write hold the lock the client-file writers hold, so no write is lost between
 * them. Requires read and write access to the file's folder and to `options.dir`.
 *
 * @param file The configuration file.
 * @param options `dir`: the folder of undo records; `force`: restore even a file changed since.
 * @returns Whether it was restored, or why not (no record; changed since).
 * @example
 * ```ts ignore
 * import { undoAdoption } from "./adopt_undo.ts";
 * const { restored, reason } = await undoAdoption("/home/a/.cursor/mcp.json", { dir });
 * ```
 */
export async function undoAdoption(
  file: string,
  options: UndoAdoptionOptions,
): Promise<UndoResult> {
  const real = await Deno.realPath(file).catch(() => file);
  return await withFileLock(real, async () => {
    let path = await undoRecordPath(real, options);
    let record = await readRecord(path, real);
    if (record === undefined) record = await readRecord(path = legacyRecordPath(real), real);
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
    await writeAtomic(real, bytes, mode == null ? undefined : mode & 0o7777);
    await Deno.remove(path);
    return { file: real, restored: true };
  });
}
