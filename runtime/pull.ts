/**
 * Pull: cache a server's code and lockfile before its first run; verify them before each run.
 *
 * @module
 */
import { join } from "node:path";
import { type ServerDirs, serverDirs } from "./cache_dirs.ts";
import { pullEnv } from "./child_env.ts";
import { denoCacheArgs } from "./flags.ts";
import { checkModuleGraph } from "./module_graph.ts";
import type { ResolvedServer } from "./resolve.ts";
import {
  digestFile,
  digestTree,
  type FileDigest,
  listFilesSync,
  sameStat,
  sha256Hex,
} from "./_tree_digest.ts";

/** Subfolders of a `DENO_DIR` that hold code (the rest are Deno's derived caches). */
const CODE_DIRS = ["npm", "remote"] as const;

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

/** Options for {@linkcode pull} and {@linkcode verifyPull}. */
export interface PullOptions {
  /** mcp-run's cache root. */
  cacheRoot: string;
  /** The Deno binary; defaults to the running one. */
  deno?: string;
  /** The launcher's environment (TLS, proxy and registry settings are taken from it). */
  source?: Record<string, string>;
  /** Registry overrides (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
  /** Where progress lines go; defaults to stderr. Nothing is written to stdout. */
  progress?: (line: string) => void;
}

/**
 * Prepares a server's neutral folders and blocks Deno's per-origin storage (Cache API,
 * localStorage) in its `DENO_DIR`: `location_data` becomes a file, so no run can store data there.
 *
 * @param dirs The server's folders.
 */
