/**
 * The guard of the MCP layer: every JSON-RPC message between a client and a sandboxed server
 * passes its checks, in `run`, in each `serve` session and in launcher-form client entries.
 * Protocol supervision drops frames that are not JSON-RPC, responses to unknown or answered ids
 * and notification floods, refuses server requests the client did not declare a capability for,
 * and answers calls that time out.
 *
 * @example Guard a transport (requires the permissions the server's launch needs)
 * ```ts ignore
 * import { GuardedTransport, guardStages } from "jsr:@sandboxed/mcp-run/guard";
 * const stages = guardStages(server, { cacheRoot });
 * await client.connect(new GuardedTransport(transport, stages, { server: server.name }));
 * ```
 *
 * @module
 */
export {
  errorAnswer,
  Guard,
  GuardErrorCode,
  type GuardSettings,
  type GuardSinks,
} from "./guard.ts";
export { GuardedTransport } from "./guarded_transport.ts";
export { type GuardOptions, guardStages } from "./guard_options.ts";
export {
  type Exchange,
  type GuardContext,
  type GuardStage,
  type Message,
  type RequestId,
  type Verdict,
} from "./stage.ts";
export {
  notificationLimit,
  type NotificationLimitOptions,
  serverRequestCheck,
} from "./supervision.ts";
