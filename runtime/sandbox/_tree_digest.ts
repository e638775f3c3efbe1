/** File digests of a code cache tree, for pull records and tamper checks. */
import { join } from "node:path";

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

/**
 * Tells whether a file's metadata still matches its digest, so its content need not be hashed
 * again. Size and mtime alone are not enough: a same-size edit followed by `touch -d` keeps
 * both, but the kernel moves ctime on every change and nobody can set it back.
 */
export function sameStat(info: Deno.FileInfo, want: FileDigest): boolean {
  return info.size === want.size && (info.mtime?.getTime() ?? 0) === want.mtime &&
    want.ctime !== undefined && info.ctime?.getTime() === want.ctime &&
    want.ino !== undefined && info.ino === want.ino;
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
  return {
    size: info.size,
    mtime: info.mtime?.getTime() ?? 0,
    ctime: info.ctime?.getTime() ?? undefined,
    ino: info.ino ?? undefined,
    sha256,
  };
}
