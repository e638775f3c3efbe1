/**
 * The cache seal: a short way to know that a server's cache is exactly as it was when its check
 * last passed, without reading its record or looking at each file's size and times again.
 *
 * The kernel sets a file's status-change time (ctime) when it is written, its metadata changes
 * or it is linked, and no user can set it back (short of setting the system's clock). A check
 * that passed writes a seal holding the newest ctime it saw; from then on, one `find -newerct`
 * over the lockfile, the record and the code folders answers whether anything changed since. The
 * seal also keeps the inode numbers of those four paths, so one of them swapped for an older copy
 * (whose times are old) is seen. Whatever the seal cannot vouch for goes through the full check,
 * which writes a new seal.
 *
 * What it guards against is the cache check's own threat: a change made by something that does
 * not also rewrite mcp-run's records. Like the pull record, the seal is no defence against a
 * process that writes the cache on purpose: it can rewrite both (or write through a memory map
 * it dirtied before the seal, which the kernel stamps only when the page is next written back).
 *
 * @module
 */
import { join } from "../_path.ts";
import type { ServerDirs } from "./cache_dirs.ts";
import { CODE_DIRS } from "./_pull_record.ts";
import { compareCtimes, CTIME_RE, FIND, findAllowed, type TreeScan } from "./_tree_digest.ts";

/** What a seal holds. */
interface CacheSeal {
  /** The specifier the cache was pulled for. */
  specifier: string;
  /** The newest status-change time in the sealed paths when their check passed (find's format). */
  ctime: string;
  /** The inode of each sealed path (relative to the server's folder), `null` when absent. */
  inodes: Record<string, number | null>;
}

/** The seal file of a server's cache. */
function sealFile(dirs: ServerDirs): string {
  return join(dirs.dir, "seal.json");
}

/** The paths a seal covers, relative to the server's folder. */
const SEALED = ["deno.lock", "pull.json", ...CODE_DIRS.map((d) => `deno_dir/${d}`)];

/**
 * Whether the server's cache is unchanged since a check of it passed: the seal names this
 * specifier, every sealed path has the inode it had, and nothing in them changed status since.
 * `false` whenever that cannot be told (no seal, no `find`, an error): then the full check runs.
 * Everything up to starting `find` happens before it returns, so the walk is under way even
 * while the caller's thread is busy (loading modules, say).
 *
 * @param specifier The server's specifier.
 * @param dirs The server's folders.
 * @returns Whether the seal holds.
 */
