/**
 * Zed: `settings.json`, entries under `context_servers`.
 *
 * @module
 */
import { appDataDir, configHomeDir, joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Zed reads `context_servers` from its `settings.json` (`~/.config/zed` on Linux and macOS,
 * `%APPDATA%\Zed` on Windows) and from the project's `.zed/settings.json`. A custom stdio
 * server is `{source: "custom", command, args, env}`: `source` is required by older releases
 * and ignored by newer ones, `args` is required by all. Zed expands no variables and has no
 * secret store; a server inherits the environment Zed was started from, so secrets are left
 * out of the file and read from there.
 *
 * @example
 * ```ts
 * import { zed } from "./zed.ts";
 * const env = { os: "darwin" as const, home: "/Users/a", cwd: "/p" };
 * console.assert(zed.configPath("user", env, "x") === "/Users/a/.config/zed/settings.json");
 * ```
 */
export const zed: ClientSpec = {
  id: "zed",
  displayName: "Zed",
  format: "jsonc",
  scopes: ["user", "project"],
  layout: "map",
  containerKey: "context_servers",
  envKey: "env",
  secrets: "none",
  expands: false,
  configPath(scope, env) {
    return joinFor(env, this.presenceDir(scope, env), "settings.json");
  },
  presenceDir(scope, env) {
    if (scope === "project") return joinFor(env, env.cwd, ".zed");
    switch (env.os) {
      case "windows":
        return joinFor(env, appDataDir(env), "Zed");
      case "darwin":
        return joinFor(env, env.home, ".config", "zed");
      case "linux":
        return joinFor(env, configHomeDir(env), "zed");
    }
  },
  buildEntry(_name, { command, args, env }) {
    return { source: "custom", command, args, env };
  },
  secretHint(names) {
    return `Zed has no way to reference a secret, so ${names.join(", ")} was not written to ` +
      `its settings; the server inherits ${names.length === 1 ? "it" : "them"} from the ` +
      `environment Zed was started from, or use --form docker with --env-file, which keeps ` +
      `the values in a file readable only by you (mode 0600).`;
  },
};
