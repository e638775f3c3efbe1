/**
 * The audit channel of one launch: a FIFO that Deno writes its permission checks into
 * (`DENO_AUDIT_PERMISSIONS`), read live by the launcher, each refused check kept as a
 * {@linkcode Denial}. The FIFO lives in a mode-0700 folder of mcp-run's cache, which no grant
 * ever covers, so the server cannot write to it: only Deno's own records reach the log, never
 * lines the server prints (in docker with `--trust`, the programs it starts inherit the variable,
 * so those reports are marked unverified). A FIFO holds nothing on disk, however long the server
 * runs. The launcher opens its ends before the server starts, so Deno never waits for a reader,
 * and reads until an end mark of its own once every other writer has gone.
 *
 * @module
 */
import { dirname, join } from "../_path.ts";
import { LineSplitter } from "../sandbox/line_splitter.ts";
import type { LaunchPlan } from "../sandbox/launch_plan.ts";
import type { Denial } from "./denial.ts";
import type { DenialLog } from "./denial_log.ts";
import { MAX_CHECK_LINE_BYTES, parseCheckLine } from "./permission_check.ts";

/** The variable that names Deno's permission audit file. */
export const AUDIT_ENV = "DENO_AUDIT_PERMISSIONS";

/** Where the FIFO is mounted inside a container (the file alone, nothing beside it). */
export const CONTAINER_AUDIT_PATH = "/mcp-run-audit";

/** How long {@linkcode AuditChannel.close} waits for the lines still buffered in the FIFO. */
const CLOSE_WAIT_MS = 5000;

/** Options for {@linkcode openAuditChannel}. */
export interface OpenAuditChannelOptions {
  /** mcp-run's cache root; the FIFO goes in its `audit/` folder. */
  cacheRoot: string;
  /** Where refused checks go. */
  log: DenialLog;
  /** Called once the channel is closed and its log complete (to store it). */
  onClose?: (log: DenialLog) => void | Promise<void>;
  /** The `mkfifo` program (default `mkfifo`). */
  mkfifo?: string;
  /** The program that reads the FIFO to its standard output (default `cat`). */
  cat?: string;
}

/** The launcher's two ends of one FIFO (see {@linkcode openAuditChannel}). */
export interface AuditChannelEnds {
  /** Opened read-write: never blocks, and keeps a reader there for Deno's open. */
  holder: Deno.FsFile;
  /**
   * Where the lines are read from: the FIFO opened read-only (at once, since the holder
   * writes), or a program that reads it (see {@linkcode openAuditChannel}). Closed once the
   * reading has ended.
   */
  reader: { readonly readable: ReadableStream<Uint8Array>; close(): void | Promise<void> };
}

/**
 * One launch's FIFO and its reader. Start the server with {@linkcode auditedPlan}; call
 * {@linkcode AuditChannel.close} once the server's process has exited and everything it ran is
 * gone (a container removed): only then is the log complete.
 */
export class AuditChannel {
  /** The FIFO on the host. */
  readonly path: string;
  /** The refused checks read so far. */
  readonly log: DenialLog;
  #ends: AuditChannelEnds;
  // A line no check parses to, written by the launcher after every other writer has gone: the
  // reader stops there, so the log holds every line Deno wrote before it exited.
  #endLine = `mcp-run-audit-end ${crypto.randomUUID()}`;
  #reading: Promise<void>;
  #releasing?: Promise<void>;
  #closing?: Promise<void>;
  #onClose?: (log: DenialLog) => void | Promise<void>;

  /**
   * Use {@linkcode openAuditChannel}.
   *
   * @param path The FIFO.
   * @param log Where refused checks go.
   * @param ends The launcher's two open ends of the FIFO; the channel closes them.
   * @param onClose Called once with the complete log.
   */
  constructor(
    path: string,
    log: DenialLog,
    ends: AuditChannelEnds,
    onClose?: (log: DenialLog) => void | Promise<void>,
  ) {
    this.path = path;
    this.log = log;
    this.#ends = ends;
    this.#onClose = onClose;
    this.#reading = this.#read();
  }

