// Where adopt writes an approved draft manifest, and the learn command that previews a draft.
import { applyEdits, modify } from "jsonc-parser";
import { basename, join } from "../_path.ts";
import { writeAtomic } from "./_atomic_file.ts";
import type { AdoptPackage } from "./adopt_entry.ts";

/**
 * The `mcp-run learn` command that drafts what adopting would draft, quoted for a shell.
 *
 * @param target The package as a manifest names it (`npm:name@1.2.3`).
 * @param pkg The recognised package (its variables' names and its arguments).
 * @returns One command line.
 * @example
 * ```ts ignore
 * learnCommand("npm:srv@1.0.0", pkg); // "mcp-run learn npm:srv@1.0.0 --env TOKEN -- /data"
 * ```
 */
export function learnCommand(target: string, pkg: AdoptPackage): string {
  const quote = (w: string) => /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
  const words = ["mcp-run", "learn", target, ...Object.keys(pkg.env).flatMap((n) => ["--env", n])];
  if (pkg.args.length > 0) words.push("--", ...pkg.args);
  return words.map(quote).join(" ");
}

/**
 * The draft's file name from the whole package name, scope included: `@alpha/mcp-server` and
 * `@beta/mcp-server` are different servers, and each needs its own draft.
 */
function draftStem(pkg: AdoptPackage): string {
  const stem = pkg.name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return stem.slice(-64).replace(/^-+/, "") || "server";
}

function draftPath(dir: string, pkg: AdoptPackage, n: number): string {
  return join(dir, `${draftStem(pkg)}${n === 1 ? "" : `-${n}`}.jsonc`);
}

/**
 * The first draft path no file holds yet (what the plan shows before approval).
 *
 * @param dir The folder of draft manifests.
 * @param pkg The package the draft is for.
 * @returns `<dir>/<scope>-<name>[-N].jsonc`.
 * @example
 * ```ts ignore
 * await freeDraftPath("/h/.config/mcp-run/manifests", pkg); // ".../alpha-mcp-server.jsonc"
 * ```
 */
export async function freeDraftPath(dir: string, pkg: AdoptPackage): Promise<string> {
  for (let n = 1;; n++) {
    const path = draftPath(dir, pkg, n);
    if (!await Deno.lstat(path).then(() => true, () => false)) return path;
  }
}

/**
 * The draft with its registry name set to its file's: the name keys the approval and the cache,
 * so two packages whose drafts learn named alike (`@alpha/mcp-server`, `@beta/mcp-server`)
 * never share either. Comments and layout are kept.
 */
function namedAs(text: string, name: string): string {
  const edits = modify(text, ["name"], name, { formattingOptions: { insertSpaces: true } });
  return applyEdits(text, edits);
}

/**
 * Write a draft to a file no other draft holds: the name is claimed with createNew, so a draft
 * approved earlier (or written meanwhile) is never overwritten; a taken name gets a suffix.
 *
 * @param dir The folder of draft manifests (it exists).
 * @param pkg The package the draft is for.
 * @param text The draft's text.
 * @returns The file written.
 * @throws {Deno.errors.PermissionDenied} When the folder cannot be written.
 * @example
 * ```ts ignore
 * const file = await writeNewDraft(dir, pkg, draft.text);
 * ```
 */
export async function writeNewDraft(
  dir: string,
  pkg: AdoptPackage,
  text: string,
): Promise<string> {
  for (let n = 1;; n++) {
    const path = draftPath(dir, pkg, n);
    try {
      (await Deno.open(path, { write: true, createNew: true })).close();
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) continue;
      throw error;
    }
    await writeAtomic(path, namedAs(text, basename(path).slice(0, -".jsonc".length)));
    return path;
  }
}
