/**
 * The facts client paths depend on, read from the running process.
 *
 * @module
 */
import type { ClientEnvironment, TargetOs } from "./types.ts";

/**
 * Read the OS, home folder, `%APPDATA%`, `$XDG_CONFIG_HOME` and working directory of this
 * process. Requires `--allow-env` unless `env` is given.
 *
 * @param env Variables to read instead of the process environment.
 * @returns The environment for `clientConfigPath()` and `detectClients()`.
 * @throws {TypeError} If no home folder is set.
 * @example
 * ```ts
 * import { readClientEnvironment } from "./client_environment.ts";
 * console.assert(readClientEnvironment().cwd === Deno.cwd());
 * ```
 */
export function readClientEnvironment(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): ClientEnvironment {
  const os: TargetOs = Deno.build.os === "windows"
    ? "windows"
    : Deno.build.os === "darwin"
    ? "darwin"
    : "linux";
  const home = (os === "windows" ? env.USERPROFILE : undefined) ?? env.HOME;
  if (!home) {
    throw new TypeError("Cannot find the home folder: set HOME (USERPROFILE on Windows)");
  }
  return {
    os,
    home,
    appData: env.APPDATA || undefined,
    configHome: env.XDG_CONFIG_HOME || undefined,
    cwd: Deno.cwd(),
  };
}
