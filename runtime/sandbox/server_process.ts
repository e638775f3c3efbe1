/**
 * Server process supervision: start a launch plan with piped stdio and bounded buffers, and stop
 * it for sure.
 *
 * @module
 */
import type { AuditChannel } from "../learn/audit_channel.ts";
import type { Denial } from "../learn/denial.ts";
import type { ChildLike } from "./_deferred_child.ts";
import { trackProcess } from "./child_guard.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { LineSplitter, type SplitLine } from "./line_splitter.ts";

/** Options for {@linkcode spawnServer}. */
export interface SpawnServerOptions {
  /** Longest stdout line passed on, in bytes (default 4 MiB); longer ones are dropped. */
  maxLineBytes?: number;
  /** Receives each stderr line (truncated to `maxStderrLineBytes`); default: our stderr. */
  onStderr?: (line: string) => void;
  /** Longest stderr line kept, in bytes (default 8 KiB). */
  maxStderrLineBytes?: number;
  /** Bytes of stderr kept for error messages (default 8 KiB). */
  stderrTailBytes?: number;
  /**
   * The launch's permission audit channel (see `openAuditChannel`): the sandbox points Deno at
   * it, and the process closes it once it has exited and its `released()`
   * is done (with or without a stop). Its log's `onDenial` is called for each
   * new refused access as it happens.
   */
  audit?: AuditChannel;
  /**
   * Explains an exit the server's own output does not (a memory cap that stopped it, say): once
   * it has exited and its stderr ended, a line returned is passed to `onStderr` and ends the
   * stderr tail (so an exit error quotes it), before {@linkcode ServerProcess.stderrEnded} settles
   * and {@linkcode ServerProcess.stop} returns. `stopped` tells whether the launcher stopped it.
   */
  explainExit?: (status: Deno.CommandStatus, stderrTail: string, stopped: boolean) =>
    | string
    | undefined;
}

/** Thrown (or reported) when a server exits; carries its exit code and the end of its stderr. */
export class ServerExitedError extends Error {
  /** The exit code. */
  readonly code: number;
  /** The signal that ended it, if any. */
  readonly signal: Deno.Signal | null;
  /** The last lines of its stderr. */
  readonly stderrTail: string;
  /**
   * Describes how a server exited.
   *
   * @param name The server's name.
   * @param status How it exited.
   * @param stderrTail The end of its stderr.
   */
  constructor(name: string, status: Deno.CommandStatus, stderrTail: string) {
    const how = status.signal
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    super(`Server "${name}" ${how}${stderrTail ? `:\n${stderrTail}` : ""}`);
    this.name = "ServerExitedError";
    this.code = status.code;
    this.signal = status.signal;
    this.stderrTail = stderrTail;
  }
}

/** A running server: send lines to it, read lines from it, stop it. */
export class ServerProcess {
  #child: ChildLike;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #tail = "";
  #tailBytes: number;
  #stopping?: Promise<Deno.CommandStatus>;
  #audit?: AuditChannel;
  #finishing?: Promise<void>;
  #exited = false;
  #stoppedLive = false;
  /** The server's stdout, split into bounded lines. */
  readonly lines: ReadableStream<SplitLine>;
  /** Resolves when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** A name for messages. */
  readonly name: string;
  /**
   * Resolves when the server's stderr has ended: every line it wrote is in the tail (and, with
   * `explainExit`, once it has exited and its exit was explained).
   */
  readonly stderrEnded: Promise<void>;

