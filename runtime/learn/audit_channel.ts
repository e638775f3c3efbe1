/**
 * The audit channel of one launch: a FIFO that Deno writes its permission checks into
 * (`DENO_AUDIT_PERMISSIONS`), read live by the launcher, each refused check kept as a
 * {@linkcode Denial}. The FIFO lives in a mode-0700 folder of mcp-run's cache, which no grant
 * ever covers, so the server cannot write to it: only Deno's own records reach the log, never
 * lines the server prints. A FIFO holds nothing on disk, however long the server runs.
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

/** How long {@linkcode AuditChannel.close} waits for the end of Deno's lines. */
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
}

/**
 * One launch's FIFO and its reader. Start the server with {@linkcode auditedPlan}; call
 * {@linkcode AuditChannel.close} once it has exited.
 */
export class AuditChannel {
  /** The FIFO on the host. */
  readonly path: string;
  /** The refused checks read so far. */
  readonly log: DenialLog;
  #opened = false;
  #reading: Promise<void>;
  #closing?: Promise<void>;
  #onClose?: (log: DenialLog) => void | Promise<void>;

  /** Use {@linkcode openAuditChannel}. */
  constructor(
    path: string,
    log: DenialLog,
    onClose?: (log: DenialLog) => void | Promise<void>,
  ) {
    this.path = path;
    this.log = log;
    this.#onClose = onClose;
    this.#reading = this.#read();
  }

  /** The distinct denials so far. */
  get denials(): Denial[] {
    return this.log.denials;
  }

  async #read(): Promise<void> {
    let file: Deno.FsFile;
    try {
      // Waits until Deno opens its end (Deno waits for this one, too).
      file = await Deno.open(this.path, { read: true });
    } catch {
      return;
    }
    this.#opened = true;
    const decoder = new TextDecoder();
    try {
      const lines = file.readable.pipeThrough(new LineSplitter(MAX_CHECK_LINE_BYTES));
      for await (const piece of lines) {
        if (piece.kind !== "line") continue;
        const check = parseCheckLine(decoder.decode(piece.bytes));
        if (check) this.log.check(check);
      }
    } catch { /* a broken channel ends the log; the server is unaffected */ }
  }

  /**
   * Finishes reading (the writer has exited) and removes the FIFO and its folder. Call it after
   * the server's process has exited; safe to call more than once.
   *
   * @returns When every line Deno wrote has been read and the FIFO is gone.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (!this.#opened) {
        // Deno never opened its end (it failed first, or never started): open it ourselves so
        // that the pending reader wakes up and sees the end.
        const writer = await Deno.open(this.path, { write: true }).catch(() => undefined);
        writer?.close();
      }
      // Bounded: a writer that outlived its server (it should not) does not hold the stop up.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#reading,
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_WAIT_MS)),
      ]);
      clearTimeout(timer);
      await Deno.remove(dirname(this.path), { recursive: true }).catch(() => {});
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
 * Requires `--allow-run=mkfifo` and read/write access to the cache root.
 *
 * @param options The cache root, the log, what to do once it is closed.
 * @returns The channel, its reader waiting for Deno.
 * @throws {Error} When the FIFO cannot be made (with the reason from `mkfifo`).
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
  try {
    // The FIFO the previous launch left ready saves starting `mkfifo` while the server starts;
    // of two launches that race for it, the one that loses makes its own.
    const taken = spareInfo?.isFifo && await Deno.rename(spare, path).then(() => true, () => false);
    if (!taken) await makeFifo(path, options.mkfifo);
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
  return new AuditChannel(path, options.log, async (log) => {
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
