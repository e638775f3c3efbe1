/**
 * Which declared variables a client entry carries as values, and which the client must
 * supply by name, decided once at install time.
 *
 * @module
 */
import type { EntrySecret } from "./types.ts";
import type { Manifest } from "../policy/manifest.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** What {@link entryVariables} decided. */
export interface EntryVariables {
  /** Plain (non-secret) declared variables set at install time, written as values. */
  values: Record<string, string>;
  /** Variables the client supplies through its own mechanism, never written as values. */
  secrets: EntrySecret[];
}

/**
 * Split a server's declared variables for a client entry. Pure.
 *
 * - A plain variable set in `source` is written with its value (it is not a credential).
 * - A secret is always supplied by the client: when required, or when optional but set in
 *   `source` (the user uses it). An optional secret that is not set is left out, because a
 *   client such as Claude Code refuses to start a server whose referenced variable is unset.
 * - A required plain variable with no value is supplied by the client too.
 * - Variables the manifest sets itself (`env.X.value`) and `PREFIX_*` patterns are not
 *   listed: the entry's command sets the former, and a wide pattern could sweep credentials
 *   into the file (the server still reads matching names from the client's environment).
 *
 * @param server The resolved server.
 * @param manifest Its manifest (for descriptions).
 * @param options `source`: the environment at install time.
 * @returns Values to write and secrets to reference.
 * @example
 * ```ts ignore
 * import { entryVariables } from "./entry_variables.ts";
 * const { secrets } = entryVariables(server, manifest, { source: Deno.env.toObject() });
 * ```
 */
export function entryVariables(
  server: ResolvedServer,
  manifest: Manifest,
  options: { source?: Record<string, string> } = {},
): EntryVariables {
  const source = options.source ?? {};
  const described = { ...manifest.env, ...manifest.secrets };
  const values: Record<string, string> = {};
  const secrets: EntrySecret[] = [];
  for (const name of server.env) {
    if (name.endsWith("*") || name in server.envValues) continue;
    const secret = server.secrets.includes(name);
    const set = source[name] !== undefined;
    if (!secret && set) values[name] = source[name];
    else if (server.requiredEnv.includes(name) || (secret && set)) {
      secrets.push({ name, description: described[name]?.description ?? "" });
    }
  }
  return { values, secrets };
}