  /** The distinct denials so far. */
  get denials(): Denial[] {
    return this.log.denials;
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      const lines = this.#ends.reader.readable.pipeThrough(
        new LineSplitter(MAX_CHECK_LINE_BYTES),
      );
      for await (const piece of lines) {
        if (piece.kind !== "line") continue;
        const line = decoder.decode(piece.bytes);
        if (line === this.#endLine) break;
        const check = parseCheckLine(line);
        if (check) this.log.check(check);
      }
    } catch { /* a broken channel ends the log; the server is unaffected */ }
  }

  /**
   * Ends the reading and removes the FIFO and its folder, without calling `onClose`: for a
   * launch whose program never writes the channel (a container package), or as the first half
   * of {@linkcode AuditChannel.close}. Call it only once every writer has gone: lines written
   * later are not read. Safe to call more than once.
   *
   * @returns When the lines written so far are read (or the wait ran out) and the FIFO is gone.
   */
  release(): Promise<void> {
    this.#releasing ??= (async () => {
      // Bounded: the end line may never be written or read back (a reader that broke off while
      // a writer left by the server filled the FIFO); closing the holder then ends the reader.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = this.#ends.holder.write(new TextEncoder().encode(`${this.#endLine}\n`))
        .then(() => this.#reading, () => {});
      await Promise.race([
        ended,
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
      ]);
      clearTimeout(timer);
      for (const end of [this.#ends.holder, this.#ends.reader]) {
        try {
          await end.close();
        } catch { /* the reader's stream closed it already */ }
      }
      await Deno.remove(dirname(this.path), { recursive: true }).catch(() => {});
    })();
    return this.#releasing;
  }

  /**
   * Completes the log: {@linkcode AuditChannel.release}, then `onClose` with the log. Call it
   * after the server's process has exited and everything it ran is gone; safe to call more
   * than once.
   *
   * @returns When every line Deno wrote has been read, the FIFO is gone and `onClose` is done.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.release();
      try {
        await this.#onClose?.(this.log);
      } catch { /* storing the log is the caller's concern; closing still succeeds */ }
    })();
    return this.#closing;
  }
}

/**
 * Makes one launch's FIFO (`<cache>/audit/<random>/checks`, folder mode 0700) and starts
 * reading it. Takes about a millisecond (a rename of the spare FIFO the previous launch left, else
 * `mkfifo`): start it alongside the launch's other preparations. Closing it leaves a spare for
 * the next launch.
 *
 * The FIFO is read through `cat`, whose output pipe the launcher reads without blocking: a read
 * of a FIFO opened in the launcher itself would hold one of Deno's few threads for blocking file
 * work (32) for as long as the server runs, so 32 audited servers at once (`serve` sessions)
 * would stop every file operation of the launcher, new sessions' included.
 *
 * Requires `--allow-run=mkfifo,cat` and read/write access to the cache root.
 *
 * @param options The cache root, the log, what to do once it is closed.
 * @returns The channel, its ends open: Deno's open of the FIFO never waits for a reader. Start
 *   the server with the channel only when this succeeds.
 * @throws {Error} When the FIFO cannot be made or opened (with the reason).
 *
 * @example
 * ```ts ignore
 * import { DenialLog } from "./denial_log.ts";
 * import { auditedPlan, openAuditChannel } from "./audit_channel.ts";
 * const channel = await openAuditChannel({ cacheRoot, log: new DenialLog(server) });
 * const child = spawnServer(server.name, auditedPlan(plan, channel));
 * await child.stop();
 * await channel.close();
 * console.log(channel.denials);
 * ```
 */
export async function openAuditChannel(options: OpenAuditChannelOptions): Promise<AuditChannel> {
  const base = join(options.cacheRoot, "audit");
  const spare = join(base, "spare");
  // Few steps, side by side: this runs while the server is prepared. A temporary folder is made
  // with mode 0700; the base folder only once per cache.
  const [dir, spareInfo] = await Promise.all([
    Deno.makeTempDir({ dir: base }).catch(async () => {
      await Deno.mkdir(base, { recursive: true, mode: 0o700 });
      return await Deno.makeTempDir({ dir: base });
    }),
    Deno.lstat(spare).catch(() => undefined),
  ]);
  const path = join(dir, "checks");
  let ends: AuditChannelEnds;
  try {
    // The FIFO the previous launch left ready saves starting `mkfifo` while the server starts;
    // of two launches that race for it, the one that loses makes its own.
    const taken = spareInfo?.isFifo && await Deno.rename(spare, path).then(() => true, () => false);
    if (!taken) await makeFifo(path, options.mkfifo);
    ends = await openEnds(path, options.cat);
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw new Error(
      `Cannot make the permission audit channel in "${base}": ${(error as Error).message}. ` +
        "Check that the cache folder is writable",
      { cause: error },
    );
  }
  const replenish = async () => {
    const next = `${spare}.${crypto.randomUUID()}`;
    await makeFifo(next, options.mkfifo).then(() => Deno.rename(next, spare)).catch(() =>
      Deno.remove(next).catch(() => {})
    );
  };
  return new AuditChannel(path, options.log, ends, async (log) => {
    await replenish();
    await sweep(base);
    await options.onClose?.(log);
  });
}