export async function prepareDirs(dirs: ServerDirs): Promise<void> {
  for (const dir of [dirs.denoDir, dirs.home, dirs.cwd]) await Deno.mkdir(dir, { recursive: true });
  await Deno.chmod(dirs.home, 0o555).catch(() => {});
  await Deno.chmod(dirs.cwd, 0o555).catch(() => {});
  const blocker = join(dirs.denoDir, "location_data");
  try {
    const info = await Deno.lstat(blocker);
    if (info.isFile) return;
    await Deno.remove(blocker, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.writeFile(blocker, new Uint8Array(), { mode: 0o444 });
}

/**
 * Caches a server's code and writes its lockfile, running none of the server's code.
 *
 * Network goes to the package registries only. A lockfile from an earlier pull is enforced
 * (`--frozen`), so a re-pull fails if the registry now serves different bytes. Local servers
 * first pass the module graph check. Requires `--allow-run` for Deno and read/write access to
 * the cache root.
 *
 * @param server A resolved server.
 * @param options Cache root, Deno binary, environment.
 * @returns The pull record written beside the lockfile.
 * @throws {Error} When `deno cache` fails (its stderr tail is in the message).
 *
 * @example
 * ```ts ignore
 * import { loadManifest, pull, resolveServer, cacheRoot } from "jsr:@sandboxed/mcp-run";
 * const { manifest } = await loadManifest("memory");
 * const server = resolveServer(manifest, { params: { file: "./mem.jsonl" }, cacheRoot: cacheRoot() });
 * await pull(server, { cacheRoot: cacheRoot() });
 * ```
 */
export async function pull(server: ResolvedServer, options: PullOptions): Promise<PullRecord> {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const progress = options.progress ?? ((line) => console.error(line));
  const deno = options.deno ?? Deno.execPath();
  await prepareDirs(dirs);
  const env = pullEnv({
    home: dirs.home,
    denoDir: dirs.denoDir,
    source: options.source ?? Deno.env.toObject(),
    registries: options.registries,
  });
  if (server.localDir) await checkModuleGraph(server, { deno, env, cwd: dirs.cwd });
  const args = denoCacheArgs(server, { lockFile: dirs.lockFile });
  let locked = false;
  try {
    locked = (await Deno.stat(dirs.lockFile)).isFile;
  } catch { /* first pull */ }
  if (locked) args.splice(1, 0, "--frozen");
  progress(`Pulling ${server.specifier} into ${dirs.dir}`);
  const out = await new Deno.Command(deno, {
    args,
    env,
    clearEnv: true,
    cwd: dirs.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  const lines = text.split("\n").filter((l) => l.trim());
  const downloads = lines.filter((l) => l.trimStart().startsWith("Download")).length;
  if (downloads) progress(`  downloaded ${downloads} files from the registries`);
  if (!out.success) {
    throw new Error(
      `Cannot pull ${server.specifier}: deno cache exited with code ${out.code}\n${
        text.trim().split("\n").slice(-8).join("\n")
      }`,
    );
  }
  const record: PullRecord = {
    specifier: server.specifier,
    denoVersion: await denoVersion(deno),
    lockSha256: await lockDigest(dirs.lockFile),
    pulledAt: new Date().toISOString(),
    files: await digestTree(dirs.denoDir, CODE_DIRS),
  };
  await Deno.writeTextFile(dirs.pullRecord, JSON.stringify(record, null, 2) + "\n");
  progress(`Pulled ${Object.keys(record.files).length} files for ${server.name}`);
  return record;
}

/**
 * Reads a server's pull record.
 *
 * @param server A resolved server.
 * @param options The cache root.
 * @returns The record written by {@linkcode pull}.
 * @throws {CacheError} `missing` when the server was never pulled.
 */
export async function readPullRecord(
  server: ResolvedServer,
  options: Pick<PullOptions, "cacheRoot">,
): Promise<PullRecord> {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  try {
    return JSON.parse(await Deno.readTextFile(dirs.pullRecord));
  } catch (error) {
    throw new CacheError(
      "missing",
      `"${server.name}" (${server.specifier}) is not pulled yet: run mcp-run pull ${server.name}`,
      { cause: error },
    );
  }
}

/**
 * Checks that a server was pulled and that its lockfile and cached code are unchanged.
 *
 * The lockfile is hashed on every call. A code file whose size, modification or status-change
 * time, or inode changed is hashed again and compared; a missing, added or changed file fails.
 * Reads only the cache.
 *
 * @param server A resolved server.
 * @param options The cache root, and the pull record when the caller already read it.
 * @returns The pull record.
 * @throws {CacheError} `missing` when never pulled; `tampered` naming the first changed file.
 */
export async function verifyPull(
  server: ResolvedServer,
  options: Pick<PullOptions, "cacheRoot"> & { record?: PullRecord },
): Promise<PullRecord> {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const record = options.record ?? await readPullRecord(server, options);
  const tampered = (what: string) =>
    new CacheError(
      "tampered",
      `The cache of "${server.name}" changed since it was pulled (${what}). Remove ${dirs.dir} ` +
        `and pull again.`,
    );
  if (record.specifier !== server.specifier) throw tampered("its record names another package");
  if (await lockDigest(dirs.lockFile) !== record.lockSha256) throw tampered("deno.lock differs");
  let seen = 0;
  for (const sub of CODE_DIRS) {
    for (const rel of listFilesSync(join(dirs.denoDir, sub))) {
      const path = `${sub}/${rel}`;
      seen++;
      const want = record.files[path];
      if (!want) throw tampered(`${path} was added`);
      const info = Deno.lstatSync(join(dirs.denoDir, path));
      if (sameStat(info, want)) continue;
      const got = await digestFile(join(dirs.denoDir, path));
      if (got.sha256 !== want.sha256) throw tampered(`${path} was modified`);
    }
  }
  if (seen !== Object.keys(record.files).length) {
    const missing = Object.keys(record.files).find((p) => {
      try {
        Deno.lstatSync(join(dirs.denoDir, p));
        return false;
      } catch {
        return true;
      }
    });
    throw tampered(`${missing ?? "a file"} was removed`);
  }
  return record;
}

async function lockDigest(lockFile: string): Promise<string> {
  try {
    return await sha256Hex(await Deno.readFile(lockFile));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "none";
    throw error;
  }
}

async function denoVersion(deno: string): Promise<string> {
  const out = await new Deno.Command(deno, { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split(/\s+/)[1] ?? "unknown";
}
