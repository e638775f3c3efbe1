/**
 * VS Code: `mcp.json` (user profile or `.vscode/`), entries under `servers`, secrets as
 * `inputs`.
 *
 * @module
 */
import { electronAppDataDir, joinFor } from "./_paths.ts";
import type { ClientSpec } from "./types.ts";

/**
 * VS Code reads `servers` from `.vscode/mcp.json` in the workspace and from `mcp.json` in the
 * user profile (`Code/User/` in its application-data folder). Each stdio entry is
 * `{type: "stdio", command, args, env}`. Secrets are `inputs` of type `promptString` with
 * `password: true`, referenced as `${input:<id>}`: VS Code prompts once and keeps the value in
 * its secret storage, never in the file.
 *
 * @example
 * ```ts
 * import { vscode } from "./vscode.ts";
 * const env = { os: "linux" as const, home: "/home/a", cwd: "/p" };
 * console.assert(vscode.configPath("project", env, "x") === "/p/.vscode/mcp.json");
 * console.assert(vscode.configPath("user", env, "x") === "/home/a/.config/Code/User/mcp.json");
 * ```
 */
export const vscode: ClientSpec = {
  id: "vscode",
  displayName: "VS Code",
  format: "jsonc",
  scopes: ["user", "project"],
  layout: "map",
  containerKey: "servers",
  envKey: "env",
  secrets: "input",
  expands: true,
  configPath(scope, env) {
    return joinFor(env, this.presenceDir(scope, env), "mcp.json");
  },
  presenceDir(scope, env) {
    return scope === "project"
      ? joinFor(env, env.cwd, ".vscode")
      : joinFor(env, electronAppDataDir(env), "Code", "User");
  },
  secretReference(name, entryName) {
    return "${input:" + inputId(entryName, name) + "}";
  },
  buildEntry(_name, { command, args, env }) {
    return { type: "stdio", command, args, env };
  },
  secretHint(names) {
    return `VS Code prompts for ${names.join(", ")} when the server first starts and keeps ` +
      `the values in its secret storage.`;
  },
};

/**
 * Id of the VS Code input holding secret `name` of entry `entryName`.
 * @param entryName Entry (server) name.
 * @param name Secret name.
 * @returns `<entryName>-<name>`, unique per entry so two servers never share a prompt.
 */
export function inputId(entryName: string, name: string): string {
  return `${entryName}-${name}`;
}
