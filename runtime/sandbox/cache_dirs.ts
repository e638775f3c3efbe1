/**
 * Where mcp-run keeps each server's code cache, lockfile and neutral folders.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "../_path.ts";
import { fnv1a32 } from "./_fnv1a.ts";

/** The folders one server version uses. */
export interface ServerDirs {
  /** The server's own cache folder (holds everything below). */
  dir: string;
  /** The `DENO_DIR` holding the server's code. */
  denoDir: string;
  /** The lockfile written by pull and enforced by run. */
  lockFile: string;
  /** The record of what pull cached (specifier, lock digest, file digests). */
  pullRecord: string;
  /** The lock file that lets one pull at a time fill {@linkcode ServerDirs.dir}. */
  pullLock: string;
  /** An empty `HOME` with no `.npmrc`, shared by all servers and never granted. */
  home: string;
  /** An empty working directory, shared by all servers and never granted. */
  cwd: string;
}

/** Options for {@linkcode cacheRoot}. */
export interface CacheRootOptions {
  /** Environment to read `MCP_RUN_CACHE`, `XDG_CACHE_HOME`, `HOME`, `LOCALAPPDATA` from. */
  env?: Record<string, string | undefined>;
  /** Operating system; defaults to the current one. */
  os?: typeof Deno.build.os;
  /** A folder the user named (the CLI's `--cache`), made absolute from the working folder. */
  given?: string;
}

/**
 * Finds mcp-run's cache root: the folder the user named, else `$MCP_RUN_CACHE`, else the
 * platform cache folder + `mcp-run`.
 *
 * @param options The folder the user named; environment and OS to use (defaults: the current
 *   process's).
 * @returns An absolute path.
 * @throws {TypeError} When no home or cache folder can be found.
 *
 * @example
 * ```ts
 * import { cacheRoot } from "./cache_dirs.ts";
 * console.log(cacheRoot({ env: { HOME: "/home/ada" }, os: "linux" })); // "/home/ada/.cache/mcp-run"
 * ```
 */
export function cacheRoot(options: CacheRootOptions = {}): string {
  if (options.given !== undefined) {
    return isAbsolute(options.given) ? options.given : resolve(options.given);
  }
  const env = options.env ?? Deno.env.toObject();
  const os = options.os ?? Deno.build.os;
  if (env.MCP_RUN_CACHE) return env.MCP_RUN_CACHE;
  if (os === "windows" && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, "mcp-run");
  if (!env.HOME) throw new TypeError("Cannot find a cache folder: set HOME or MCP_RUN_CACHE");
  if (os === "darwin") return join(env.HOME, "Library", "Caches", "mcp-run");
  return join(env.XDG_CACHE_HOME || join(env.HOME, ".cache"), "mcp-run");
}

/**
 * Computes the folders for one server package (pure: creates nothing).
 *
 * Each exact package specifier gets its own cache, so an upgrade never mixes code.
 *
 * @param name The server's registry name.
 * @param specifier The exact package it runs (`npm:…@x.y.z`, `jsr:…`, or a file path).
 * @param root The cache root (see {@linkcode cacheRoot}).
 * @returns The server's folders.
 *
 * @example
 * ```ts
 * import { serverDirs } from "./cache_dirs.ts";
 * const dirs = serverDirs("time", "npm:@example/time@1.0.0", "/cache");
 * console.log(dirs.lockFile.startsWith("/cache/servers/time/")); // true
 * ```
 */
export function serverDirs(name: string, specifier: string, root: string): ServerDirs {
  const dir = join(root, "servers", name, slug(specifier));
  return {
    dir,
    denoDir: join(dir, "deno_dir"),
    lockFile: join(dir, "deno.lock"),
    pullRecord: join(dir, "pull.json"),
    pullLock: `${dir}.lock`,
    home: join(root, "neutral", "home"),
    cwd: join(root, "neutral", "cwd"),
  };
}

/**
 * Turns a failed write in the cache into an error that names the folder and what to do, when
 * the cause is a folder the user cannot write (permissions, a read-only file system, a full
 * disk); other errors are returned as they are.
 *
 * @param root The cache root.
 * @param error What the write threw.
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { cacheWriteError } from "./cache_dirs.ts";
 * const error = cacheWriteError("/c", new Deno.errors.PermissionDenied("Permission denied"));
 * console.log(error.message.startsWith('Cannot write to the cache folder "/c"')); // true
 * ```
 */
export function cacheWriteError(root: string, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  const reason = error instanceof Deno.errors.PermissionDenied
    ? "permission denied. Make it writable"
    : /os error 30\b|read-only file system/i.test(text)
    ? "it is on a read-only file system. Make it writable"
    : /os error 28\b|no space left/i.test(text)
    ? "the disk is full. Free some space"
    : undefined;
  if (!reason) return error instanceof Error ? error : new Error(text);
  return new Error(
    `Cannot write to the cache folder "${root}": ${reason}, or choose another folder with ` +
      `--cache or MCP_RUN_CACHE.`,
    { cause: error },
  );
}

/** A readable, file-name-safe form of a specifier, with a short hash against collisions. */
function slug(specifier: string): string {
  const readable = specifier.replace(/^(npm|jsr):/, "$1-").replace(/[^A-Za-z0-9.@_-]+/g, "_");
  return `${readable.slice(-80)}-${fnv1a32(specifier, "char-code")}`;
}
