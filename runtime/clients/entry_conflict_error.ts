/**
 * The error raised when an entry of the same name exists and mcp-run did not write it.
 *
 * @module
 */
import type { ClientId } from "./types.ts";

/**
 * An entry named like the one being installed or removed exists in the client's
 * configuration and was not written by mcp-run. Callers catch it to suggest `--force`.
 *
 * @example
 * ```ts
 * import { EntryConflictError } from "./entry_conflict_error.ts";
 * const e = new EntryConflictError("cursor", "github", "/home/a/.cursor/mcp.json", "replace");
 * console.assert(e.message.includes("--force"));
 * ```
 */
export class EntryConflictError extends Error {
  /** Client whose configuration holds the entry. */
  readonly client: ClientId;
  /** Entry name. */
  readonly entryName: string;
  /** Configuration file (or a label for it). */
  readonly file: string;

  /**
   * Says which entry was not written by mcp-run.
   *
   * @param client Client id.
   * @param entryName Entry name.
   * @param file Configuration file.
   * @param action What was refused: replacing or removing the entry.
   */
  constructor(client: ClientId, entryName: string, file: string, action: "replace" | "remove") {
    super(
      `Cannot ${action} "${entryName}" in "${file}": an entry with that name exists and was ` +
        `not written by mcp-run; pass --force to ${action} it anyway`,
    );
    this.name = "EntryConflictError";
    this.client = client;
    this.entryName = entryName;
    this.file = file;
  }
}
