/**
 * Claude Desktop: `claude_desktop_config.json`, entries under `mcpServers`.
 *
 * @module
 */
import { electronAppDataDir, joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Claude Desktop reads `mcpServers` from `claude_desktop_config.json` in its application-data
 * folder (`~/Library/Application Support/Claude` on macOS, `%APPDATA%\Claude` on Windows,
 * `~/.config/Claude` on Linux). It has no secret mechanism and starts servers with a minimal
 * environment, so a secret could only be written in plain text: mcp-run does not write it.
 *
 * @example
 * ```ts
 * import { claudeDesktop } from "./claude_desktop.ts";
 * const file = claudeDesktop.configPath("user", { os: "darwin", home: "/Users/a", cwd: "/" }, "x");
 * console.assert(file === "/Users/a/Library/Application Support/Claude/claude_desktop_config.json");
 * ```
 */
export const claudeDesktop: ClientSpec = {
  id: "claude-desktop",
  displayName: "Claude Desktop",
  format: "jsonc",
  scopes: ["user"],
  layout: "map",
  containerKey: "mcpServers",
  envKey: "env",
  secrets: "none",
  expands: false,
  configPath(_scope, env) {
    return joinFor(env, this.presenceDir("user", env), "claude_desktop_config.json");
  },
  presenceDir(_scope, env) {
    return joinFor(env, electronAppDataDir(env), "Claude");
  },
  buildEntry(_name, { command, args, env }) {
    return { command, args, env };
  },
  secretHint(names) {
    return `Claude Desktop has no way to reference a secret, so ${names.join(", ")} ` +
      `was not written to its configuration; use --form docker with --env-file, which keeps ` +
      `the values in a file readable only by you (mode 0600).`;
  },
};
