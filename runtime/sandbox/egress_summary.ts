/**
 * The `--dry-run` line of a plan's egress path: what it starts and what the proxy allows. Loaded
 * with the CLI's start-up, so it imports names only, not the container planning code.
 *
 * @module
 */
import type { PlannedEgress } from "./container_launch.ts";
import { EGRESS_PORT, INSIDE_PROXY_SOCKET } from "./docker_names.ts";

/**
 * One line saying what a plan's egress starts, for `--dry-run`. Pure.
 *
 * @param egress The plan's egress.
 * @returns The line, without a label.
 *
 * @example
 * ```ts
 * import { egressSummary } from "./egress_summary.ts";
 * console.log(egressSummary({ sidecar: "s", suffix: "a1", allow: ["a.test"], deny: [] }));
 * // first the sidecar s (--network none, mcp-run's proxy socket mounted); the proxy allows a.test and refuses  after resolving
 * ```
 */
export function egressSummary(egress: PlannedEgress): string {
  const rules = `the proxy allows ${egress.allow.join(", ")} and refuses ` +
    `${egress.deny.join(", ")} after resolving`;
  if (egress.inside) {
    return `proxy only, no sidecar: mcp-run's proxy listens on ${egress.inside.socketPath}, ` +
      `mounted at ${INSIDE_PROXY_SOCKET}; a forwarder on 127.0.0.1:${EGRESS_PORT} inside the ` +
      `container (--network none) starts before the server; ${rules}`;
  }
  return `first the sidecar ${egress.sidecar} (--network none, mcp-run's proxy socket ` +
    `mounted); ${rules}`;
}
