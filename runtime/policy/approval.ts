/**
 * Approval of what a server may touch: the manifest a user first ran or pulled is recorded as
 * approved, and a later manifest of the same server that asks for more is refused until the user
 * accepts it (`--yes`). Every path that fetches or starts a server's code checks it: pull,
 * prepare (run, call, inspect, serve, config, install), natively and in docker.
 *
 * @module
 */
import { dirname, join } from "../_path.ts";
import { cacheWriteError } from "../sandbox/cache_dirs.ts";
import { describeGrantDiff, diffGrants, type GrantChange, widensGrants } from "./grant_diff.ts";
import { type Manifest, readManifest } from "./manifest.ts";
import { GrantError, type ResolvedServer } from "./resolve.ts";

/** Thrown when a manifest asks for more than the user approved for that server. */
export class ApprovalError extends GrantError {
  /** What changed since the approval (additions widen access). */
  readonly changes: GrantChange[];
  /**
   * Creates the error (thrown by {@linkcode checkApproval}).
   *
   * @param changes The grant changes (see {@linkcode diffGrants}).
   * @param message What is refused and how to accept it.
   * @param options Standard error options.
   */
  constructor(changes: GrantChange[], message: string, options?: ErrorOptions) {
    super("permissions", message, options);
    this.name = "ApprovalError";
    this.changes = changes;
  }
}

/** Options for {@linkcode checkApproval}. */
export interface ApprovalOptions {
  /** mcp-run's cache root, where approvals are kept. */
  cacheRoot: string;
  /**
   * Accept a manifest that asks for more than was approved, and record it as the approved one
   * (the CLI's `--yes`). Default false: such a manifest is refused.
   */
  approve?: boolean;
  /** Where notes on changed grants go; defaults to stderr. */
  progress?: (line: string) => void;
}

/**
 * The file holding the manifest approved for a server (pure: creates nothing).
 *
 * @param cacheRoot mcp-run's cache root.
 * @param name The server's name.
 * @returns The path of its approval record.
 *
 * @example
 * ```ts
 * import { approvalFile } from "./approval.ts";
 * console.log(approvalFile("/c", "time")); // "/c/servers/time/approved.jsonc"
 * ```
 */
export function approvalFile(cacheRoot: string, name: string): string {
  return join(cacheRoot, "servers", name, "approved.jsonc");
}

/**
 * Checks a server's manifest against the one approved for that server name, before its code is
 * fetched or started.
 *
 * The first manifest seen for a name is recorded as approved. A manifest that asks for more
 * (a new path, host, variable, secret, sys API, program or library) is refused with an
 * {@linkcode ApprovalError} listing the added grants in plain words, unless `approve` is set;
 * then, and for a manifest that only narrows, it becomes the approved one (changes are printed).
 * A server resolved by hand, without its manifest, has nothing to compare and passes.
 *
 * Reads and writes `servers/<name>/approved.jsonc` under the cache root.
 *
 * @param server A resolved server (carrying the manifest it was resolved from).
 * @param options Cache root, whether to accept a wider manifest, progress sink.
 * @returns Nothing; resolves when the server may go on.
 * @throws {ApprovalError} When the manifest widens access and `approve` is not set, or the
 *   approval record is damaged.
 * @throws {Error} When the approval cannot be recorded (naming the cache folder).
 *
 * @example
 * ```ts ignore
 * import { checkApproval, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 * const { manifest } = await loadManifest("time");
 * const server = resolveServer(manifest, { cacheRoot: "/tmp/c" });
 * await checkApproval(server, { cacheRoot: "/tmp/c" });
 * ```
 */
export async function checkApproval(
  server: ResolvedServer,
  options: ApprovalOptions,
): Promise<void> {
  const manifest = server.manifest;
  if (!manifest) return;
  const file = approvalFile(options.cacheRoot, manifest.name);
  const progress = options.progress ?? ((line: string) => console.error(line));
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text === undefined) return await recordApproval(options.cacheRoot, manifest);
  // The usual case, checked before every start: the record is this very manifest, written by
  // recordApproval, so there is nothing to parse or compare.
  if (text === approvalText(manifest)) return;
  let approved: Manifest;
  try {
    approved = await readManifest(text);
  } catch (error) {
    throw new ApprovalError(
      [],
      `The approval record "${file}" of "${manifest.name}" is damaged, so what was approved is ` +
        "unknown: remove it, then run the command again to approve the manifest it names.",
      { cause: error },
    );
  }
  const changes = diffGrants(approved, manifest);
  // Nothing that decides access changed (a description, say): keep the record current, so the
  // next start takes the fast path above.
  if (changes.length === 0) return await recordApproval(options.cacheRoot, manifest);
  const lines = describeGrantDiff(changes).map((l) => `  ${l}`).join("\n");
  if (widensGrants(changes)) {
    if (!options.approve) {
      throw new ApprovalError(
        changes,
        `"${manifest.name}" asks for more access than you approved:\n${lines}\n` +
          "Nothing was started. To accept, run the same command again with --yes.",
      );
    }
    progress(`"${manifest.name}" asks for more access than you approved:\n${lines}\nAccepted.`);
  } else progress(`"${manifest.name}" changed since you approved it:\n${lines}`);
  await recordApproval(options.cacheRoot, manifest);
}

async function recordApproval(cacheRoot: string, manifest: Manifest): Promise<void> {
  const file = approvalFile(cacheRoot, manifest.name);
  const temp = `${file}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeTextFile(temp, approvalText(manifest));
    await Deno.rename(temp, file);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw cacheWriteError(cacheRoot, error);
  }
}

/** The approval record's text for a manifest. */
function approvalText(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + "\n";
}
