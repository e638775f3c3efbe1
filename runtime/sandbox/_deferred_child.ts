/**
 * A child process that starts after some asynchronous work (the egress proxy and sidecar a
 * container joins), with its stdio usable at once: what is written before the start waits, what
 * the child writes flows once it runs. A failed start ends it like a process that exited 1, the
 * reason on its stderr.
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

/**
 * Starts `start()` and gives a child whose streams work before it resolves. A signal sent before
 * the start is delivered once the process runs (a SIGKILL or SIGTERM before then also means the
 * process is killed as soon as it starts). `pid` is 0 until the process runs.
 *
 * @param start The asynchronous work, ending with the started process.
 * @returns The child.
 *
 * @example
 * ```ts ignore
 * import { deferredChild } from "./_deferred_child.ts";
 * const child = deferredChild(async () => {
 *   await startSomething();
 *   return new Deno.Command("cat", { stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
 * });
 * ```
 */
export function deferredChild(start: () => Promise<Deno.ChildProcess>): ChildLike {
  const stdin = new TransformStream<Uint8Array, Uint8Array>();
  const stdout = new TransformStream<Uint8Array, Uint8Array>();
  const stderr = new TransformStream<Uint8Array, Uint8Array>();
  let child: Deno.ChildProcess | undefined;
  let pending: Deno.Signal | undefined;
  const status = (async (): Promise<Deno.CommandStatus> => {
    try {
      child = await start();
    } catch (error) {
      const writer = stderr.writable.getWriter();
      await writer.write(new TextEncoder().encode(`${(error as Error).message}\n`)).catch(() => {});
      await writer.close().catch(() => {});
      await stdout.writable.close().catch(() => {});
      await stdin.readable.cancel().catch(() => {});
      return { success: false, code: 1, signal: null };
    }
    const untrack = trackProcess(child.pid);
    child.status.then(untrack, untrack);
    if (pending) {
      try {
        child.kill(pending);
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
    status,
    get pid(): number {
      return child?.pid ?? 0;
    },
    kill(signal: Deno.Signal = "SIGTERM"): void {
      if (child) child.kill(signal);
      else pending = signal;
    },
  };
}
