/**
 * A child process that starts after some asynchronous work (the egress proxy and sidecar a
 * container joins), with its stdio usable at once: what is written before the start waits, what
 * the child writes flows once it runs. A failed start ends it like a process that exited 1, the
 * reason on its stderr; a signal before the start cancels it: it never starts, and it ends at
 * once as killed by that signal.
 *
 * @module
 */
import { trackProcess } from "./child_guard.ts";

/** The parts of `Deno.ChildProcess` a supervised server uses. */
export interface ChildLike {
  /** The process's stdin. */
  readonly stdin: WritableStream<Uint8Array>;
  /** The process's stdout. */
  readonly stdout: ReadableStream<Uint8Array>;
  /** The process's stderr. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** Resolves when the process has exited. */
  readonly status: Promise<Deno.CommandStatus>;
  /** The process id (0 until a deferred process runs). */
  readonly pid: number;
  /** Sends a signal. */
  kill(signal?: Deno.Signal): void;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
};

/**
 * Starts `start()` and gives a child whose streams work before it resolves. `start` is told
 * whether the child was cancelled meanwhile (a signal before the start), so it can decline to
 * start anything; a process it starts anyway is killed at once. `pid` is 0 until the process runs.
 *
 * @param start The asynchronous work, ending with the started process.
 * @returns The child.
 *
 * @example
 * ```ts ignore
 * import { deferredChild } from "./_deferred_child.ts";
 * const child = deferredChild(async (cancelled) => {
 *   await startSomething();
 *   if (cancelled()) throw new Error("stopped before it started");
 *   return new Deno.Command("cat", { stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
 * });
 * ```
 */
export function deferredChild(
  start: (cancelled: () => boolean) => Promise<Deno.ChildProcess>,
): ChildLike {
  const stdin = new TransformStream<Uint8Array, Uint8Array>();
  const stdout = new TransformStream<Uint8Array, Uint8Array>();
  const stderr = new TransformStream<Uint8Array, Uint8Array>();
  let child: Deno.ChildProcess | undefined;
  let cancelled: Deno.Signal | undefined;
  const cancel = Promise.withResolvers<Deno.CommandStatus>();
  const endStreams = async (message?: string) => {
    const writer = stderr.writable.getWriter();
    if (message) await writer.write(new TextEncoder().encode(`${message}\n`)).catch(() => {});
    await writer.close().catch(() => {});
    await stdout.writable.close().catch(() => {});
    await stdin.readable.cancel(new Error("the process did not start")).catch(() => {});
  };
  const run = (async (): Promise<Deno.CommandStatus> => {
    try {
      child = await start(() => cancelled !== undefined);
    } catch (error) {
      // Not awaited: the streams end as their readers take the last bytes.
      endStreams(cancelled ? undefined : (error as Error).message).catch(() => {});
      return { success: false, code: 1, signal: null };
    }
    const untrack = trackProcess(child.pid);
    child.status.then(untrack, untrack);
    if (cancelled) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
    }
    stdin.readable.pipeTo(child.stdin).catch(() => {});
    child.stdout.pipeTo(stdout.writable).catch(() => {});
    child.stderr.pipeTo(stderr.writable).catch(() => {});
    return await child.status;
  })();
  return {
    stdin: stdin.writable,
    stdout: stdout.readable,
    stderr: stderr.readable,
    status: Promise.race([run, cancel.promise]),
    get pid(): number {
      return child?.pid ?? 0;
    },
    kill(signal: Deno.Signal = "SIGTERM"): void {
      if (child) {
        child.kill(signal);
        return;
      }
      if (cancelled) return;
      cancelled = signal;
      endStreams().catch(() => {});
      cancel.resolve({ success: false, code: 128 + (SIGNAL_NUMBERS[signal] ?? 15), signal });
    },
  };
}
