/**
 * Which checks of the MCP layer a launch uses: the options the CLI, the manifest and the user's
 * config give, turned into the guard's stages, in the order they judge a message.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import type { GuardStage } from "./stage.ts";

export type { GuardStage };
import { notificationLimit, serverRequestCheck } from "./supervision.ts";

/** The guard's settings for one launch (the CLI's flags over the manifest's and the user's). */
export interface GuardOptions {
  /** mcp-run's cache root: the guard's state (pins, …) lives under it, out of the server's reach. */
  cacheRoot: string;
  /** Notifications per second the server may send the client (default 100, burst 500). */
  notificationsPerSecond?: number;
  /**
   * Whether the guard checks the server's requests against the client's declared capabilities
   * (default true). A process shared by several sessions is initialized by the first one only,
   * so there the HTTP bridge routes each request to a session instead.
   */
  checkServerRequests?: boolean;
}

/**
 * The stages of a launch's guard, in the order a message meets them.
 *
 * @param server The resolved server.
 * @param options The guard's settings.
 * @returns The stages (protocol supervision first).
 */
export function guardStages(server: ResolvedServer, options: GuardOptions): GuardStage[] {
  const stages: GuardStage[] = [notificationLimit({ perSecond: options.notificationsPerSecond })];
  if (options.checkServerRequests !== false) stages.push(serverRequestCheck());
  void server;
  return stages;
}
