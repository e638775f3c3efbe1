/**
 * Cursor: `mcp.json` in `~/.cursor` or the project's `.cursor`, entries under `mcpServers`.
 *
 * @module
 */
import { joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Cursor reads `mcpServers` from `~/.cursor/mcp.json` and the project's `.cursor/mcp.json`
 * (`%USERPROFILE%\.cursor` on Windows). It expands `${env:NAME}` in `command`, `args` and
 * `env` from its own environment, which is how secrets are referenced.
 *
 * @example
 * ```ts
 * import { cursor } from "./cursor.ts";
 * console.assert(cursor.secretReference!("TOKEN", "x") === "${env:TOKEN}");
 * ```
 */
export const cursor: ClientSpec = {
  id: "cursor",
  displayName: "Cursor",
  format: "jsonc",
  scopes: ["user", "project"],
  layout: "map",
  containerKey: "mcpServers",
  envKey: "env",
  secrets: "template",
  expands: true,
  configPath(scope, env) {
    return joinFor(env, this.presenceDir(scope, env), "mcp.json");
  },
  presenceDir(scope, env) {
    return joinFor(env, scope === "project" ? env.cwd : env.home, ".cursor");
  },
  secretReference(name) {
    return "${env:" + name + "}";
  },
  buildEntry(_name, { command, args, env }) {
    return { command, args, env };
  },
  secretHint(names) {
    return `Cursor reads ${names.join(", ")} from the environment it was started from; set ` +
      `${names.length === 1 ? "it" : "them"} there (for example in your shell profile).`;
  },
};
