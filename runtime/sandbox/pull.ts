/**
 * Pull: cache a server's code and lockfile before its first run; verify them before each run.
 *
 * @module
 */
import { basename, dirname, join } from "../_path.ts";
import { type ApprovalOptions, checkApproval } from "../policy/approval.ts";
import { withFileLock } from "./_cache_lock.ts";
import { cacheWriteError, type ServerDirs, serverDirs } from "./cache_dirs.ts";
import { pullEnv } from "./child_env.ts";
import { denoCacheArgs } from "./flags.ts";
import { checkModuleGraph } from "./module_graph.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { digestTree, scanTree, statTree } from "./_tree_digest.ts";
import {
  closeSeal,
  openSeal,
  type PendingSealCheck,
  sealCheckFor,
  sealedFiles,
} from "./_cache_seal.ts";
import {
  CacheError,
  cacheProblem,
  CODE_DIRS,
  lockDigest,
  type PullRecord,
  readRecordFile,
} from "./_pull_record.ts";

export { CacheError, type PullRecord } from "./_pull_record.ts";

/** Options for {@linkcode pull} and {@linkcode verifyPull}. */
export interface PullOptions extends ApprovalOptions {
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
  await blockLocationData(dirs.denoDir);
}

async function blockLocationData(denoDir: string): Promise<void> {
  const blocker = join(denoDir, "location_data");
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
 * First checks the manifest against the one approved for the server (see
 * {@linkcode checkApproval}). When the cache already holds a pull whose record, lockfile and
 * files all verify, nothing is fetched. Otherwise the code is fetched into a fresh, empty
 * staging folder, digested there and swapped in whole: files that a pull did not fetch (edited
 * code, leftovers of a failed pull) are never recorded as trusted. The lockfile of a verified
 * record is enforced (`--frozen`), so a re-pull fails if the registry now serves different
 * bytes; a lockfile no record vouches for is not used. Pulls of one server into one cache
 * folder take turns (a lock file that its holder's death releases). Network goes to the package
 * registries only; local servers first pass the module graph check.
 *
 * Requires `--allow-run` for Deno and read/write access to the cache root.
 *
 * @param server A resolved server.
 * @param options Cache root, Deno binary, environment, approval.
 * @returns The pull record written beside the lockfile.
 * @throws {ApprovalError} When the manifest asks for more than was approved and `approve` is
 *   not set.
 * @throws {Error} When `deno cache` fails (its stderr tail is in the message), or the cache
 *   folder cannot be written (naming it).
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
  await checkApproval(server, options);
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const progress = options.progress ?? ((line) => console.error(line));
  // Already pulled and intact: nothing to write, so this also works in a read-only cache.
  const intact = await checkCache(server, dirs);
  if (intact.record) return alreadyPulled(server, intact.record, progress);
  try {
    await Deno.mkdir(dirname(dirs.dir), { recursive: true });
    return await withFileLock(dirs.pullLock, () => pullLocked(server, dirs, options, progress), {
      onWait: () => progress(`Waiting for another pull of ${server.name} to finish`),
    });
  } catch (error) {
    throw cacheWriteError(options.cacheRoot, error);
  }
}

async function pullLocked(
  server: ResolvedServer,
  dirs: ServerDirs,
  options: PullOptions,
  progress: (line: string) => void,
): Promise<PullRecord> {
  // Another process may have finished the same pull while this one waited.
  const current = await checkCache(server, dirs);
  if (current.record) return alreadyPulled(server, current.record, progress);
  if (current.problem) progress(`${current.problem}: fetching it again into an empty folder`);
  await removeLeftovers(dirs.dir);
  const deno = options.deno ?? Deno.execPath();
  const staging = `${dirs.dir}.pull-${randomSuffix()}`;
  const stage = {
    denoDir: join(staging, "deno_dir"),
    lockFile: join(staging, "deno.lock"),
    pullRecord: join(staging, "pull.json"),
  };
  try {
    await Deno.mkdir(stage.denoDir, { recursive: true });
    await prepareDirs({ ...dirs, denoDir: stage.denoDir });
    const env = pullEnv({
      home: dirs.home,
      denoDir: stage.denoDir,
      source: options.source ?? Deno.env.toObject(),
      registries: options.registries,
    });
    if (server.localDir) await checkModuleGraph(server, { deno, env, cwd: dirs.cwd });
    const args = denoCacheArgs(server, { lockFile: stage.lockFile });
    if (current.trustedLock) {
      await Deno.copyFile(dirs.lockFile, stage.lockFile);
      args.splice(1, 0, "--frozen");
    }
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
    if (!out.success) {
      throw new Error(
        `Cannot pull ${server.specifier}: deno cache exited with code ${out.code}\n${
          text.trim().split("\n").slice(-8).join("\n")
        }`,
      );
    }
    const downloaded = downloadSummary(lines);
    if (downloaded) progress(downloaded);
    const record: PullRecord = {
      specifier: server.specifier,
      denoVersion: await denoVersion(deno),
      lockSha256: await lockDigest(stage.lockFile),
      pulledAt: new Date().toISOString(),
      files: await digestTree(stage.denoDir, CODE_DIRS),
    };
    await Deno.writeTextFile(stage.pullRecord, JSON.stringify(record, null, 2) + "\n");
    await swapIn(staging, dirs.dir);
    // The seal needs the file system's clock past the last write (its ticks can be coarse).
    await new Promise((resolve) => setTimeout(resolve, 20));
    await fullCheck(server, dirs).problem.catch(() => {});
    progress(`Pulled ${Object.keys(record.files).length} files for ${server.name}`);
    return record;
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

function alreadyPulled(
  server: ResolvedServer,
  record: PullRecord,
  progress: (line: string) => void,
): PullRecord {
  progress(
    `${server.name} is already pulled: ${Object.keys(record.files).length} files, unchanged`,
  );
  return record;
}

/** What a pull finds in a server's cache folder. */
interface CacheState {
  /** The record, when it and every file it lists verify. */
  record?: PullRecord;
  /** Whether the lockfile is the one a readable record vouches for. */
  trustedLock: boolean;
  /** Why the cache cannot be used as it is (absent for a server never pulled). */
  problem?: string;
}

async function checkCache(server: ResolvedServer, dirs: ServerDirs): Promise<CacheState> {
  const check = fullCheck(server, dirs);
  let record: PullRecord;
  try {
    record = await check.record;
  } catch (error) {
    if (!(error instanceof CacheError)) throw error;
    if (error.kind === "tampered") {
      return { trustedLock: false, problem: `The pull record "${dirs.pullRecord}" is damaged` };
    }
    const leftover = await exists(dirs.denoDir) || await exists(dirs.lockFile);
    return {
      trustedLock: false,
      problem: leftover ? `The cache of "${server.name}" has no pull record` : undefined,
    };
  }
  const trustedLock = record.specifier === server.specifier &&
    await lockDigest(dirs.lockFile) === record.lockSha256 && record.lockSha256 !== "none";
  const problem = await check.problem;
  if (!problem) return { record, trustedLock };
  return {
    trustedLock,
    problem: `The cache of "${server.name}" changed since it was pulled (${problem})`,
  };
}

/** A full check of a server's cache under way (see {@linkcode fullCheck}). */
interface FullCheck {
  /** The pull record, once read (rejects with CacheError `missing` or `tampered`). */
  record: Promise<PullRecord>;
  /** The first difference between the cache and the record, `undefined` when there is none. */
  problem: Promise<string | undefined>;
}

/**
 * Compares the lockfile and every code file with the pull record (size, times and inode, and
 * the content of any file whose metadata changed). A check that passes seals the cache, so the
 * next one can be the short one (see {@linkcode sealHolds}).
 */
function fullCheck(server: ResolvedServer, dirs: ServerDirs): FullCheck {
  const opening = openSeal(dirs);
  // The walk and the record's read start after the seal's probe exists: a change made after
  // either looked is newer than the probe.
  const scan = opening.then((open) =>
    scanTree(dirs.denoDir, CODE_DIRS, sealedFiles(dirs, open)).catch(() => undefined)
  );
  const record = opening.then(() => readRecordFile(server, dirs));
  const listing = scan.then((found) => found?.files ?? statTree(dirs.denoDir, CODE_DIRS));
  const problem = record.then(async (read) => {
    const found = await cacheProblem(dirs, read, server, listing);
    await closeSeal(dirs, await opening, found ? undefined : server.specifier, await scan);
    return found;
  });
  problem.catch(() => opening.then((open) => closeSeal(dirs, open, undefined, undefined)));
  return { record, problem };
}

/**
 * Replaces `dir` with `staging` (one rename when `dir` is absent, two otherwise).
 *
 * @param staging The complete folder, beside `dir`.
 * @param dir The folder it replaces.
 * @returns When `dir` is the new folder (the old one is removed afterwards, best effort).
 * @throws {Deno.errors.NotFound} When `staging` is gone.
 *
 * @example
 * ```ts ignore
 * import { swapIn } from "./pull.ts";
 * await swapIn("/c/srv.pull-1a2b3c4d", "/c/srv");
 * ```
 */
export async function swapIn(staging: string, dir: string): Promise<void> {
  const old = `${dir}.old-${randomSuffix()}`;
  let moved = false;
  try {
    await Deno.rename(dir, old);
    moved = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.rename(staging, dir);
  if (moved) await Deno.remove(old, { recursive: true }).catch(() => {});
}

/**
 * Removes the staging (`<dir>.pull-*`) and replaced (`<dir>.old-*`) folders that killed or
 * failed pulls left beside `dir`.
 *
 * @param dir The cache folder.
 * @returns When they are gone (best effort).
 *
 * @example
 * ```ts ignore
 * import { removeLeftovers } from "./pull.ts";
 * await removeLeftovers("/c/srv");
 * ```
 */
export async function removeLeftovers(dir: string): Promise<void> {
  const parent = dirname(dir);
  const base = basename(dir);
  for await (const entry of Deno.readDir(parent)) {
    if (entry.name.startsWith(`${base}.pull-`) || entry.name.startsWith(`${base}.old-`)) {
      await Deno.remove(join(parent, entry.name), { recursive: true }).catch(() => {});
    }
  }
}

function randomSuffix(): string {
  return crypto.randomUUID().slice(0, 8);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that a server was pulled and that its lockfile and cached code are unchanged.
 *
 * When the cache's seal holds (nothing in it changed status since a check passed), that is the
 * answer. Otherwise the lockfile is hashed and every code file is `lstat`ed; one whose size,
 * modification or status-change time, or inode changed is hashed again and compared; a missing,
 * added or changed file fails; a pass seals the cache again. Reads only the cache (and writes
 * the seal).
 *
 * @param server A resolved server.
 * @param options The cache root.
 * @returns When the cache verified.
 * @throws {CacheError} `missing` when never pulled; `tampered` naming the first changed file,
 *   or a damaged pull record.
 */
export function verifyPull(
  server: ResolvedServer,
  options: Pick<PullOptions, "cacheRoot">,
): Promise<void> {
  return startCacheCheck(server, options).verified;
}

/** A cache check under way (see {@linkcode startCacheCheck}). */
export interface CacheCheck {
  /**
   * Settles once it is known whether the server was pulled.
   *
   * @throws {CacheError} `missing` when never pulled, `tampered` when the record is damaged.
   */
  pulled: Promise<void>;
  /**
   * Settles once the lockfile and every code file matched the record (see
   * {@linkcode verifyPull}).
   *
   * @throws {CacheError} As {@linkcode verifyPull}.
   */
  verified: Promise<void>;
}

/**
 * Starts {@linkcode verifyPull} at once, so the cache check overlaps the launcher's other checks
 * (approval, host names); the caller awaits `verified` before the server's code starts. Reads
 * the cache and writes only its seal. Neither promise rejects unhandled when the caller stops
 * waiting for it.
 *
 * @param server A resolved server.
 * @param options The cache root, and a seal check already under way, used when it is for this
 *   server's cache.
 * @returns Whether it was pulled, and the check's result.
 *
 * @example
 * ```ts ignore
 * import { startCacheCheck } from "./pull.ts";
 * const check = startCacheCheck(server, { cacheRoot: "/tmp/cache" });
 * await otherChecks();
 * await check.verified; // only now may the server start
 * ```
 */
export function startCacheCheck(
  server: ResolvedServer,
  options: Pick<PullOptions, "cacheRoot"> & { sealCheck?: PendingSealCheck },
): CacheCheck {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const full = sealCheckFor(server.specifier, dirs, options.sealCheck).then((holds) =>
    holds ? undefined : fullCheck(server, dirs)
  );
  const pulled = full.then(async (check) => void await check?.record);
  const verified = full.then(async (check) => {
    const problem = await check?.problem;
    if (problem) {
      throw new CacheError(
        "tampered",
        `The cache of "${server.name}" changed since it was pulled (${problem}). Run mcp-run ` +
          `pull ${server.name} (with the same -p parameters) to fetch it again into an empty ` +
          `folder (or remove ${dirs.dir}).`,
      );
    }
  });
  for (const promise of [full, pulled, verified]) promise.catch(() => {});
  return { pulled, verified };
}

async function denoVersion(deno: string): Promise<string> {
  const out = await new Deno.Command(deno, { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split(/\s+/)[1] ?? "unknown";
}

/**
 * Says how many files a successful `deno cache` downloaded, from its stderr lines.
 *
 * @param lines Its stderr, line by line.
 * @returns The progress line, or `undefined` when it downloaded nothing.
 *
 * @example
 * ```ts
 * import { downloadSummary } from "./pull.ts";
 * console.log(downloadSummary(["Download https://registry.npmjs.org/zod"])); // "  downloaded 1 file …"
 * console.log(downloadSummary(["Warning: x"])); // undefined
 * ```
 */
export function downloadSummary(lines: string[]): string | undefined {
  const count = lines.filter((l) => l.trimStart().startsWith("Download")).length;
  if (count === 0) return undefined;
  return `  downloaded ${count} ${count === 1 ? "file" : "files"} from the registries`;
}
