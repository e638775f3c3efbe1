/**
 * How a pull makes a complete cache folder current: it is filled under a staging name beside
 * it and swapped in whole, so a half-written or edited folder is never the one a launch checks.
 *
 * @module
 */
import { basename, dirname, join } from "../_path.ts";

/**
 * Replaces `dir` with `staging` (one rename when `dir` is absent, two otherwise).
 *
 * @param staging The complete folder, beside `dir`.
 * @param dir The folder it replaces.
 * @returns When `dir` is the new folder (the old one is removed afterwards, best effort).
 * @throws {Deno.errors.NotFound} When `staging` is gone.
 *
 * @example
 * ```ts ignore
 * import { swapIn } from "./_swap_in.ts";
 * await swapIn("/c/srv.pull-1a2b3c4d", "/c/srv");
 * ```
 */
export async function swapIn(staging: string, dir: string): Promise<void> {
  const old = `${dir}.old-${crypto.randomUUID().slice(0, 8)}`;
  let moved = false;
  try {
    await Deno.rename(dir, old);
    moved = true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.rename(staging, dir);
  if (moved) await Deno.remove(old, { recursive: true }).catch(() => {});
}

/**
 * Removes the staging (`<dir>.pull-*`) and replaced (`<dir>.old-*`) folders that killed or
 * failed pulls left beside `dir`.
 *
 * @param dir The cache folder.
 * @returns When they are gone (best effort).
 *
 * @example
 * ```ts ignore
 * import { removeLeftovers } from "./_swap_in.ts";
 * await removeLeftovers("/c/srv");
 * ```
 */
export async function removeLeftovers(dir: string): Promise<void> {
  const parent = dirname(dir);
  const base = basename(dir);
  for await (const entry of Deno.readDir(parent)) {
    if (entry.name.startsWith(`${base}.pull-`) || entry.name.startsWith(`${base}.old-`)) {
      await Deno.remove(join(parent, entry.name), { recursive: true }).catch(() => {});
    }
  }
}
