/**
 * Launcher commands, the `launcher` form of a client entry: the client starts `mcp-run run` from
 * a pinned, pre-cached copy of mcp-run (a JSR version or a checkout), so neither the network nor
 * the client's registry variables decide which code starts.
 *
 * @module
 */
import type { LaunchCommand } from "./types.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** The JSR package users run as the launcher. */
export const LAUNCHER_PACKAGE = "@sandboxed/mcp-run";

/** Deno's default JSR registry. */
export const DEFAULT_JSR_URL = "https://jsr.io/";

/** A launcher cached for client entries: what to run, and the pinned cache it runs from. */
export interface CachedLauncher {
  /** The module: `jsr:@sandboxed/mcp-run@0.1.0/cli`, or the absolute path of a checkout's CLI. */
  module: string;
  /** The checkout's `deno.json` (none for a JSR launcher, which runs with `--no-config`). */
  config?: string;
  /** The launcher's own folder in mcp-run's cache. */
  dir: string;
  /** The lockfile the launcher was cached with; the entry runs with `--frozen`. */
  lockFile: string;
  /** The launcher's own `DENO_DIR`. */
  denoDir: string;
  /** The registries it was cached from; the entry sets them, whatever the client's are. */
  registries: { JSR_URL: string; NPM_CONFIG_REGISTRY: string };
  /**
   * A folder of saved manifests passed with `--registry` (JSR launchers: a registry name then
   * needs no network at start).
   */
  manifests?: string;
}

/** Options for {@link launcherCommand}. */
export interface LauncherCommandOptions {
  /** What to run: a registry name, or an absolute manifest path. */
  target: string;
  /** mcp-run's cache root, absolute (the client starts from another folder). */
  cacheRoot: string;
  /** The cached launcher (see `resolveLauncher()` and `cacheLauncher()`). */
  launcher: CachedLauncher;
  /** The Deno binary (default: the running one, as an absolute path). */
  deno?: string;
  /** Extra registry sources (`--registry`), absolute or URLs. */
  registrySources?: string[];
  /** Registry mirrors for the server (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
  /** Server arguments given after `--` at install time, passed on after `--`. */
  extraArgs?: string[];
  /** The guard's options to pass on (`--tools`, `--exclude-tools`, `--scan`), as arguments. */
  guardArgs?: string[];
  /**
   * Run the server in a container: `--isolation docker`, or `--isolation gvisor` when
   * `isolation` says so (under the engine's gVisor runtime), with this image if given.
   */
  docker?: { image?: string; isolation?: "docker" | "gvisor" };
}

/**
 * Build `deno run -A --cached-only --frozen --lock=… <launcher> run <target> -p …` for a
 * resolved server. The launcher starts from its own `DENO_DIR` and lockfile with the
 * registries it was cached from written into the entry's environment, so a client's
 * `DENO_DIR`, `JSR_URL` or `NPM_CONFIG_REGISTRY` neither fetches nor breaks anything. The
 * parameters are the resolved ones (absolute, canonical paths), so the entry means the same
 * from any folder. Pure. Secrets and variables are settled separately (see
 * `entryVariables()`).
 *
 * @param server The resolved server.
 * @param options Target, cache root, cached launcher and registry settings.
 * @returns The launch command (its environment pins the launcher's cache; no secrets).
 * @example
 * ```ts
 * import { launcherCommand } from "./launcher_command.ts";
 * const entry = launcherCommand({
 *   name: "memory", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: { dir: ["/data"] },
 * }, {
 *   target: "memory",
 *   cacheRoot: "/c",
 *   deno: "/usr/bin/deno",
 *   launcher: {
 *     module: "/src/mcp-run/runtime/cli.ts", config: "/src/mcp-run/deno.json",
 *     dir: "/c/launcher/l", lockFile: "/c/launcher/l/deno.lock", denoDir: "/c/launcher/l/deno",
 *     registries: { JSR_URL: "https://jsr.io/", NPM_CONFIG_REGISTRY: "https://registry.npmjs.org/" },
 *   },
 * });
 * console.log(entry.args.slice(-6).join(" "));
 * // run memory -p dir=/data --cache /c
 * ```
 */
export function launcherCommand(
  server: ResolvedServer,
  options: LauncherCommandOptions,
): LaunchCommand {
  const { launcher } = options;
  const params = Object.entries(server.params)
    .flatMap(([name, values]) => values.flatMap((v) => ["-p", `${name}=${v}`]));
  const registries = options.registries ?? {};
  const sources = [
    ...(launcher.manifests ? [launcher.manifests] : []),
    ...(options.registrySources ?? []),
  ];
  return {
    command: options.deno ?? Deno.execPath(),
    args: [
      "run",
      "-A",
      "--cached-only",
      "--frozen",
      `--lock=${launcher.lockFile}`,
      launcher.config ? `--config=${launcher.config}` : "--no-config",
      launcher.module,
      "run",
      options.target,
      ...params,
      "--cache",
      options.cacheRoot,
      ...sources.flatMap((s) => ["--registry", s]),
      ...(registries.JSR_URL ? ["--jsr-url", registries.JSR_URL] : []),
      ...(registries.NPM_CONFIG_REGISTRY ? ["--npm-registry", registries.NPM_CONFIG_REGISTRY] : []),
      ...(options.docker ? ["--isolation", options.docker.isolation ?? "docker"] : []),
      ...(options.docker?.image ? ["--image", options.docker.image] : []),
      ...(options.guardArgs ?? []),
      ...(options.extraArgs?.length ? ["--", ...options.extraArgs] : []),
    ],
    env: {
      DENO_DIR: launcher.denoDir,
      JSR_URL: launcher.registries.JSR_URL,
      NPM_CONFIG_REGISTRY: launcher.registries.NPM_CONFIG_REGISTRY,
      DENO_NO_UPDATE_CHECK: "1",
    },
    secrets: [],
  };
}