  /** Use {@linkcode spawnServer}. */
  constructor(name: string, child: ChildLike, options: SpawnServerOptions) {
    this.name = name;
    this.#child = child;
    this.#tailBytes = options.stderrTailBytes ?? 8192;
    this.#writer = child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    this.lines = child.stdout.pipeThrough(new LineSplitter(options.maxLineBytes));
    this.status = child.status;
    this.status.then(() => this.#exited = true, () => this.#exited = true);
    this.#audit = options.audit;
    // The log is complete once everything the process ran is gone (a container removed), also
    // when it exits without a stop.
    if (this.#audit) this.status.then(() => this.#finish(), () => this.#finish()).catch(() => {});
    // Killed with us if we die first (when the launcher guards its children); a child that
    // starts later (pid 0 until then) tracks itself.
    if (child.pid > 0) {
      const untrack = trackProcess(child.pid);
      this.status.then(untrack, untrack);
    }
    const onStderr = options.onStderr ?? ((line: string) => console.error(line));
    const maxLine = options.maxStderrLineBytes ?? 8192;
    const piped = child.stderr.pipeThrough(new LineSplitter(maxLine)).pipeTo(
      new WritableStream({
        write: (piece) => {
          const text = piece.kind === "line"
            ? new TextDecoder().decode(piece.bytes)
            : `${new TextDecoder().decode(piece.head)}… [${piece.size} bytes, truncated]`;
          this.#tail = (this.#tail + text + "\n").slice(-this.#tailBytes);
          onStderr(text);
        },
      }),
    ).catch(() => {});
    const explain = options.explainExit;
    // The explanation is the last stderr line: in the tail (an exit error quotes it) once the
    // stream has ended.
    this.stderrEnded = !explain ? piped : piped.then(async () => {
      const line = explain(await this.status, this.stderrTail, this.#stoppedLive);
      if (!line) return;
      this.#tail = (this.#tail + line + "\n").slice(-this.#tailBytes);
      onStderr(line);
    }).catch(() => {});
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * The distinct accesses refused so far (from the audit channel, and for a container with an
   * egress proxy its refusals); complete once {@linkcode ServerProcess.stop} has returned.
   */
  get denials(): Denial[] {
    return this.#audit?.denials ?? [];
  }

  /** The last lines the server wrote to stderr. */
  get stderrTail(): string {
    return this.#tail.trimEnd();
  }

  /**
   * Writes one line (a newline is added) to the server's stdin.
   *
   * @param line One JSON-RPC message, without newline.
   */
  async send(line: string | Uint8Array): Promise<void> {
    // One write per line, so that lines sent at the same time never interleave.
    let bytes: Uint8Array;
    if (typeof line === "string") bytes = new TextEncoder().encode(line + "\n");
    else {
      bytes = new Uint8Array(line.length + 1);
      bytes.set(line);
      bytes[line.length] = 10;
    }
    await this.#writer.write(bytes);
  }

  /**
   * Sends a signal to the server; ignored once it has exited.
   *
   * @param signal The signal.
   */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (!this.#exited) this.#stoppedLive = true;
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /**
   * Stops the server for sure: closes stdin, then SIGTERM after `graceMs`, then SIGKILL after
   * another `graceMs`. Safe to call more than once.
   *
   * @param graceMs How long each step waits (default 2000).
   * @returns How the process exited.
   */
  stop(graceMs = 2000): Promise<Deno.CommandStatus> {
    if (!this.#exited) this.#stoppedLive = true;
    this.#stopping ??= (async () => {
      await this.#writer.close().catch(() => {});
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const exited = await Promise.race([
          this.status.then(() => true),
          new Promise<false>((r) => timer = setTimeout(() => r(false), graceMs)),
        ]);
        clearTimeout(timer);
        if (exited) break;
        this.kill(signal);
      }
      const status = await this.status;
      await this.#finish();
      // The explanation, if any, is printed before stop returns; a child the server left behind
      // may hold stderr open, so not for long.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.stderrEnded, new Promise((r) => timer = setTimeout(r, 1000))]);
      clearTimeout(timer);
      return status;
    })();
    return this.#stopping;
  }

  /** Releases what the process ran, then completes the audit log; once. */
  #finish(): Promise<void> {
    this.#finishing ??= (async () => {
      await this.released();
      // Only now has every writer of the audit channel gone (a container's Deno included).
      await this.#audit?.close();
    })();
    return this.#finishing;
  }

  /**
   * What {@linkcode ServerProcess.stop} waits for once the process has exited, before the audit
   * channel is read to its end: nothing here; a container is removed.
   *
   * @returns When everything the process ran is gone.
   */
  protected released(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Starts a server from a launch plan: environment exactly as planned (nothing inherited), stdio
 * piped, stdout split into bounded lines, stderr passed on line by line with a bounded tail kept.
 *
 * Requires `--allow-run` for the plan's program.
 *
 * @param name The server's name, for messages.
 * @param plan What to start.
 * @param options Buffer bounds and the stderr sink.
 * @returns The running process.
 *
 * @example
 * ```ts ignore
 * import { denoLaunchPlan, spawnServer } from "jsr:@sandboxed/mcp-run";
 * const child = spawnServer("time", denoLaunchPlan(server, { cacheRoot }));
 * await child.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
 * await child.stop();
 * ```
 */
export function spawnServer(
  name: string,
  plan: LaunchPlan,
  options: SpawnServerOptions = {},
): ServerProcess {
  return new ServerProcess(name, startPlan(plan), options);
}

/**
 * Starts a plan's program exactly as planned: its environment only (nothing inherited), its
 * folder, all three stdio streams piped.
 *
 * @param plan What to start.
 * @param stderr `piped` (default), or `null` to discard the program's stderr.
 * @returns The child process.
 * @throws {Deno.errors.NotFound} When the program is not installed.
 */
export function startPlan(
  plan: LaunchPlan,
  stderr: "piped" | "null" = "piped",
): Deno.ChildProcess {
  return new Deno.Command(plan.program, {
    args: plan.args,
    env: plan.env,
    clearEnv: true,
    cwd: plan.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr,
  }).spawn();
}
