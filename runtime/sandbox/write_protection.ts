/**
 * Write protection inside write grants: the files and folders that make code run elsewhere (a
 * git hook, an editor's task, an agent's MCP config, a shell's start-up file, a CI workflow)
 * stay read-only even where the server may write, unless the user granted one of them
 * explicitly. Natively and for Deno in docker, `--deny-write` (Deno's deny wins over allow, and
 * covers paths that do not exist yet and everything below them); in docker, also read-only mounts
 * over the ones that exist (the only wall for container packages, which have no Deno).
 *
 * Deno checks only the path an operation names: renaming a folder that holds a protected path
 * (`.git` of `.git/hooks`) is not a write to that path, and a read-only mount over `.git/hooks`
 * moves with a renamed `.git`. So the holding folders are denied, and in docker mounted, whole
 * (see {@linkcode foldProtectedPaths}): a mount over a folder cannot be renamed away (EBUSY).
 * What remains natively: a folder deeper in a grant that holds a repository (`sub` of
 * `sub/.git`) can be renamed and written inside; everywhere: protected paths created deeper than
 * the top of a grant after launch are not found, and a container package's protected paths that
 * do not exist at launch are not protected (see {@linkcode absentProtectedNote}).
 *
 * @module
 */
import { isWithin } from "../policy/path_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/**
 * Paths, relative to a write grant, that are denied to writes. Each one runs code, or decides
 * which code runs, outside the sandbox the next time a person or a tool opens the folder:
 * - git: `.git/hooks` (run on commit, checkout, merge), `.git/config` (`core.hooksPath`,
 *   `core.fsmonitor`, `core.sshCommand`, aliases), `.husky` (hooks run through `hooksPath`),
 *   `.pre-commit-config.yaml` (commands the pre-commit tool runs);
 * - editors and agents: `.vscode` (tasks run on folder open, settings), `.idea` (run
 *   configurations), `.zed`, `.cursor`, `.windsurf`, `.claude` (hooks, commands), `.gemini`,
 *   `.continue`, `.mcp.json` (project MCP servers, which are programs), `.devcontainer`
 *   (post-create commands);
 * - CI: `.github/workflows`, `.gitlab-ci.yml`;
 * - shells and environment loaders: `.envrc` (direnv), `.bashrc`, `.bash_profile`,
 *   `.bash_login`, `.profile`, `.zshrc`, `.zprofile`, `.zshenv`, `.zlogin`, `.config/fish`;
 * - package managers: `.npmrc` (`script-shell`, registry), `.yarnrc.yml` (`yarnPath` runs a
 *   file), `.pnpmfile.cjs` (run by pnpm).
 *
 * Build files that run code on purpose (`package.json` scripts, `Makefile`) are the work a
 * write grant is for, and are not in the list.
 */
export const PROTECTED_WRITE_PATHS: readonly string[] = [
  ".git/hooks",
  ".git/config",
  ".husky",
  ".pre-commit-config.yaml",
  ".vscode",
  ".idea",
  ".zed",
  ".cursor",
  ".windsurf",
  ".claude",
  ".gemini",
  ".continue",
  ".mcp.json",
  ".devcontainer",
  ".github/workflows",
  ".gitlab-ci.yml",
  ".envrc",
  ".bashrc",
  ".bash_profile",
  ".bash_login",
  ".profile",
  ".zshrc",
  ".zprofile",
  ".zshenv",
  ".zlogin",
  ".config/fish",
  ".npmrc",
  ".yarnrc.yml",
  ".pnpmfile.cjs",
];

/** The first names of the protected paths: a folder holding one may hold a protected path. */
const FIRST_NAMES = new Set(PROTECTED_WRITE_PATHS.map((p) => p.split("/")[0]));

/**
 * The protected paths at the top of each write grant (whether they exist or not), minus those
 * the user granted explicitly: a write grant equal to a protected path or inside one lifts that
 * protection. Pure.
 *
 * @param write The canonical write grants.
 * @param found Protected paths found deeper in the grants (see {@linkcode findNestedProtected}).
 * @param granted Every write grant as given, nested ones included (default `write`).
 * @returns The paths to deny, sorted, each once.
 *
 * @example
 * ```ts
 * import { protectedWritePaths } from "./write_protection.ts";
 * const paths = protectedWritePaths(["/repo"], [], ["/repo", "/repo/.vscode"]);
 * console.log(paths.includes("/repo/.git/hooks"), paths.includes("/repo/.vscode")); // true false
 * ```
 */
export function protectedWritePaths(
  write: readonly string[],
  found: string[] = [],
  granted: readonly string[] = write,
): string[] {
  const all = [
    ...write.flatMap((grant) => PROTECTED_WRITE_PATHS.map((p) => joinUnder(grant, p))),
    ...found,
  ];
  const explicit = (path: string) => granted.some((grant) => isWithin(grant, path));
  return [...new Set(all)].filter((path) => !explicit(path)).sort();
}

/** Options for {@linkcode findNestedProtected}. */
export interface FindNestedProtectedOptions {
  /** Most directory entries read per grant (default 20000); the rest is not scanned. */
  limit?: number;
}

