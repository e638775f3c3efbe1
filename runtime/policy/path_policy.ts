/**
 * Which file system paths may never be granted to a server, and why.
 *
 * @module
 */

/** Where the user's sensitive folders are. */
export interface PathContext {
  /** The user's home directory (canonical). */
  home: string;
  /** mcp-run's own cache root (code caches, lockfiles); never granted. */
  cacheRoot: string;
}

const SYSTEM_TREES = ["/proc", "/sys", "/dev", "/run", "/boot", "/etc/shadow", "/etc/sudoers"];

/** Paths under the home directory that hold credentials, shell start-up or client configs. */
const HOME_SECRETS = [
  ".ssh",
  ".aws",
  ".docker",
  ".kube",
  ".gnupg",
  ".netrc",
  ".npmrc",
  ".git-credentials",
  ".config/gh",
  ".config/gcloud",
  ".azure",
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".profile",
  ".zshrc",
  ".zshenv",
  ".zprofile",
  ".zlogin",
  ".config/fish",
  ".claude",
  ".claude.json",
  ".cursor",
  ".codeium",
  ".continue",
  ".vscode",
  ".config/Claude",
  ".config/Code",
  ".config/Cursor",
  ".config/zed",
  ".config/goose",
  ".config/mcp-run",
  "Library/Application Support/Claude",
  "Library/Application Support/Code",
  "Library/Application Support/Cursor",
  ".deno",
  ".cache/deno",
];

/** Tells whether `child` is `parent` or inside it (both absolute, normalized). */
export function isWithin(child: string, parent: string): boolean {
  if (parent === "/") return true;
  return child === parent || child.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

/**
 * Explains why a path may not be granted, or returns `undefined` when it may.
 *
 * Refused: `/`, the home directory and every folder that contains it, system trees (`/proc`,
 * `/sys`, `/dev`, `/run`, …), mcp-run's code cache, credential folders (`~/.ssh`, `~/.aws`, …),
 * shell start-up files and MCP client config folders, and any folder containing one of these.
 *
 * @param path An absolute, canonical path.
 * @param context Where home and the cache are.
 * @returns A reason ("the whole file system is never granted"), or `undefined`.
 *
 * @example
 * ```ts
 * import { forbiddenPathReason } from "./path_policy.ts";
 * const ctx = { home: "/home/ada", cacheRoot: "/home/ada/.cache/mcp-run" };
 * console.log(forbiddenPathReason("/home/ada/.ssh/id_ed25519", ctx)); // "it holds credentials, shell start-up files or client configs"
 * console.log(forbiddenPathReason("/home/ada/notes", ctx)); // undefined
 * ```
 */
export function forbiddenPathReason(path: string, context: PathContext): string | undefined {
  if (path === "/") return "the whole file system is never granted";
  if (path === context.home) return "the home directory itself is never granted";
  if (isWithin(context.home, path)) return "it contains the home directory";
  for (const tree of SYSTEM_TREES) {
    if (isWithin(path, tree)) return `${tree} exposes the system and is never granted`;
    if (isWithin(tree, path)) return `it contains ${tree}`;
  }
  if (isWithin(path, context.cacheRoot) || isWithin(context.cacheRoot, path)) {
    return "it holds mcp-run's code cache, which servers must never change";
  }
  for (const secret of HOME_SECRETS) {
    const full = `${context.home}/${secret}`;
    if (isWithin(path, full)) return "it holds credentials, shell start-up files or client configs";
    if (isWithin(full, path)) return `it contains ${full}`;
  }
  return undefined;
}
