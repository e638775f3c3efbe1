/** File digests of a code cache tree, for pull records and tamper checks. */
import { join } from "../_path.ts";

/** One file's size, times, inode and content hash. */
export interface FileDigest {
  /** Size in bytes. */
  size: number;
  /** Modification time in milliseconds (anyone who can write the file can set it back). */
  mtime: number;
  /** Status change time in milliseconds (set by the kernel on every write; not settable). */
  ctime?: number;
  /** Inode number (changes when the file is replaced). */
  ino?: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
}

/** A file's metadata as the cache check compares it (see {@linkcode sameStat}). */
export type StatFields = Pick<FileDigest, "size" | "mtime" | "ctime" | "ino">;

/**
 * The metadata of a file from `Deno.lstat`, in the units the pull record keeps: milliseconds,
 * as `Date.getTime()` gives them.
 */
export function statFields(info: Deno.FileInfo): StatFields {
  return {
    size: info.size,
    mtime: info.mtime?.getTime() ?? 0,
    ctime: info.ctime?.getTime() ?? undefined,
    ino: info.ino ?? undefined,
  };
}

/**
 * Tells whether a file's metadata still matches its digest, so its content need not be hashed
 * again. Size and mtime alone are not enough: a same-size edit followed by `touch -d` keeps
 * both, but the kernel moves ctime on every change and nobody can set it back.
 */
export function sameStat(info: Deno.FileInfo | StatFields, want: FileDigest): boolean {
  const got = "isFile" in info ? statFields(info) : info;
  return got.size === want.size && got.mtime === want.mtime &&
    want.ctime !== undefined && got.ctime === want.ctime &&
    want.ino !== undefined && got.ino === want.ino;
}

/** Hex SHA-256 of bytes. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lists files below `root` (relative paths, sorted); a missing root lists nothing. */
export function listFilesSync(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) walk(join(dir, entry.name), path);
      else out.push(path);
    }
  };
  walk(root, "");
  return out.sort();
}

/** Digests every file below the given subfolders of `root`. */
export async function digestTree(
  root: string,
  subdirs: readonly string[],
): Promise<Record<string, FileDigest>> {
  const out: Record<string, FileDigest> = {};
  for (const sub of subdirs) {
    for (const rel of listFilesSync(join(root, sub))) {
      const path = `${sub}/${rel}`;
      out[path] = await digestFile(join(root, path));
    }
  }
  return out;
}

/** Digests one file. */
export async function digestFile(path: string): Promise<FileDigest> {
  const info = await Deno.lstat(path);
  const sha256 = info.isSymlink ? `link:${await Deno.readLink(path)}` : await sha256Hex(
    await Deno.readFile(path),
  );
  return { ...statFields(info), sha256 };
}

/** Files below a tree's subfolders (`sub/rel` paths, in no set order) with their metadata. */
export type TreeListing = Map<string, StatFields>;

/**
 * Lists the files below the given subfolders of `root` with their metadata, for the cache check
 * before each start. One GNU `find` process walks the tree (thousands of `lstat` calls in C, on
 * another core, while the caller reads its record); where it is missing, not GNU or fails, the
 * same walk runs here (also when running `find` is not allowed: it never prompts). Either way
 * every file is `lstat`ed on every call: nothing is skipped.
 */
export async function statTree(root: string, subdirs: readonly string[]): Promise<TreeListing> {
  try {
    const scan = await scanTree(root, subdirs);
    if (scan) return scan.files;
  } catch { /* no find, or not allowed to run it: walk here */ }
  return walkTree(root, subdirs);
}

function walkTree(root: string, subdirs: readonly string[]): TreeListing {
  const out: TreeListing = new Map();
  for (const sub of subdirs) {
    for (const rel of listFilesSync(join(root, sub))) {
      out.set(`${sub}/${rel}`, statFields(Deno.lstatSync(join(root, sub, rel))));
    }
  }
  return out;
}

/** A walk by `find`: the listing, and status-change times at the precision the kernel keeps. */
export interface TreeScan {
  /** Every file below the subfolders, with its metadata. */
  files: TreeListing;
  /**
   * The newest status-change time among the subfolders and everything below them (folders
   * too), as find prints it (`seconds.fraction`); empty when there was nothing.
   */
  newestCtime: string;
  /** The status-change time of each other path walked that is a regular file, as find prints it. */
  ctimes: Map<string, string>;
}

/**
 * Walks the given subfolders of `root` and the other (absolute) paths with GNU find.
 *
 * @param root The folder the subfolders are in.
 * @param subdirs Subfolders; a missing one lists nothing.
 * @param others Absolute paths of files to take the status-change time of.
 * @returns The scan; `undefined` when find cannot be used (not allowed to run, not GNU, a
 *   subfolder that is not a plain folder, an error such as a missing path).
 */
