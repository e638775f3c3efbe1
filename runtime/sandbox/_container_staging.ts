/**
 * The host side of a pull container: a fresh staging folder the container's (non-root) user
 * may write, handed back to root when mcp-run is root, and swapped in whole once complete.
 *
 * @module
 */
import { join } from "../_path.ts";
import { CONTAINER_USER } from "./docker_names.ts";

/**
 * The pull containers' user: the launcher's own ids, so the files it writes are the user's; as
 * root (containers never run as root), the image user mcp-run uses, given the staging folder.
 */
export function pullUser(): string {
  if (!isRoot()) {
    try {
      return `${Deno.uid()}:${Deno.gid()}`;
    } catch { /* no permission to ask: the fixed user */ }
  }
  return CONTAINER_USER;
}

/** Whether mcp-run runs as root. */
export function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** Creates folders the container's user may write (given to it when mcp-run is root). */
export async function makeStaging(folders: string[], user: string): Promise<void> {
  for (const folder of folders) {
    await Deno.mkdir(folder, { recursive: true, mode: 0o755 });
    if (isRoot()) {
      const [uid, gid] = user.split(":").map(Number);
      await Deno.chown(folder, uid, gid ?? uid);
    }
  }
}

/** Gives a tree (every folder and file; links are left as they are) to `uid:gid`. */
export async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  await Deno.chown(root, uid, gid);
  for (const entry of Deno.readDirSync(root)) {
    const path = join(root, entry.name);
    if (entry.isDirectory) await chownTree(path, uid, gid);
    else if (!entry.isSymlink) await Deno.chown(path, uid, gid);
  }
}
