/**
 * The `launcher` form of a client entry: the client starts `mcp-run run`, so registry
 * updates apply on the next start.
 *
 * @module
 */
import type { LaunchEntry } from "../launch_entry.ts";
import type { ResolvedServer } from "../resolve.ts";

/** The module users run as the launcher. */
export const LAUNCHER = "jsr:@sandboxed/mcp-run/cli";

/** Options for {@link launcherEntry}. */
export interface LauncherEntryOptions {
  /** What to run: a registry name, or an absolute manifest path. */
  target: string;
  /** mcp-run's cache root, absolute (the client starts from another folder). */
  cacheRoot: string;
  /** The Deno binary (default: the running one, as an absolute path). */
  deno?: string;
  /** The launcher module (default {@link LAUNCHER}). */
  launcher?: string;
  /** Extra registry sources (`--registry`), absolute or URLs. */
  registrySources?: string[];
  /** Registry mirrors (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
  /** Server arguments given after `--` at install time, passed on after `--`. */
  extraArgs?: string[];
  /** Run the server in docker (`--isolation docker`), with this image if given. */
  docker?: { image?: string };
}

/**
 * Build `deno run -A <launcher> run <target> -p …` for a resolved server. The parameters are
 * the resolved ones (absolute, canonical paths), so the entry means the same from any folder.
 * Pure. Secrets and variables are settled separately (see `entryVariables()`).
 *
 * @param server The resolved server.
 * @param options Target, cache root, launcher module and registry settings.
 * @returns The launch entry (no environment, no secrets).
 * @example
 * ```ts
 * import { launcherEntry } from "./launcher_entry.ts";
 * const entry = launcherEntry({
 *   name: "memory", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: { dir: ["/data"] },
 * }, { target: "memory", cacheRoot: "/c", deno: "/usr/bin/deno" });
 * console.log(entry.args.join(" "));
 * // run -A jsr:@sandboxed/mcp-run run memory -p dir=/data --cache /c
 * ```
 */
export function launcherEntry(server: ResolvedServer, options: LauncherEntryOptions): LaunchEntry {
  const params = Object.entries(server.params)
    .flatMap(([name, values]) => values.flatMap((v) => ["-p", `${name}=${v}`]));
  const registries = options.registries ?? {};
  return {
    command: options.deno ?? Deno.execPath(),
    args: [
      "run",
      "-A",
      options.launcher ?? LAUNCHER,
      "run",
      options.target,
      ...params,
      "--cache",
      options.cacheRoot,
      ...(options.registrySources ?? []).flatMap((s) => ["--registry", s]),
      ...(registries.JSR_URL ? ["--jsr-url", registries.JSR_URL] : []),
      ...(registries.NPM_CONFIG_REGISTRY ? ["--npm-registry", registries.NPM_CONFIG_REGISTRY] : []),
      ...(options.docker ? ["--isolation", "docker"] : []),
      ...(options.docker?.image ? ["--image", options.docker.image] : []),
      ...(options.extraArgs?.length ? ["--", ...options.extraArgs] : []),
    ],
    env: {},
    secrets: [],
  };
}
