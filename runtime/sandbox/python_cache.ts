/**
 * The record of a Python pull and the check against it before each start: what was installed
 * (every file's digest, the lock's), read back and compared with the code folder on the host.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import { CacheError } from "./_pull_record.ts";
import { digestTree, type FileDigest, sha256Hex, statTree, treeProblem } from "./_tree_digest.ts";
import type { PythonDirs } from "./python_plan.ts";

/** What a Python pull installed, written beside the code folder. */
export interface PythonPullRecord {
  /** The exact package. */
  specifier: string;
  /** The image it was installed with (and runs in). */
  image: string;
  /** The console script the entry file starts. */
  script: string;
  /** Hex sha256 of the lock. */
  lockSha256: string;
  /** The distributions installed, `name==version`. */
  installed: string[];
  /** When the pull finished (ISO 8601). */
  pulledAt: string;
  /** Every file of the code folder, by path relative to the server's folder (`code/…`). */
  files: Record<string, FileDigest>;
}

/** The folder below a server's folder that holds its code. */
const CODE = ["code"] as const;

/**
 * Digests every file of a code folder, as the record keeps them.
 *
 * @param dir The server's (or staging) folder holding `code/`.
 * @returns The digests, by `code/…` path.
 */
export function digestCode(dir: string): Promise<Record<string, FileDigest>> {
  return digestTree(dir, CODE);
}

/**
 * Reads a server's Python pull record.
 *
 * @param server The server.
 * @param dirs Its folders.
 * @returns The record.
 * @throws {CacheError} `missing` when there is none; `tampered` when it is damaged.
 */
export async function readPythonRecord(
  server: ResolvedServer,
  dirs: PythonDirs,
): Promise<PythonPullRecord> {
  let text: string;
  try {
    text = await Deno.readTextFile(dirs.record);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new CacheError(
      "missing",
      `"${server.name}" (${server.specifier}) is not pulled yet: run mcp-run pull ${server.name} ` +
        "--isolation docker",
      { cause: error },
    );
  }
  let record: Partial<PythonPullRecord> | undefined;
  try {
    record = JSON.parse(text);
  } catch { /* damaged: reported below */ }
  const files = record?.files;
  const ok = typeof record?.specifier === "string" && typeof record.image === "string" &&
    typeof record.lockSha256 === "string" && typeof record.script === "string" &&
    typeof files === "object" && files !== null && !Array.isArray(files) &&
    Object.values(files).every((d) => typeof d?.sha256 === "string" && typeof d.size === "number");
  if (!ok) {
    throw new CacheError(
      "tampered",
      `The pull record "${dirs.record}" of "${server.name}" is damaged, so its installed code ` +
        `cannot be checked. Run mcp-run pull ${server.name} --isolation docker to install it ` +
        `again (or remove ${dirs.dir}).`,
    );
  }
  return record as PythonPullRecord;
}

/**
 * The first difference between a server's code folder and its record, or `undefined`: the
 * package and image it was pulled for, the lock's digest, then every file (added, removed, or
 * changed; a file whose size, times and inode are unchanged is not hashed again).
 *
 * @param server The server.
 * @param image The image it is to run in.
 * @param dirs Its folders.
 * @param record Its record.
 * @returns The problem, if any.
 */
export async function pythonCodeProblem(
  server: ResolvedServer,
  image: string,
  dirs: PythonDirs,
  record: PythonPullRecord,
): Promise<string | undefined> {
  if (record.specifier !== server.specifier) return "its record names another package";
  if (record.image !== image) return "its record names another image";
  const listing = statTree(dirs.dir, CODE);
  let lock: string;
  try {
    lock = await sha256Hex(await Deno.readFile(dirs.lockFile));
  } catch {
    return "requirements.lock is missing";
  }
  if (lock !== record.lockSha256) return "requirements.lock differs";
  return await treeProblem(await listing, record.files, dirs.dir);
}

/**
 * Checks that a `pypi:` server was pulled for this image and that its code folder is exactly
 * what was installed. Reads the code folder only.
 *
 * @param server The server.
 * @param image The image it is to run in.
 * @param dirs Its folders.
 * @returns The record, when the code verified.
 * @throws {CacheError} `missing` when never pulled; `tampered` naming the first difference.
 */
export async function verifyPythonCode(
  server: ResolvedServer,
  image: string,
  dirs: PythonDirs,
): Promise<PythonPullRecord> {
  const record = await readPythonRecord(server, dirs);
  const problem = await pythonCodeProblem(server, image, dirs, record);
  if (problem) {
    throw new CacheError(
      "tampered",
      `The installed code of "${server.name}" changed since it was pulled (${problem}). Run ` +
        `mcp-run pull ${server.name} --isolation docker (with the same -p parameters) to ` +
        `install it again into an empty folder (or remove ${dirs.dir}).`,
    );
  }
  return record;
}
