/**
 * Install and remove entries in client configuration files on disk.
 *
 * @module
 */
import { type FileUpdate, updateFile } from "./_atomic_file.ts";
import { readClientEnvironment } from "./client_environment.ts";
import type { ClientEntry } from "./client_entry.ts";
import { clientConfigPath } from "./config_path.ts";
import { withClientEntry, withoutClientEntry } from "./config_text.ts";
import type { ClientEnvironment, ClientId, ConfigScope } from "./types.ts";

/** Options for {@link writeClientConfig} and {@link removeClientEntry}. */
export interface ClientConfigOptions {
  /** User or project file; defaults to the client's first scope. */
  scope?: ConfigScope;
  /** Where to look for files; defaults to this process's home, `%APPDATA%` and cwd. */
  environment?: ClientEnvironment;
  /** Edit this file instead of the client's standard one. */
  file?: string;
  /** Replace or remove an entry of the same name that mcp-run did not write. */
  force?: boolean;
}

/** What a write did: the file, whether it changed or was deleted, and the backup. */
export type ClientConfigResult = FileUpdate;

/**
 * Install `entry` into its client's configuration file.
 *
 * The edit is minimal (see `withClientEntry()`), serialised against concurrent installs by a
 * lock, written atomically (temporary file + rename in the same folder), and the previous
 * file is kept as `<file>.bak`; the file's mode is kept and missing folders are created.
 * Installing an identical entry again changes nothing. Requires read and write access to the
 * file's folder (and `--allow-env` when `environment` is not given).
 *
 * @param entry The entry, from `clientEntry()`.
 * @param options Scope, environment, explicit file, `force`.
 * @returns The file written, whether it changed, and the backup.
 * @throws {SyntaxError} If the file cannot be parsed (it is left untouched).
 * @throws {EntryConflictError} If a foreign entry of that name exists and `force` is unset.
 * @throws {Deno.errors.PermissionDenied} If the file is read-only.
 * @example
 * ```ts ignore
 * import { clientEntry } from "./client_entry.ts";
 * import { writeClientConfig } from "./write_client_config.ts";
 * const entry = clientEntry("cursor", { command: "deno", args: ["run", "x.ts"], env: {}, secrets: [] }, { name: "x" });
 * const { file, changed } = await writeClientConfig(entry, { scope: "project" });
 * ```
 */
export async function writeClientConfig(
  entry: ClientEntry,
  options: ClientConfigOptions = {},
): Promise<ClientConfigResult> {
  const file = options.file ?? clientConfigPath(entry.client, {
    scope: options.scope,
    environment: options.environment ?? readClientEnvironment(),
    name: entry.name,
  });
  return await updateFile(file, (text) => {
    return withClientEntry(text, entry, { force: options.force, file });
  });
}

/**
 * Remove the entry `name` from a client's configuration file, with the same locking,
 * atomicity and backup as {@link writeClientConfig}. A Continue block file left with no
 * server is deleted. A missing file or entry changes nothing.
 *
 * @param client Client id.
 * @param name Entry name.
 * @param options Scope, environment, explicit file, `force`.
 * @returns The file, whether it changed or was deleted, and the backup.
 * @throws {SyntaxError} If the file cannot be parsed (it is left untouched).
 * @throws {EntryConflictError} If the entry was not written by mcp-run and `force` is unset.
 * @example
 * ```ts ignore
 * import { removeClientEntry } from "./write_client_config.ts";
 * await removeClientEntry("cursor", "x", { scope: "project" });
 * ```
 */
export async function removeClientEntry(
  client: ClientId,
  name: string,
  options: ClientConfigOptions = {},
): Promise<ClientConfigResult> {
  const file = options.file ?? clientConfigPath(client, {
    scope: options.scope,
    environment: options.environment ?? readClientEnvironment(),
    name,
  });
  const exists = await Deno.lstat(file).then(() => true, () => false);
  if (!exists) return { file, changed: false, deleted: false };
  return await updateFile(file, (text) => {
    return withoutClientEntry(text, { client, name }, { force: options.force, file });
  });
}
