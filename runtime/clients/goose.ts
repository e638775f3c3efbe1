/**
 * goose: `config.yaml`, entries under `extensions`.
 *
 * @module
 */
import { appDataDir, configHomeDir, joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/** Seconds goose waits for a tool call, the value `goose configure` writes. */
const GOOSE_TIMEOUT = 300;

/**
 * goose reads `extensions` from `config.yaml` (`~/.config/goose` on Linux and macOS,
 * `%APPDATA%\Block\goose\config` on Windows). A stdio extension is
 * `{enabled, type: stdio, name, description, cmd, args, envs, env_keys, timeout}`. Secrets are
 * listed by name in `env_keys`: goose resolves each from its environment or its keyring
 * (`goose configure`), so no value is written.
 *
 * @example
 * ```ts
 * import { goose } from "./goose.ts";
 * const env = { os: "windows" as const, home: "C:\\Users\\a", cwd: "C:\\p" };
 * console.assert(
 *   goose.configPath("user", env, "x") ===
 *     "C:\\Users\\a\\AppData\\Roaming\\Block\\goose\\config\\config.yaml",
 * );
 * ```
 */
export const goose: ClientSpec = {
  id: "goose",
  displayName: "goose",
  format: "yaml",
  scopes: ["user"],
  layout: "map",
  containerKey: "extensions",
  envKey: "envs",
  secrets: "env-keys",
  expands: true,
  configPath(_scope, env) {
    return joinFor(env, this.presenceDir("user", env), "config.yaml");
  },
  presenceDir(_scope, env) {
    switch (env.os) {
      case "windows":
        return joinFor(env, appDataDir(env), "Block", "goose", "config");
      case "darwin":
        return joinFor(env, env.home, ".config", "goose");
      case "linux":
        return joinFor(env, configHomeDir(env), "goose");
    }
  },
  buildEntry(name, { command, args, env, secretNames, description }) {
    return {
      enabled: true,
      type: "stdio",
      name,
      description,
      cmd: command,
      args,
      envs: env,
      env_keys: secretNames,
      timeout: GOOSE_TIMEOUT,
    };
  },
  secretHint(names) {
    return `goose resolves ${names.join(", ")} from its environment or its keyring; store ` +
      `${names.length === 1 ? "it" : "them"} with \`goose configure\` or set ` +
      `${names.length === 1 ? "it" : "them"} before starting goose.`;
  },
};
