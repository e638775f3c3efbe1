// Path helpers shared by the client specs: every path is computed for the target OS.
import { posix, win32 } from "node:path";
import type { ClientEnvironment } from "./types.ts";

/** Join path segments with the separator of the target OS. */
export function joinFor(env: ClientEnvironment, ...parts: string[]): string {
  return (env.os === "windows" ? win32 : posix).join(...parts);
}

/** Windows `%APPDATA%`, defaulting to `<home>\AppData\Roaming`. */
export function appDataDir(env: ClientEnvironment): string {
  return env.appData ?? win32.join(env.home, "AppData", "Roaming");
}

/** Linux `$XDG_CONFIG_HOME`, defaulting to `<home>/.config`. */
export function configHomeDir(env: ClientEnvironment): string {
  return env.configHome ?? posix.join(env.home, ".config");
}

/**
 * The per-user application-data folder Electron apps use: `~/Library/Application Support` on
 * macOS, `%APPDATA%` on Windows, `$XDG_CONFIG_HOME` on Linux.
 */
export function electronAppDataDir(env: ClientEnvironment): string {
  switch (env.os) {
    case "darwin":
      return posix.join(env.home, "Library", "Application Support");
    case "windows":
      return appDataDir(env);
    case "linux":
      return configHomeDir(env);
  }
}
