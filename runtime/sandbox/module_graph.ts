/**
 * The module graph check for local servers: static imports read files with no permission at
 * all, so every local module must sit inside the server's own folder.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "../_path.ts";
import { isWithin } from "../policy/path_policy.ts";
import { GrantError, type ResolvedServer } from "../policy/resolve.ts";

/** Options for {@linkcode checkModuleGraph}. */
export interface CheckModuleGraphOptions {
  /** The Deno binary. */
  deno: string;
  /** Environment for `deno info` (the pull environment). */
  env: Record<string, string>;
  /** Working directory for `deno info`. */
  cwd: string;
}

/**
 * Refuses a local server whose module graph reaches a `file:` module outside its folder
 * (after resolving symlinks). Runs `deno info --json`, which fetches but executes nothing.
 *
 * @param server A resolved local server (with `localDir`).
 * @param options How to run `deno info`.
 * @throws {GrantError} Naming the first module outside the folder (field `package`).
 * @throws {Error} When `deno info` fails.
 */
export async function checkModuleGraph(
  server: ResolvedServer,
  options: CheckModuleGraphOptions,
): Promise<void> {
  if (!server.localDir) return;
  const out = await new Deno.Command(options.deno, {
    args: ["info", "--json", "--no-config", server.specifier],
    env: options.env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `Cannot read the module graph of "${server.specifier}":\n${
        new TextDecoder().decode(out.stderr).trim()
      }`,
    );
  }
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  for (const module of graph.modules) {
    if (!module.specifier.startsWith("file:")) continue;
    const path = fromFileUrl(module.specifier);
    let real = path;
    try {
      real = Deno.realPathSync(path);
    } catch { /* a missing module fails at run time */ }
    if (!isWithin(real, server.localDir)) {
      throw new GrantError(
        "package",
        `Cannot run "${server.specifier}": it imports "${real}", outside its folder ` +
          `"${server.localDir}". Static imports read files without any permission, so a local ` +
          "server may only import files inside its own folder.",
      );
    }
  }
}
