/**
 * The launch command a client config entry holds for a resolved server, in one of three
 * forms.
 *
 * @module
 */
import { serverDirs } from "../cache_dirs.ts";
import { serverEnv } from "../child_env.ts";
import { denoRunArgs } from "../flags.ts";
import type { Manifest } from "../manifest.ts";
import type { ResolvedServer } from "../resolve.ts";
import type { McpEntry, SecretSpec } from "./types.ts";

/**
 * How the entry starts the server:
 * - `deno`: a self-contained `deno run <flags> <package>`, the entry itself stating what the
 *   server may touch;
 * - `launcher`: `deno run -A <mcp-run> run <name> -p …`, so registry updates apply;
 * - `docker`: a self-contained `docker run … denoland/deno run <flags> <package>`.
 */
export type EntryForm = "deno" | "launcher" | "docker";

/** Every form, in the order the CLI lists them. */
export const ENTRY_FORMS: readonly EntryForm[] = ["deno", "launcher", "docker"];

/** Options for {@link launchEntry}. */
export interface LaunchEntryOptions {
  /** The form of the command. */
  form: Exclude<EntryForm, "docker">;
  /** The manifest the server was resolved from (for secret descriptions). */
  manifest: Manifest;
  /** mcp-run's cache root (where pull put the code and lockfile). */
  cacheRoot: string;
  /** What the launcher form runs: a registry name or an absolute manifest path. */
  target: string;
  /** Parameters as given with `-p` (launcher form). */
  params?: Record<string, string[]>;
  /** Extra server arguments after `--` (launcher form). */
  extraArgs?: string[];
  /** Deno binary the entry starts (default: the running one, as an absolute path). */
  deno?: string;
  /** Module the launcher form runs (default `jsr:@sandboxed/mcp-run`). */
  launcher?: string;
  /** Extra registry sources the launcher form passes as `--registry`. */
  registrySources?: string[];
  /** Registry mirrors (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
  /**
   * Environment at install time: plain (non-secret) declared variables set here are written
   * as values. Secret values are never read from it, only whether optional ones are set.
   */
  source?: Record<string, string>;
}

/** The launcher module users run. */
export const LAUNCHER = "jsr:@sandboxed/mcp-run";

/**
 * Build the client-independent launch command for a resolved server. Pure: creates nothing.
 *
 * Secrets become {@link McpEntry.secrets} (the client references them through its own
 * mechanism); so do required plain variables with no value at install time. Optional secrets
 * are included when set at install time (a client such as Claude Code refuses to start a
 * server whose referenced variable is unset).
 *
 * @param server The resolved server (pulled into `cacheRoot` before the entry is used).
 * @param options Form, manifest, cache root, target and launcher settings.
 * @returns The command, arguments, plain environment and secret names.
 * @throws {RangeError} From the flag builders when a grant cannot be written as a flag.
 * @example
 * ```ts ignore
 * import { launchEntry } from "./launch_entry.ts";
 * const entry = launchEntry(server, { form: "deno", manifest, cacheRoot, target: "memory" });
 * console.log(entry.command, entry.args.includes("--cached-only"));
 * ```
 */
export function launchEntry(server: ResolvedServer, options: LaunchEntryOptions): McpEntry {
  const source = options.source ?? {};
  const described = { ...options.manifest.env, ...options.manifest.secrets };
  const secrets: SecretSpec[] = [];
  // Plain values known now; `PREFIX_*` patterns are not copied (a wide pattern could sweep
  // credentials into the file), the server still reads them from the client's environment.
  const plain: Record<string, string> = {};
  for (const name of server.env) {
    if (name.endsWith("_*") || name in server.envValues) continue;
    const secret = server.secrets.includes(name);
    if (!secret && source[name] !== undefined) plain[name] = source[name];
    else if (server.requiredEnv.includes(name) || (secret && source[name] !== undefined)) {
      secrets.push({ name, description: described[name]?.description ?? name });
    }
  }
  for (const name of ["DENO_CERT", "DENO_TLS_CA_STORE"]) {
    if (source[name] !== undefined) plain[name] = source[name];
  }
  const deno = options.deno ?? Deno.execPath();

  if (options.form === "launcher") {
    const params = Object.entries(options.params ?? {})
      .flatMap(([k, vs]) => vs.flatMap((v) => ["-p", `${k}=${v}`]));
    const mirrors = [
      ...(options.registries?.JSR_URL ? ["--jsr-url", options.registries.JSR_URL] : []),
      ...(options.registries?.NPM_CONFIG_REGISTRY
        ? ["--npm-registry", options.registries.NPM_CONFIG_REGISTRY]
        : []),
    ];
    const extra = options.extraArgs?.length ? ["--", ...options.extraArgs] : [];
    return {
      command: deno,
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
        ...mirrors,
        ...extra,
      ],
      env: plain,
      secrets,
    };
  }

  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const env = serverEnv({ ...server, requiredEnv: [] }, {
    home: dirs.home,
    denoDir: dirs.denoDir,
    source: plain,
    registries: options.registries,
  });
  return {
    command: deno,
    args: denoRunArgs(server, { lockFile: dirs.lockFile }),
    env,
    secrets,
  };
}
