/**
 * Which MCP clients are set up on this machine, and where their configuration lives.
 *
 * @module
 */
import { dirname } from "../_path.ts";
import { readClientEnvironment } from "./client_environment.ts";
import { CLIENTS } from "./registry.ts";
import type { ClientEnvironment, ClientId, ConfigScope } from "./types.ts";

/** One client and scope, as found on disk. */
export interface DetectedClient {
  /** Client id. */
  client: ClientId;
  /** Human name. */
  displayName: string;
  /** User or project configuration. */
  scope: ConfigScope;
  /** The configuration file (for Continue, the folder of block files). */
  file: string;
  /** Whether the client's folder for this scope exists (the client is set up). */
  present: boolean;
  /** Whether the configuration file (or Continue folder) exists. */
  configured: boolean;
}

/**
 * List every client and scope with its configuration path and whether it exists. Requires
 * read access to the paths (and `--allow-env` when `environment` is not given).
 *
 * @param options `environment` to look in (defaults to this process's).
 * @returns One row per client and scope, in registry order.
 * @example
 * ```ts ignore
 * import { detectClients } from "./detect_clients.ts";
 * for (const c of await detectClients()) if (c.present) console.log(c.displayName, c.file);
 * ```
 */
export async function detectClients(
  options: { environment?: ClientEnvironment } = {},
): Promise<DetectedClient[]> {
  const env = options.environment ?? readClientEnvironment();
  const rows: DetectedClient[] = [];
  for (const spec of CLIENTS) {
    for (const scope of spec.scopes) {
      const path = spec.configPath(scope, env, "_");
      const file = spec.layout === "file-list" ? dirname(path) : path;
      const configured = await exists(file);
      const present = configured || await exists(spec.presenceDir(scope, env));
      rows.push({
        client: spec.id,
        displayName: spec.displayName,
        scope,
        file,
        present,
        configured,
      });
    }
  }
  return rows;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
