/**
 * Continue: one YAML block file per server in `.continue/mcpServers/`.
 *
 * @module
 */
import { joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * Continue loads every file in `.continue/mcpServers/` of the workspace and of the home
 * folder (`~/.continue/mcpServers/`). mcp-run writes `<name>.yaml`, a block with the required
 * `name`, `version` and `schema` fields and an `mcpServers` list holding one
 * `{name, type: stdio, command, args, env}` item. Secrets are `${{ secrets.NAME }}`, which
 * Continue fills from `.env` files in `.continue/` or the workspace, or from its hub.
 *
 * @example
 * ```ts
 * import { continueDev } from "./continue.ts";
 * const env = { os: "linux" as const, home: "/home/a", cwd: "/p" };
 * console.assert(
 *   continueDev.configPath("project", env, "memory") === "/p/.continue/mcpServers/memory.yaml",
 * );
 * ```
 */
export const continueDev: ClientSpec = {
  id: "continue",
  displayName: "Continue",
  format: "yaml",
  scopes: ["user", "project"],
  layout: "file-list",
  containerKey: "mcpServers",
  envKey: "env",
  secrets: "template",
  expands: true,
  configPath(scope, env, name) {
    return joinFor(env, this.presenceDir(scope, env), "mcpServers", `${name}.yaml`);
  },
  presenceDir(scope, env) {
    return joinFor(env, scope === "project" ? env.cwd : env.home, ".continue");
  },
  secretReference(name) {
    return "${{ secrets." + name + " }}";
  },
  buildEntry(name, { command, args, env }) {
    return { name, type: "stdio", command, args, env };
  },
  secretHint(names) {
    return `Continue fills ${
      names.join(", ")
    } from \`.continue/.env\` (or \`~/.continue/.env\`); ` +
      `add ${names.map((n) => `${n}=…`).join(", ")} there.`;
  },
};
