/**
 * The pull record and the cache check against it: what a pull cached, read back and compared
 * with the cache folder before each start.
 *
 * @module
 */
import type { ServerDirs } from "./cache_dirs.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { type FileDigest, sha256Hex, type TreeListing, treeProblem } from "./_tree_digest.ts";

/** Subfolders of a `DENO_DIR` that hold code (the rest are Deno's derived caches). */
export const CODE_DIRS = ["npm", "remote"] as const;

/** What pull cached, written beside the lockfile and checked before each run. */
export interface PullRecord {
  /** The exact specifier cached. */
  specifier: string;
  /** The Deno version that cached it. */
  denoVersion: string;
  /** Hex SHA-256 of the lockfile. */
  lockSha256: string;
  /** When the pull finished (ISO 8601). */
  pulledAt: string;
  /** Every cached code file, relative to `DENO_DIR`. */
  files: Record<string, FileDigest>;
}

/** Thrown when a server's cache is missing, or changed since it was pulled. */
export class CacheError extends Error {
  /** `missing` (never pulled) or `tampered` (changed since pull). */
  readonly kind: "missing" | "tampered";
  /**
   * Creates the error.
   *
   * @param kind What went wrong.
   * @param message What and how to fix it.
   * @param options Standard error options.
   */
  constructor(kind: "missing" | "tampered", message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CacheError";
    this.kind = kind;
  }
}

/** Reads and checks the shape of a server's pull record. */
export async function readRecordFile(
  server: ResolvedServer,
  dirs: ServerDirs,
): Promise<PullRecord> {
  let text: string;
  try {
    text = await Deno.readTextFile(dirs.pullRecord);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new CacheError(
      "missing",
      `"${server.name}" (${server.specifier}) is not pulled yet: run mcp-run pull ${server.name}`,
      { cause: error },
    );
  }
  let problem: string | undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
    problem = recordShapeProblem(record);
  } catch (error) {
    problem = `not JSON: ${(error as Error).message}`;
  }
  if (problem) {
    throw new CacheError(
      "tampered",
      `The pull record "${dirs.pullRecord}" of "${server.name}" is damaged (${problem}), so its ` +
        `cached code cannot be checked. Run mcp-run pull ${server.name} to fetch the code again.`,
    );
  }
  return record as PullRecord;
}

function recordShapeProblem(value: unknown): string | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return "not an object";
  const record = value as Record<string, unknown>;
  for (const key of ["specifier", "lockSha256"]) {
    if (typeof record[key] !== "string") return `"${key}" is not a string`;
  }
  const files = record.files;
  if (!files || typeof files !== "object" || Array.isArray(files)) {
    return `"files" is not an object`;
  }
  const digests = files as Record<string, unknown>;
  // for…in rather than Object.entries: thousands of files, checked before every start.
  for (const path in digests) {
    const d = digests[path] as Record<string, unknown> | null;
    if (!d || typeof d !== "object" || typeof d.sha256 !== "string" || typeof d.size !== "number") {
      return `the digest of "${path}" is not valid`;
    }
  }
  return undefined;
}

/** The first difference between the cache and its record, or `undefined` when none. */
export async function cacheProblem(
  dirs: ServerDirs,
  record: PullRecord,
  server: ResolvedServer,
  listing: Promise<TreeListing>,
): Promise<string | undefined> {
  if (record.specifier !== server.specifier) return "its record names another package";
  if (await lockDigest(dirs.lockFile) !== record.lockSha256) return "deno.lock differs";
  return await treeProblem(await listing, record.files, dirs.denoDir);
}

/** Hex SHA-256 of a lockfile, or `none` when there is none. */
export async function lockDigest(lockFile: string): Promise<string> {
  try {
    return await sha256Hex(await Deno.readFile(lockFile));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "none";
    throw error;
  }
}
