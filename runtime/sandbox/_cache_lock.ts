/**
 * One writer at a time per cache folder: an exclusive advisory lock (`flock`) on a lock file.
 * The kernel releases it when its holder exits, however it exits (SIGKILL included), so a
 * stale lock file never blocks anyone.
 */

/** Options for {@linkcode withFileLock}. */
export interface WithFileLockOptions {
  /** Called once when the lock is still held by another process after `noticeAfterMs`. */
  onWait?: () => void;
  /** When to call `onWait` (default 1000 ms). */
  noticeAfterMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock on `path` (created when missing, never removed: a
 * removed lock file would let two processes lock two different files).
 *
 * @param path The lock file.
 * @param fn What to do under the lock.
 * @param options A notice for a long wait.
 * @returns What `fn` returns.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  options: WithFileLockOptions = {},
): Promise<T> {
  using file = await Deno.open(path, { create: true, write: true, mode: 0o644 });
  const notice = options.onWait &&
    setTimeout(options.onWait, options.noticeAfterMs ?? 1000);
  try {
    await file.lock(true);
  } finally {
    clearTimeout(notice);
  }
  try {
    return await fn();
  } finally {
    await file.unlock().catch(() => {});
  }
}