/** What {@linkcode findNestedProtected} found. */
export interface NestedProtected {
  /** Protected paths that exist below the top of a grant (`sub/.git/hooks`, `a/b/.vscode`). */
  paths: string[];
  /** The grants that were too large to scan whole. */
  truncated: string[];
  /**
   * Protected paths found whose path holds a comma: no Deno flag (comma-separated) or docker
   * `--mount` can name them, so they stay writable and a note must say so.
   */
  unnamable: string[];
}

/** Folders whose insides are not scanned: huge, and never a project's own configuration. */
const SKIPPED = new Set(["node_modules", ".git"]);

/**
 * Finds the protected paths deeper in the write grants, so that a repository two folders down in
 * a granted tree keeps its hooks: Deno denies exact paths (and what is below them), not names
 * anywhere in a tree. Only what exists at launch is found; a folder the server creates later
 * (a new `sub/.git`) is protected only at the top of a grant.
 *
 * Reads the file system; symlinks are not followed (grants hold no links leading out).
 *
 * @param write The canonical write grants.
 * @param options The scan's bound.
 * @returns The paths found, the grants too large to scan whole, and the paths no flag can name.
 *
 * @example
 * ```ts ignore
 * import { findNestedProtected } from "./write_protection.ts";
 * console.log(findNestedProtected(["/home/ada/projects"]).paths);
 * // ["/home/ada/projects/site/.git/config", "/home/ada/projects/site/.git/hooks", …]
 * ```
 */
export function findNestedProtected(
  write: readonly string[],
  options: FindNestedProtectedOptions = {},
): NestedProtected {
  const paths: string[] = [];
  const truncated: string[] = [];
  for (const grant of write) {
    let budget = options.limit ?? 20000;
    const queue = [grant];
    while (queue.length > 0) {
      const dir = queue.shift()!;
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dir)];
      } catch {
        continue; // a file, or unreadable: nothing below it to protect
      }
      budget -= entries.length;
      if (budget < 0) {
        truncated.push(grant);
        break;
      }
      const names = new Set(entries.map((e) => e.name));
      if (dir !== grant) paths.push(...protectedIn(dir, names));
      for (const entry of entries) {
        if (entry.isDirectory && !SKIPPED.has(entry.name) && !FIRST_NAMES.has(entry.name)) {
          queue.push(joinUnder(dir, entry.name));
        }
      }
    }
  }
  // A path with a comma cannot be written in a Deno flag; the caller says it stays writable.
  return {
    paths: paths.filter((p) => !p.includes(",")),
    truncated,
    unnamable: paths.filter((p) => p.includes(",")),
  };
}

/** The protected paths of one folder whose first names are among its entries. */
function protectedIn(dir: string, names: Set<string>): string[] {
  return PROTECTED_WRITE_PATHS.filter((p) => names.has(p.split("/")[0])).map((p) =>
    joinUnder(dir, p)
  );
}

/** The folder a protected path was found in (`/r/a` of `/r/a/.git/hooks`). */
function holderOf(path: string): string {
  const relative = PROTECTED_WRITE_PATHS.find((p) => path.endsWith(`/${p}`)) ?? "";
  return path.slice(0, path.length - relative.length - 1);
}

function joinUnder(dir: string, relative: string): string {
  return dir === "/" ? `/${relative}` : `${dir}/${relative}`;
}

/**
 * Folds protected paths two levels deep (`.git/hooks`, `.git/config`, `.github/workflows`,
 * `.config/fish`) into the folder that holds them (`.git`), unless that folder is kept: Deno
 * checks only the path an operation names, so a server could rename `.git` away, write its
 * hooks and rename it back, or build a `.git` elsewhere and rename it into place; denying the
 * folder itself stops both. A folder holding an explicit grant is never folded (the deny would
 * win over the grant). In docker the folder is mounted read-only whole for the same reason: a
 * mount over `.git/hooks` moves with a renamed `.git`, a mount over `.git` cannot be renamed. Pure.
 *
 * @param paths Protected paths (see {@linkcode protectedWritePaths}).
 * @param granted Every write grant as given.
 * @returns The paths to deny, sorted, each once.
 *
 * @example
 * ```ts
 * import { foldProtectedPaths } from "./write_protection.ts";
 * console.log(foldProtectedPaths(["/r/.envrc", "/r/.git/config", "/r/.git/hooks"], ["/r"]));
 * // ["/r/.envrc", "/r/.git"]
 * ```
 */
export function foldProtectedPaths(
  paths: readonly string[],
  granted: readonly string[],
): string[] {
  const folded = paths.map((path) => {
    const nested = PROTECTED_WRITE_PATHS.find((p) => p.includes("/") && path.endsWith(`/${p}`));
    if (!nested) return path;
    const folder = path.slice(0, path.length - nested.length + nested.indexOf("/"));
    const holdsGrant = granted.some((grant) => isWithin(grant, folder));
    return holdsGrant ? path : folder;
  });
  return [...new Set(folded)].sort();
}

