import { basename, dirname, join } from "../_path.ts";
// Serialised, atomic, backed-up rewrites of one file.

/** What {@link updateFile} did. */
export interface FileUpdate {
  /** The file written (symlinks resolved). */
  file: string;
  /** Whether the content changed. */
  changed: boolean;
  /** The backup of the previous content, if there was one and it changed. */
  backup?: string;
  /** Whether the file was deleted. */
  deleted: boolean;
}

/** Options for {@link updateFile}. */
export interface UpdateFileOptions {
  /** Mode of a file created by the update (default: 0o666 less the umask). */
  mode?: number;
  /** Force this mode even on an existing file (secret files). */
  forceMode?: boolean;
  /** Keep `<file>.bak` with the previous content (default true). */
  backup?: boolean;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Rewrite `file` with `edit(current)`, holding an exclusive lock so concurrent updates run one
 * after the other and none is lost. The new content is written to a temporary file in the
 * same folder and renamed over the old one, so readers see the old or the new file, never a
 * mix; the previous content is kept in `<file>.bak`, and the file's mode is kept. Missing
 * folders are created. A symlinked file is updated at its target.
 *
 * @param file The file; it may not exist yet.
 * @param edit Maps the current content (null if absent) to the new one (null deletes).
 * @throws {Deno.errors.PermissionDenied} If the file is read-only.
 * @throws {SyntaxError} If the file is not UTF-8, or `edit` throws it.
 */
export async function updateFile(
  file: string,
  edit: (text: string | null) => string | null,
  options: UpdateFileOptions = {},
): Promise<FileUpdate> {
  const target = await resolveTarget(file);
  return await withFileLock(target, async () => {
    await removeLeftovers(target);
    const stat = await statOrNull(target);
    const bytes = stat ? await Deno.readFile(target) : null;
    // The edit sees the text without a byte order mark; the file keeps its own.
    const bom = bytes !== null && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
      ? "\uFEFF"
      : "";
    const text = bytes ? readUtf8(bytes, file) : null;
    if (stat) await assertWritable(target, stat, file);
    const next = edit(text);
    if (next === text) return { file: target, changed: false, deleted: false };
    const mode = stat?.mode != null && !options.forceMode ? stat.mode & 0o7777 : options.mode;
    let backup: string | undefined;
    if (text !== null && options.backup !== false) {
      backup = `${target}.bak`;
      await writeAtomic(backup, bom + text, mode);
    }
    if (next === null) {
      await Deno.remove(target);
      return { file: target, changed: true, backup, deleted: true };
    }
    await writeAtomic(target, bom + next, mode);
    return { file: target, changed: true, backup, deleted: false };
  });
}

/**
 * Write `data` to a temporary file next to `path`, flush it, and rename it over `path`.
 * @param mode Exact mode of the result (default: 0o666 less the umask).
 */
export async function writeAtomic(
  path: string,
  data: string | Uint8Array,
  mode?: number,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  const f = await Deno.open(temp, { write: true, createNew: true, mode: mode ?? 0o666 });
  try {
    try {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      // write() may take only part of the bytes; writing them all avoids a truncated file.
      for (let done = 0; done < bytes.length;) done += await f.write(bytes.subarray(done));
      if (mode !== undefined && Deno.build.os !== "windows") await Deno.chmod(temp, mode);
      await f.syncData();
    } finally {
      f.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/**
 * Run `fn` holding an exclusive lock on `<dir>/.<name>.lock`. The lock file is removed
 * afterwards (except on Windows); a waiter that wakes up on a removed lock file retries.
 */
export async function withFileLock<T>(target: string, fn: () => Promise<T>): Promise<T> {
  const lockPath = join(dirname(target), `.${basename(target)}.lock`);
  while (true) {
    const lock = await Deno.open(lockPath, { create: true, write: true, mode: 0o600 });
    let locked = false;
    try {
      await lock.lock(true);
      locked = true;
      const held = await lock.stat();
      const current = await Deno.lstat(lockPath).catch(() => null);
      if (held.ino !== null && (current?.ino !== held.ino || current?.dev !== held.dev)) {
        continue; // Removed by the previous holder after we opened it: take the new one.
      }
      try {
        return await fn();
      } finally {
        if (held.ino !== null) await Deno.remove(lockPath).catch(() => {});
      }
    } finally {
      if (locked) await lock.unlock().catch(() => {});
      lock.close();
    }
  }
}

/**
 * Removes the temporary files a writer of `target` (or of its backup) left when it was killed
 * before its rename. Call it holding the lock: no live writer then has one open.
 */
async function removeLeftovers(target: string): Promise<void> {
  const base = basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const leftover = new RegExp(`^\\.${base}(?:\\.bak)?\\.[0-9a-f]{8}\\.tmp$`);
  for await (const entry of Deno.readDir(dirname(target))) {
    if (entry.isFile && leftover.test(entry.name)) {
      await Deno.remove(join(dirname(target), entry.name)).catch(() => {});
    }
  }
}

/** The real path to write: symlinks resolved, missing parent folders created. */
async function resolveTarget(file: string): Promise<string> {
  try {
    return await Deno.realPath(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const link = await Deno.lstat(file).catch(() => null);
  if (link?.isSymlink) {
    throw new Deno.errors.NotFound(
      `Cannot write "${file}": it is a symbolic link to a missing file; fix or remove the link`,
    );
  }
  const dir = dirname(file);
  await Deno.mkdir(dir, { recursive: true });
  return join(await Deno.realPath(dir), basename(file));
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function readUtf8(bytes: Uint8Array, file: string): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new SyntaxError(
      `Cannot read "${file}": it is not UTF-8 text; it was left untouched`,
      { cause: error },
    );
  }
}

/** Refuse a file its owner made read-only (a rename would silently replace it). */
async function assertWritable(target: string, stat: Deno.FileInfo, file: string): Promise<void> {
  let readOnly = stat.mode !== null && (stat.mode & 0o200) === 0;
  if (stat.mode === null) {
    try {
      (await Deno.open(target, { write: true })).close();
    } catch (error) {
      if (!(error instanceof Deno.errors.PermissionDenied)) throw error;
      readOnly = true;
    }
  }
  if (readOnly) {
    throw new Deno.errors.PermissionDenied(
      `Cannot write "${file}": the file is read-only; make it writable and try again ` +
        `(it was left untouched)`,
    );
  }
}
