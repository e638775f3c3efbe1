/**
 * The clients mcp-run can configure.
 *
 * @module
 */
import { claudeCode } from "./claude_code.ts";
import { claudeDesktop } from "./claude_desktop.ts";
import { continueDev } from "./continue.ts";
import { cursor } from "./cursor.ts";
import { goose } from "./goose.ts";
import type { ClientId, ClientSpec } from "./types.ts";
import { vscode } from "./vscode.ts";
import { windsurf } from "./windsurf.ts";
import { zed } from "./zed.ts";

/** Every supported client, in the order `mcp-run clients` lists them. */
export const CLIENTS: readonly ClientSpec[] = [
  claudeDesktop,
  vscode,
  cursor,
  claudeCode,
  windsurf,
  zed,
  goose,
  continueDev,
];

/**
 * Look a client up by id.
 *
 * @param id A client id such as `"vscode"` (as typed on the command line).
 * @returns The client's spec.
 * @throws {RangeError} If no client has that id; the message lists the known ids.
 * @example
 * ```ts
 * import { getClient } from "./registry.ts";
 * console.assert(getClient("zed").containerKey === "context_servers");
 * ```
 */
export function getClient(id: string): ClientSpec {
  const client = CLIENTS.find((c) => c.id === id);
  if (!client) {
    throw new RangeError(
      `Cannot find client "${id}": known clients are ${CLIENTS.map((c) => c.id).join(", ")}`,
    );
  }
  return client;
}

/**
 * Whether `id` names a supported client.
 *
 * @param id Any string.
 * @returns True for the ids in {@link CLIENTS}.
 * @example
 * ```ts
 * import { isClientId } from "./registry.ts";
 * console.assert(isClientId("cursor") && !isClientId("emacs"));
 * ```
 */
export function isClientId(id: string): id is ClientId {
  return CLIENTS.some((c) => c.id === id);
}
