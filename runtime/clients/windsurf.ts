/**
 * Windsurf: `~/.codeium/windsurf/mcp_config.json`, entries under `mcpServers`.
 *
 * @module
 */
import { joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Windsurf (Cascade) reads `mcpServers` from `~/.codeium/windsurf/mcp_config.json`
 * (`%USERPROFILE%\.codeium\windsurf` on Windows). It expands `${env:NAME}` in `command`,
 * `args`, `env`, `serverUrl`, `url` and `headers`, which is how secrets are referenced.
 *
 * @example
 * ```ts
 * import { windsurf } from "./windsurf.ts";
 * const env = { os: "windows" as const, home: "C:\\Users\\a", cwd: "C:\\p" };
 * console.assert(
 *   windsurf.configPath("user", env, "x") === "C:\\Users\\a\\.codeium\\windsurf\\mcp_config.json",
 * );
 * ```
 */
export const windsurf: ClientSpec = {
  id: "windsurf",
  displayName: "Windsurf",
  format: "jsonc",
  scopes: ["user"],
  layout: "map",
  containerKey: "mcpServers",
  envKey: "env",
  secrets: "template",
  expands: true,
  configPath(_scope, env) {
    return joinFor(env, this.presenceDir("user", env), "mcp_config.json");
  },
  presenceDir(_scope, env) {
    return joinFor(env, env.home, ".codeium", "windsurf");
  },
  secretReference(name) {
    return "${env:" + name + "}";
  },
  buildEntry(_name, { command, args, env }) {
    return { command, args, env };
  },
  secretHint(names) {
    return `Windsurf reads ${names.join(", ")} from the environment it was started from; set ` +
      `${names.length === 1 ? "it" : "them"} there (for example in your shell profile).`;
  },
};
