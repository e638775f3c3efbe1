/**
 * Which checks of the MCP layer a launch uses: the options the CLI, the manifest and the user's
 * config give, turned into the guard's stages, in the order they judge a message.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import type { GuardStage } from "./stage.ts";
import type { AuditLog } from "./audit_log.ts";

export type { GuardStage };
import { notificationLimit, serverRequestCheck } from "./supervision.ts";
import { pinStage } from "./pins.ts";
import { contentScrub } from "./content_scrub.ts";
import { DEFAULT_SCAN_MODE, type ScanMode } from "./scan.ts";
import { scanStage } from "./scan_stage.ts";
import { toolFilter, toolFilterLayers } from "./tool_filter.ts";
import { toolFilterStage } from "./tool_filter_stage.ts";

/** The guard's settings for one launch (the CLI's flags over the manifest's and the user's). */
export interface GuardOptions {
  /** mcp-run's cache root: the guard's state (pins, …) lives under it, out of the server's reach. */
  cacheRoot: string;
  /** The command that approves this server's definitions, as the user would type it. */
  approveCommand?: string;
  /** Notifications per second the server may send the client (default 100, burst 500). */
  notificationsPerSecond?: number;
  /** The launch's audit log, opened by the CLI (see `openAuditLog()`); default: none. */
  audit?: AuditLog;
  /**
   * Whether the guard checks the server's requests against the client's declared capabilities
   * (default true); their methods are checked always. A process shared by several sessions is
   * initialized by the first one only, so there the HTTP bridge routes each request to a session
   * instead.
   */
  checkServerRequests?: boolean;
  /** `--tools`: only these tools (names or `*` globs, commas allowed); narrows the manifest's. */
  tools?: string[];
  /** `--exclude-tools`: never these tools; narrows the manifest's. */
  excludeTools?: string[];
  /**
   * `--scan`, else the user's config: what becomes of instruction-like text (over the
   * manifest's `scan`; default `block`). Hidden characters are removed in every mode.
   */
  scan?: ScanMode;
}

/**
 * The stages of a launch's guard, in the order a message meets them.
 *
 * @param server The resolved server.
 * @param options The guard's settings.
 * @returns The stages (protocol supervision first).
 * @throws {TypeError} When a tool rule is not a tool name or glob.
 */
export function guardStages(server: ResolvedServer, options: GuardOptions): GuardStage[] {
  const stages: GuardStage[] = [notificationLimit({ perSecond: options.notificationsPerSecond })];
  stages.push(serverRequestCheck({ capabilities: options.checkServerRequests !== false }));
  // Pins judge what the server offers, after supervision has dropped what is not JSON-RPC.
  stages.push(pinStage({ cacheRoot: options.cacheRoot, approveCommand: options.approveCommand }));
  const filter = toolFilter(toolFilterLayers({
    manifest: server.manifest?.tools,
    tools: options.tools,
    excludeTools: options.excludeTools,
  }));
  // The filter first: a tool the user left out is neither scanned nor reported.
  if (filter.active) stages.push(toolFilterStage(filter));
  stages.push(scanStage({ mode: options.scan ?? server.manifest?.scan ?? DEFAULT_SCAN_MODE }));
  // What the server says at run time loses the same hiding characters its definitions do.
  stages.push(contentScrub());
  // Last: every answer, the stages' own included, is recorded as the client received it.
  if (options.audit) stages.push(options.audit.stage());
  return stages;
}
