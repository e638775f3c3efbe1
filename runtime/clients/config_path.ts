/**
 * Where a client keeps the configuration for a scope.
 *
 * @module
 */
import { getClient } from "./registry.ts";
import type { ClientEnvironment, ClientId, ClientSpec, ConfigScope } from "./types.ts";

/** Options for {@link clientConfigPath}. */
export interface ClientConfigPathOptions {
  /** User or project file; defaults to the client's first scope. */
  scope?: ConfigScope;
  /** OS, home, `%APPDATA%` and working directory to compute the path for. */
  environment: ClientEnvironment;
  /** Entry name (Continue keeps one file per entry). */
  name: string;
}

/**
 * The configuration file `client` reads for a scope. Pure: computes, never touches disk, so
 * the paths of every OS can be computed anywhere.
 *
 * @param client Client id or spec.
 * @param options Scope, environment and entry name.
 * @returns An absolute path in the target OS's syntax.
 * @throws {RangeError} If the client has no such scope.
 * @example
 * ```ts
 * import { clientConfigPath } from "./config_path.ts";
 * const environment = { os: "windows" as const, home: "C:\\Users\\a", appData: "D:\\roam", cwd: "C:\\p" };
 * console.assert(
 *   clientConfigPath("claude-desktop", { environment, name: "x" }) ===
 *     "D:\\roam\\Claude\\claude_desktop_config.json",
 * );
 * ```
 */
export function clientConfigPath(
  client: ClientId | ClientSpec,
  options: ClientConfigPathOptions,
): string {
  const spec = typeof client === "string" ? getClient(client) : client;
  return spec.configPath(scopeFor(spec, options.scope), options.environment, options.name);
}

/**
 * The scope to use: `scope` if the client supports it, else its default.
 *
 * @param client Client spec.
 * @param scope Requested scope, if any.
 * @returns A scope the client reads.
 * @throws {RangeError} If the client has no such scope.
 * @example
 * ```ts
 * import { scopeFor } from "./config_path.ts";
 * import { getClient } from "./registry.ts";
 * console.assert(scopeFor(getClient("vscode"), undefined) === "user");
 * ```
 */
export function scopeFor(client: ClientSpec, scope: ConfigScope | undefined): ConfigScope {
  if (scope === undefined) return client.scopes[0];
  if (!client.scopes.includes(scope)) {
    throw new RangeError(
      `Cannot use scope "${scope}" with ${client.displayName}: it reads only ` +
        client.scopes.map((s) => `"${s}"`).join(" and ") + " configuration",
    );
  }
  return scope;
}