/** Folders of launches older than this are left by launchers that were killed. */
const STALE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the folders killed launchers left. Safe even for a launch still running: both ends of
 * its FIFO were opened long ago, and an open FIFO outlives its name.
 */
async function sweep(base: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(base)) {
      if (!entry.isDirectory) continue;
      const folder = join(base, entry.name);
      const info = await Deno.lstat(folder).catch(() => undefined);
      if (info?.mtime && Date.now() - info.mtime.getTime() > STALE_MS) {
        await Deno.remove(folder, { recursive: true }).catch(() => {});
      }
    }
  } catch { /* nothing to sweep */ }
}

/**
 * Opens the launcher's ends before the server starts, so that Deno's own open (which blocks
 * until the FIFO has a reader) always finds one: read-write first, which never blocks on Linux,
 * then the reader (`cat`), whose read-only open finds that writer.
 */
async function openEnds(path: string, cat = "cat"): Promise<AuditChannelEnds> {
  const holder = await Deno.open(path, { read: true, write: true });
  try {
    // Anything else at the path (a file would grow on disk, a folder cannot be read) is refused.
    if (!(await holder.stat()).isFifo) throw new Error(`"${path}" is not a FIFO`);
    return { holder, reader: pipeReader(path, cat) };
  } catch (error) {
    holder.close();
    throw error;
  }
}

/** Starts `cat` on the FIFO; closing it ends `cat` (a writer may outlive the server). */
function pipeReader(path: string, cat: string): AuditChannelEnds["reader"] {
  const child = new Deno.Command(cat, {
    args: ["--", path],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  return {
    readable: child.stdout,
    close: async () => {
      try {
        child.kill("SIGKILL");
      } catch { /* ended at the end of the FIFO */ }
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}

/** Makes a FIFO with `mkfifo`. */
async function makeFifo(path: string, mkfifo = "mkfifo"): Promise<void> {
  const made = await new Deno.Command(mkfifo, {
    // Writable by every user because a container's user may differ from the launcher's (it gets
    // the file alone, bind-mounted); on the host the mode-0700 folder keeps everyone else out.
    args: ["-m", "0666", path],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) throw new Error(new TextDecoder().decode(made.stderr).trim());
}

/**
 * A launch plan with the audit channel added (pure): natively `DENO_AUDIT_PERMISSIONS` names the
 * FIFO; for `docker run` the FIFO alone is bind-mounted at {@linkcode CONTAINER_AUDIT_PATH} and
 * the variable set there.
 *
 * @param plan A native or docker plan of a Deno server.
 * @param channel The channel (its `path`).
 * @returns A new plan.
 * @throws {RangeError} When the FIFO's path cannot be written as a docker mount.
 *
 * @example
 * ```ts
 * import { auditedPlan } from "./audit_channel.ts";
 * const plan = { program: "deno", args: ["run"], env: {}, cwd: "/c" };
 * console.log(auditedPlan(plan, { path: "/c/audit/x/checks" }).env);
 * // { DENO_AUDIT_PERMISSIONS: "/c/audit/x/checks" }
 * ```
 */
export function auditedPlan<P extends LaunchPlan>(
  plan: P,
  channel: Pick<AuditChannel, "path">,
): P {
  if (!("container" in plan)) return { ...plan, env: { ...plan.env, [AUDIT_ENV]: channel.path } };
  if (/[,"\n]/.test(channel.path)) {
    throw new RangeError(
      `Cannot mount the audit channel "${channel.path}" into a container: the path has a comma, ` +
        "quote or newline. Choose another cache folder with --cache or MCP_RUN_CACHE",
    );
  }
  // Options go before the image: the first mount is the code volume's, always present.
  const at = plan.args.indexOf("--mount");
  const args = [...plan.args];
  args.splice(
    at < 0 ? 1 : at,
    0,
    "--mount",
    `type=bind,src=${channel.path},dst=${CONTAINER_AUDIT_PATH}`,
    "-e",
    `${AUDIT_ENV}=${CONTAINER_AUDIT_PATH}`,
  );
  return { ...plan, args };
}
