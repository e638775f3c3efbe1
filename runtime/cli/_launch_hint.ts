/**
 * Launch hints: which server a command line started last time, so that the next start of the
 * same command line (an MCP client starts the same one every time) can begin that server's
 * cache check while the CLI's own modules still load. A hint only chooses what to check early:
 * the check counts only for a server that resolves to the same cache folder and specifier, and
 * a wrong or missing hint just means the check starts at its usual time.
 *
 * @module
 */
import { dirname, join } from "../_path.ts";
import { cacheRoot, serverDirs } from "../sandbox/cache_dirs.ts";
import { fnv1a32 } from "../sandbox/_fnv1a.ts";
import { type PendingSealCheck, startSealCheck } from "../sandbox/_cache_seal.ts";

/** A command line's launch hint file, and the check started from what it names. */
export interface LaunchHint {
  /** The hint file of this command line (in the cache root's `launches/` folder). */
  file: string;
  /** The seal check of the server the command line started last time, when there was one. */
  sealCheck?: PendingSealCheck;
}

/**
 * Reads the launch hint of a command line and starts the cache check of the server it names.
 * Cheap and synchronous up to the check's start; never throws.
 *
 * @param argv The command line (after the program name).
 * @param env The environment (the default cache root comes from it).
 * @returns The hint; `undefined` when no cache root can be known.
 *
 * @example
 * ```ts ignore
 * import { readLaunchHint } from "./_launch_hint.ts";
 * const hint = readLaunchHint(Deno.args, Deno.env.toObject());
 * ```
 */
export function readLaunchHint(
  argv: string[],
  env: Record<string, string>,
): LaunchHint | undefined {
  let root: string;
  try {
    root = cacheRootOf(argv, env);
  } catch {
    return undefined;
  }
  const key = fnv1a32(JSON.stringify([Deno.cwd(), argv]), "utf-8");
  const file = join(root, "launches", `${key}.json`);
  try {
    const hint = JSON.parse(Deno.readTextFileSync(file));
    if (typeof hint?.name !== "string" || typeof hint.specifier !== "string") return { file };
    return {
      file,
      sealCheck: startSealCheck(hint.specifier, serverDirs(hint.name, hint.specifier, root)),
    };
  } catch {
    return { file };
  }
}

/** The cache root the command line names (`--cache`, as the CLI reads it), else the default. */
function cacheRootOf(argv: string[], env: Record<string, string>): string {
  for (let i = 0; i < argv.length && argv[i] !== "--"; i++) {
    const given = argv[i] === "--cache"
      ? argv[i + 1]
      : argv[i].startsWith("--cache=")
      ? argv[i].slice("--cache=".length)
      : undefined;
    if (given) return cacheRoot({ given });
  }
  return cacheRoot({ env });
}

/**
 * Records the server a command line started, for its next start (see
 * {@linkcode readLaunchHint}); nothing is written when the hint already names it. Never throws:
 * a hint is only a head start.
 *
 * @param hint The command line's hint.
 * @param server The server's name and specifier.
 * @param root The cache root the server's cache is in.
 */
export async function rememberLaunch(
  hint: LaunchHint | undefined,
  server: { name: string; specifier: string },
  root: string,
): Promise<void> {
  if (!hint) return;
  const dirs = serverDirs(server.name, server.specifier, root);
  if (hint.sealCheck?.dir === dirs.dir && hint.sealCheck.specifier === server.specifier) return;
  try {
    await Deno.mkdir(dirname(hint.file), { recursive: true });
    const temp = `${hint.file}.${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(
      temp,
      JSON.stringify({ name: server.name, specifier: server.specifier }),
    );
    await Deno.rename(temp, hint.file);
  } catch { /* no hint: the next start checks at the usual time */ }
}