export async function scanTree(
  root: string,
  subdirs: readonly string[],
  others: readonly string[] = [],
): Promise<TreeScan | undefined> {
  const present: string[] = [];
  for (const sub of subdirs) {
    try {
      if (!Deno.lstatSync(join(root, sub)).isDirectory) return undefined;
      present.push(sub);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  if (present.length === 0 && others.length === 0) {
    return { files: new Map(), newestCtime: "", ctimes: new Map() };
  }
  // Never a permission prompt: a library user who did not allow `find` gets the walk here.
  if (!findAllowed()) return undefined;
  const found = await new Deno.Command(FIND, {
    // -P: symlinks are listed, never followed, as lstat sees them. NUL ends each line.
    args: ["-P", ...others, ...present, "-printf", "%y %s %T@ %C@ %i %p\\0"],
    cwd: root,
    env: { LC_ALL: "C" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!found.success) return undefined;
  return parseFindOutput(new TextDecoder().decode(found.stdout));
}

/**
 * The `find` the cache checks run: GNU find where the system keeps it, never one found on a
 * `PATH` (an MCP client's, say), so that no other program answers in its place.
 */
export const FIND = "/usr/bin/find";

/** Whether this process may run {@linkcode FIND} without a prompt. */
export function findAllowed(): boolean {
  return Deno.permissions.querySync({ name: "run", command: FIND }).state === "granted";
}

/**
 * Parses `type size mtime ctime inode path\0` lines; `undefined` for a line of another shape.
 * Relative paths that are not folders are the listing; absolute ones are the other paths.
 */
function parseFindOutput(text: string): TreeScan | undefined {
  const files: TreeListing = new Map();
  const ctimes = new Map<string, string>();
  let newestCtime = "";
  for (let at = 0; at < text.length;) {
    const end = text.indexOf("\0", at);
    const s0 = at + 1;
    const s1 = text.indexOf(" ", s0 + 1);
    const s2 = text.indexOf(" ", s1 + 1);
    const s3 = text.indexOf(" ", s2 + 1);
    const s4 = text.indexOf(" ", s3 + 1);
    if (end < 0 || text[s0] !== " " || s1 < 0 || s2 < 0 || s3 < 0 || s4 < 0 || s4 + 1 >= end) {
      return undefined;
    }
    const ctime = text.slice(s2 + 1, s3);
    if (!CTIME_RE.test(ctime)) return undefined;
    const path = text.slice(s4 + 1, end);
    if (path.startsWith("/")) {
      // Only a regular file's time is reported: a link's own time says nothing of its target.
      if (text[at] === "f") ctimes.set(path, ctime);
      at = end + 1;
      continue;
    }
    if (compareCtimes(ctime, newestCtime) > 0) newestCtime = ctime;
    if (text[at] !== "d") {
      files.set(path, {
        size: whole(text, s0 + 1, s1),
        mtime: milliseconds(text, s1 + 1, s2),
        // Deno's FileInfo keeps whole seconds of ctime; the record holds what Deno gave.
        ctime: Math.trunc(milliseconds(text, s2 + 1, s3) / 1000) * 1000,
        ino: whole(text, s3 + 1, s4),
      });
    }
    at = end + 1;
  }
  return { files, newestCtime, ctimes };
}

/** A time as find prints it: whole seconds, then a fraction. */
export const CTIME_RE: RegExp = /^\d+(\.\d+)?$/;

/**
 * Orders two times as find prints them (`seconds.fraction`); the empty string is the oldest.
 *
 * @returns Negative, zero or positive, as `a` is older than, as old as or newer than `b`.
 */
export function compareCtimes(a: string, b: string): number {
  if (a === "" || b === "") return a === b ? 0 : a === "" ? -1 : 1;
  const [as, af = ""] = a.split(".");
  const [bs, bf = ""] = b.split(".");
  if (as.length !== bs.length) return as.length - bs.length;
  if (as !== bs) return as < bs ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const x = af.padEnd(width, "0");
  const y = bf.padEnd(width, "0");
  return x === y ? 0 : x < y ? -1 : 1;
}

/** The digits in `text[from, to)` as a number; NaN (which matches nothing) for anything else. */
function whole(text: string, from: number, to: number): number {
  if (from >= to) return NaN;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return NaN;
  }
  // Number() rounds as Deno rounds a 64-bit inode or size: the same value either way.
  return Number(text.slice(from, to));
}

/** `find`'s `seconds.fraction` as whole milliseconds, cut as `Date.getTime()` cuts; else NaN. */
function milliseconds(text: string, from: number, to: number): number {
  const dot = text.indexOf(".", from);
  if (dot < 0 || dot >= to) return whole(text, from, to) * 1000;
  const digits = Math.min(to, dot + 4) - dot - 1;
  return whole(text, from, dot) * 1000 +
    whole(text, dot + 1, dot + 1 + digits) * 10 ** (3 - digits);
}

/**
 * The first difference between a folder's listing and the digests recorded for it: a file
 * added, modified (only files whose metadata changed are hashed again, in path order, so the
 * problem named is the first by path whatever order the walk found them in) or removed.
 *
 * @param files The folder's listing (relative paths).
 * @param recorded The recorded digests by relative path.
 * @param root The folder the paths are relative to.
 * @returns The problem, or `undefined` when the folder is exactly what was recorded.
 *
 * @example
 * ```ts ignore
 * import { treeProblem } from "./_tree_digest.ts";
 * console.log(await treeProblem(listing, record.files, dirs.denoDir)); // undefined
 * ```
 */
export async function treeProblem(
  files: TreeListing,
  recorded: Record<string, FileDigest>,
  root: string,
): Promise<string | undefined> {
  const suspects: string[] = [];
  for (const [path, info] of files) {
    const want = Object.hasOwn(recorded, path) ? recorded[path] : undefined;
    if (!want || !sameStat(info, want)) suspects.push(path);
  }
  for (const path of suspects.sort()) {
    if (!Object.hasOwn(recorded, path)) return `${path} was added`;
    const got = await digestFile(join(root, path));
    if (got.sha256 !== recorded[path].sha256) return `${path} was modified`;
  }
  if (files.size !== Object.keys(recorded).length) {
    const missing = Object.keys(recorded).find((p) => !files.has(p));
    return `${missing ?? "a file"} was removed`;
  }
  return undefined;
}
