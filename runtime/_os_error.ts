/**
 * Operating-system errors said in words, for messages to a person.
 *
 * @module
 */

/** What an error of each name means for the path, in words. */
const OS_ERROR_WORDS: Record<string, string> = {
  NotFound: "it does not exist",
  IsADirectory: "it is a folder, not a file",
  NotADirectory: "a part of the path is a file, not a folder",
  PermissionDenied: "permission denied",
  AlreadyExists: "it already exists",
};

/** What each operation is called, in words. */
const OS_OPERATION_WORDS: Record<string, string> = {
  readfile: "read",
  open: "open",
  stat: "find",
  lstat: "find",
  readdir: "list",
  mkdir: "create",
  writefile: "write",
  remove: "remove",
  rename: "move",
};

/**
 * A bare operating-system error (`Is a directory (os error 21): readfile '/x'`) said in words,
 * with the path it concerns: `Cannot read "/x": it is a folder, not a file`. Other errors keep
 * their message.
 *
 * @param error What was thrown.
 * @returns One line for a person.
 *
 * @example
 * ```ts
 * import { osErrorMessage } from "./_os_error.ts";
 * const error = new Error("Read-only file system (os error 30): mkdir '/c/audit'");
 * console.log(osErrorMessage(error)); // Cannot create "/c/audit": it is on a read-only file system
 * ```
 */
export function osErrorMessage(error: Error): string {
  // Whatever was thrown is said, never a trace: a rejection may carry no Error at all.
  if (!(error instanceof Error)) return `failed: ${String(error)}`;
  const match = /\(os error \d+\): (\w+) '([^']*)'/.exec(error.message);
  // Deno names no error class for EROFS (30): its number tells.
  const words = OS_ERROR_WORDS[error.name] ??
    (/\(os error 30\)/.test(error.message) ? "it is on a read-only file system" : undefined);
  if (!match || !words) return error.message;
  const [, operation, path] = match;
  return `Cannot ${OS_OPERATION_WORDS[operation] ?? operation} "${path}": ${words}`;
}
