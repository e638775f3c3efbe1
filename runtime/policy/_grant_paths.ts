/**
 * Paths as grants: canonical, deduplicated, and refused when they may never be granted or when
 * they hold links that lead outside every grant.
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, resolve as resolvePath } from "../_path.ts";
import { GrantError } from "./grant_error.ts";
import { forbiddenPathReason, isWithin, type PathContext } from "./path_policy.ts";

/** Refuses a canonical path that may never be granted. */
export function refusePath(kind: string, path: string, field: string, ctx: PathContext): void {
  const reason = forbiddenPathReason(path, ctx);
  if (reason) {
    throw new GrantError(
      field,
      `Cannot grant ${kind} access to "${path}": ${reason}. Choose a narrower folder.`,
    );
  }
}

/**
 * Makes a path canonical. A path that does not exist yet (a file the server will create) is
 * canonicalized through its nearest existing parent folder; a missing parent is an error.
 */
export function canonicalPath(
  path: string,
  field: string,
  realPath: (p: string) => string,
): string {
  if (!isAbsolute(path)) {
    throw new GrantError(field, `"${path}" is not an absolute path`);
  }
  try {
    return realPath(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new GrantError(field, `Cannot resolve "${path}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  try {
    return join(realPath(dirname(path)), basename(path));
  } catch (error) {
    throw new GrantError(
      field,
      `Cannot grant "${path}": neither it nor its folder "${dirname(path)}" exists. Create the ` +
        "folder first.",
      { cause: error },
    );
  }
}

/** Makes a path canonical when it exists, else absolute. */
export function canonicalOrSelf(path: string, realPath: (p: string) => string): string {
  try {
    return realPath(path);
  } catch {
    return resolvePath(path);
  }
}

/** The user's home folder, canonical when it exists. */
export function canonicalHome(home: string, realPath: (p: string) => string): string {
  return canonicalOrSelf(home, realPath);
}

/** Sorted unique paths, without those inside another. */
export function dedupePaths(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && isWithin(p, q)));
}

/**
 * Refuses granted folders that contain symlinks leading outside every grant: Deno checks the
 * path a program names, not where a link inside a granted folder points.
 */
export function checkSymlinks(
  grants: string[],
  limit: number,
  realPath: (p: string) => string,
): void {
  for (const root of grants) {
    if (limit === 0) return;
    let seen = 0;
    const stack = [root];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      let entries: Iterable<Deno.DirEntry>;
      try {
        if (!Deno.statSync(dir).isDirectory) continue;
        entries = Deno.readDirSync(dir);
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (++seen > limit) {
          throw new GrantError(
            "permissions",
            `Cannot grant "${root}": it holds more than ${limit} entries, too many to check for ` +
              "links that lead outside it. Grant a narrower folder.",
          );
        }
        const path = join(dir, entry.name);
        if (entry.isDirectory) stack.push(path);
        else if (entry.isSymlink) {
          let target: string;
          try {
            target = realPath(path);
          } catch {
            continue; // dangling: reads fail anyway
          }
          if (!grants.some((g) => isWithin(target, g))) {
            throw new GrantError(
              "permissions",
              `Cannot grant "${root}": the link "${path}" leads to "${target}", outside every ` +
                "granted folder, and Deno would follow it. Remove the link or grant its target.",
            );
          }
        }
      }
    }
  }
}
