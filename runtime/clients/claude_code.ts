/**
 * Claude Code: `.mcp.json` in the project or `~/.claude.json`, entries under `mcpServers`.
 *
 * @module
 */
import { joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Claude Code reads project servers from `.mcp.json` and user servers from the top-level
 * `mcpServers` of `~/.claude.json`. Entries are `{type: "stdio", command, args, env}`; it
 * expands `${VAR}` (and `${VAR:-default}`) in `command`, `args` and `env` from its environment,
 * and refuses to load an entry whose variable is unset, so a missing secret is reported rather
 * than passed on empty.
 *
 * @example
 * ```ts
 * import { claudeCode } from "./claude_code.ts";
 * const env = { os: "linux" as const, home: "/home/a", cwd: "/p" };
 * console.assert(claudeCode.configPath("user", env, "x") === "/home/a/.claude.json");
 * console.assert(claudeCode.configPath("project", env, "x") === "/p/.mcp.json");
 * ```
 */
export const claudeCode: ClientSpec = {
  id: "claude-code",
  displayName: "Claude Code",
  format: "jsonc",
  scopes: ["user", "project"],
  layout: "map",
  containerKey: "mcpServers",
  envKey: "env",
  secrets: "template",
  expands: true,
  configPath(scope, env) {
    return scope === "project"
      ? joinFor(env, env.cwd, ".mcp.json")
      : joinFor(env, env.home, ".claude.json");
  },
  presenceDir(scope, env) {
    return joinFor(env, scope === "project" ? env.cwd : env.home, ".claude");
  },
  secretReference(name) {
    return "${" + name + "}";
  },
  buildEntry(_name, { command, args, env }) {
    return { type: "stdio", command, args, env };
  },
  secretHint(names) {
    return `Claude Code reads ${names.join(", ")} from the environment it was started from ` +
      `and will not start the server while ${names.length === 1 ? "it is" : "they are"} unset.`;
  },
};