/** Options for {@linkcode serverProtectedPaths}. */
export interface ServerProtectedPathsOptions {
  /** Where the note on a grant too large to scan goes (default: stderr). */
  note?: (line: string) => void;
}

/**
 * What each resolved server's grants were found to hold: `serve` plans every session from the
 * same resolved server, and the walk (up to 20000 entries per grant, synchronous) need not block
 * each new session again. A new resolve (a new launch) walks again.
 */
const scanned = new WeakMap<object, string[]>();

/**
 * Every protected path inside a server's write grants: at the top of each grant and deeper
 * (see {@linkcode findNestedProtected}), minus those the user granted explicitly, folded as
 * {@linkcode foldProtectedPaths} says. The grants are scanned once per resolved server (one
 * launch): later plans of the same object (each `serve` session) reuse the result, notes
 * included, which are not repeated. A grant too large to scan whole is named in a note: what
 * lies deeper in it is protected only where found; a folder whose path holds a comma is named in
 * a note too, as what is in it stays writable.
 *
 * Reads the file system.
 *
 * @param server The server's write grants (as folded, and as given).
 * @param options Where the note goes.
 * @returns The paths to deny, sorted.
 *
 * @example
 * ```ts ignore
 * import { serverProtectedPaths } from "./write_protection.ts";
 * console.log(serverProtectedPaths({ write: ["/repo"] }).includes("/repo/.git")); // true
 * ```
 */
export function serverProtectedPaths(
  server: Pick<ResolvedServer, "write" | "writeGiven">,
  options: ServerProtectedPathsOptions = {},
): string[] {
  const known = scanned.get(server);
  if (known) return [...known];
  const { paths, truncated, unnamable } = findNestedProtected(server.write);
  const note = options.note ?? ((line: string) => console.error(line));
  const folders = [...new Set(unnamable.map(holderOf))];
  if (folders.length > 0) {
    note(
      `mcp-run: ${folders.map((f) => `"${f}"`).join(", ")} holds git hooks, editor or shell ` +
        "files that stay writable: a path with a comma cannot be written in Deno's or docker's " +
        "flags. Rename the folder without the comma, or grant the folders beside it instead.",
    );
  }
  for (const grant of truncated) {
    note(
      `mcp-run: "${grant}" is too large to scan whole for git hooks, editor and shell files ` +
        "deeper down: those at its top are write-protected, deeper ones only where found. " +
        "Grant the project folders themselves to protect each.",
    );
  }
  const granted = server.writeGiven ?? server.write;
  const denied = foldProtectedPaths(protectedWritePaths(server.write, paths, granted), granted);
  scanned.set(server, denied);
  return [...denied];
}

/**
 * The protected paths that exist, for read-only mounts over them in a container that has no
 * Deno to deny them (a `pypi:` or `oci:` server): a mount needs something to mount, so one that
 * does not exist yet is not protected there.
 *
 * Reads the file system.
 *
 * @param denied The protected paths of a server's write grants (see
 *   {@linkcode serverProtectedPaths}).
 * @returns Those that exist, sorted.
 *
 * @example
 * ```ts ignore
 * import { existingProtectedPaths, serverProtectedPaths } from "./write_protection.ts";
 * console.log(existingProtectedPaths(serverProtectedPaths({ write: ["/repo"] })));
 * // ["/repo/.git/config", "/repo/.git/hooks"]
 * ```
 */
export function existingProtectedPaths(denied: readonly string[]): string[] {
  return denied.filter((path) => {
    try {
      const info = Deno.lstatSync(path);
      return info.isFile || info.isDirectory;
    } catch {
      return false;
    }
  });
}

/**
 * The note for a container package whose write grants lack some protected paths at launch: the
 * container has no Deno to deny them, and a read-only mount needs a source and a mount point,
 * which docker would create in the user's folder (an empty, root-owned `.mcp.json` or
 * `.gitlab-ci.yml` that tools then read and `git status` shows). So they stay writable, and the
 * note says so and how to protect them.
 *
 * @param denied The protected paths of the server's write grants (see
 *   {@linkcode serverProtectedPaths}).
 * @param existing Those that exist (see {@linkcode existingProtectedPaths}).
 * @returns The note, or `undefined` when every protected path exists.
 *
 * @example
 * ```ts
 * import { absentProtectedNote } from "./write_protection.ts";
 * console.log(absentProtectedNote(["/r/.git", "/r/.mcp.json"], ["/r/.git"])?.includes(".mcp.json"));
 * // true
 * ```
 */
export function absentProtectedNote(
  denied: readonly string[],
  existing: readonly string[],
): string | undefined {
  const absent = denied.filter((path) => !existing.includes(path));
  if (absent.length === 0) return undefined;
  const shown = absent.slice(0, 4).join(", ") + (absent.length > 4 ? ", …" : "");
  return `mcp-run: ${absent.length} write-protected paths in the grants do not exist yet ` +
    `(${shown}): a container server has no Deno to deny them, so it could create them. ` +
    "Create those you use (an empty .mcp.json, .vscode, .claude) before launch to have them " +
    "mounted read-only, or run a Deno server.";
}