export function sealHolds(specifier: string, dirs: ServerDirs): Promise<boolean> {
  let find: Deno.ChildProcess;
  try {
    const seal = readSeal(dirs);
    if (seal?.specifier !== specifier || !findAllowed()) return Promise.resolve(false);
    const present: string[] = [];
    for (const path of SEALED) {
      const inode = inodeOf(join(dirs.dir, path));
      if (inode !== seal.inodes[path]) return Promise.resolve(false);
      if (inode !== null) present.push(path);
    }
    find = new Deno.Command(FIND, {
      args: ["-P", ...present, "-newerct", `@${seal.ctime}`, "-print", "-quit"],
      cwd: dirs.dir,
      env: { LC_ALL: "C" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return Promise.resolve(false);
  }
  return find.output().then((found) => found.success && found.stdout.length === 0, () => false);
}

/**
 * A seal check started before the server was known (see {@linkcode startSealCheck}). Only a
 * check made here counts: a look-alike object is ignored (see {@linkcode sealCheckFor}).
 */
export class PendingSealCheck {
  /** The server folder it checks. */
  readonly dir: string;
  /** The specifier the seal must name. */
  readonly specifier: string;
  /** Whether the seal holds (see {@linkcode sealHolds}). */
  readonly holds: Promise<boolean>;
  #started = true;

  /**
   * Starts the check.
   *
   * @param specifier The specifier the seal must name.
   * @param dirs The server's folders.
   */
  constructor(specifier: string, dirs: ServerDirs) {
    this.dir = dirs.dir;
    this.specifier = specifier;
    this.holds = sealHolds(specifier, dirs);
  }

  /** Whether `value` is a check started by this module. */
  static started(value: unknown): value is PendingSealCheck {
    return typeof value === "object" && value !== null && #started in value;
  }
}

/**
 * Starts {@linkcode sealHolds} for a server cache, to be taken up by a later cache check of
 * the same folder and specifier (see {@linkcode sealCheckFor}).
 *
 * @param specifier The specifier the seal must name.
 * @param dirs The server's folders.
 * @returns The check under way.
 */
export function startSealCheck(specifier: string, dirs: ServerDirs): PendingSealCheck {
  return new PendingSealCheck(specifier, dirs);
}

/**
 * The seal check for a server cache: the one already under way when it is for the same folder
 * and specifier, else a new one.
 *
 * @param specifier The server's specifier.
 * @param dirs The server's folders.
 * @param pending A check started earlier, for whatever server.
 * @returns Whether the seal holds.
 */
export function sealCheckFor(
  specifier: string,
  dirs: ServerDirs,
  pending: PendingSealCheck | undefined,
): Promise<boolean> {
  if (PendingSealCheck.started(pending) && pending.dir === dirs.dir) {
    if (pending.specifier === specifier) return pending.holds;
  }
  return sealHolds(specifier, dirs);
}

function readSeal(dirs: ServerDirs): CacheSeal | undefined {
  const value = JSON.parse(Deno.readTextFileSync(sealFile(dirs)));
  const ok = typeof value?.specifier === "string" && typeof value.ctime === "string" &&
    CTIME_RE.test(value.ctime) && typeof value.inodes === "object" && value.inodes;
  return ok ? value : undefined;
}

/** A path's inode number; `null` when nothing is there. */
function inodeOf(path: string): number | null {
  try {
    return Deno.lstatSync(path).ino ?? NaN;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return null;
  }
}

function sealedInodes(dirs: ServerDirs): Record<string, number | null> {
  return Object.fromEntries(SEALED.map((path) => [path, inodeOf(join(dirs.dir, path))]));
}

/** A seal under way: its probe file, and the sealed paths' inodes before the check began. */
export interface OpenSeal {
  /** An empty file in the server's folder, made before the check looked at anything. */
  probe: string;
  /** The sealed paths' inode numbers, taken before the check looked at them. */
  inodes: Record<string, number | null>;
}

/**
 * Starts a seal before a full check: a new empty file in the server's folder, whose ctime marks a
 * moment before the check looked at anything (every later change gets a later ctime), and the
 * sealed paths' inodes.
 *
 * @param dirs The server's folders.
 * @returns The seal under way; `undefined` when the folder cannot be written (no seal then).
 */
export async function openSeal(dirs: ServerDirs): Promise<OpenSeal | undefined> {
  const probe = `${sealFile(dirs)}.${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(probe, new Uint8Array(), { createNew: true });
  } catch {
    return undefined;
  }
  try {
    return { probe, inodes: sealedInodes(dirs) };
  } catch {
    await Deno.remove(probe).catch(() => {});
    return undefined;
  }
}

/**
 * Ends a seal started by {@linkcode openSeal}. When the full check passed and everything it
 * walked is older than the probe, so that any change after the walk has a newer ctime than the
 * seal records, the probe becomes the seal; otherwise it is removed. Never throws: without a
 * seal the next start runs the full check again.
 *
 * @param dirs The server's folders.
 * @param open The seal under way.
 * @param specifier The specifier the check passed for; `undefined` when it did not pass.
 * @param scan The check's walk, the probe among its other paths (see {@linkcode sealedFiles}).
 */
export async function closeSeal(
  dirs: ServerDirs,
  open: OpenSeal | undefined,
  specifier: string | undefined,
  scan: TreeScan | undefined,
): Promise<void> {
  if (!open) return;
  try {
    const opened = scan?.ctimes.get(open.probe);
    // A lockfile or record that is a link would be sealed as the link while Deno and the full
    // check read its target: each sealed file must be a regular file in the walk.
    const plain = sealedFiles(dirs, open).every((file) => scan?.ctimes.has(file));
    if (specifier && scan && opened && plain) {
      let newest = scan.newestCtime;
      for (const [path, ctime] of scan.ctimes) {
        if (path !== open.probe && compareCtimes(ctime, newest) > 0) newest = ctime;
      }
      if (newest !== "" && compareCtimes(newest, opened) < 0) {
        const seal: CacheSeal = { specifier, ctime: newest, inodes: open.inodes };
        await Deno.writeTextFile(open.probe, JSON.stringify(seal) + "\n");
        await Deno.rename(open.probe, sealFile(dirs));
        return;
      }
    }
  } catch { /* no seal: the next start checks every file */ }
  await Deno.remove(open.probe).catch(() => {});
}

/** The files a full check walks besides the code folders, so that a seal covers them too. */
export function sealedFiles(dirs: ServerDirs, open: OpenSeal | undefined): string[] {
  if (!open) return [];
  const present = [dirs.lockFile, dirs.pullRecord].filter((file) =>
    open.inodes[file.slice(dirs.dir.length + 1)] !== null
  );
  return [open.probe, ...present];
}
