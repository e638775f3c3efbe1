/**
 * Knowing what a server needs: every permission check it makes, from Deno's own records (the
 * `DENO_AUDIT_PERMISSIONS` file, read live through a per-launch FIFO, or the permission broker),
 * compared with its grants; each refused check explained with the exact change that would allow
 * it, or why it can never be granted; the last run's refusals kept per server; and `learnServer`,
 * which runs a server in a throwaway sandbox and drafts its minimal manifest.
 *
 * @example Explain a refused check (pure)
 * ```ts
 * import { explainDenial } from "jsr:@sandboxed/mcp-run/learn";
 * import { parseManifest, resolveServer } from "jsr:@sandboxed/mcp-run/policy";
 *
 * const manifest = parseManifest(JSON.stringify({
 *   name: "weather",
 *   description: "Forecasts from one API",
 *   package: "npm:weather-mcp@1.0.0",
 * }));
 * const server = resolveServer(manifest, { cacheRoot: "/tmp/mcp-run" });
 * const denial = explainDenial(server, { permission: "sys", value: "homedir" });
 * console.log(denial.asked); // "sys homedir"
 * ```
 *
 * @example Draft a manifest for a server outside the catalogue (requires `--allow-all`)
 * ```ts ignore
 * import { learnServer } from "jsr:@sandboxed/mcp-run/learn";
 *
 * const learned = await learnServer("npm:@modelcontextprotocol/server-brave-search", {
 *   env: ["BRAVE_API_KEY"],
 *   probe: true,
 * });
 * console.log(learned.label.join("\n"));
 * console.log(learned.text); // the draft manifest, JSONC
 * ```
 *
 * @module
 */

// Checks as Deno records them, and whether grants allow them.
export {
  isGranted,
  type IsGrantedOptions,
  MAX_CHECK_LINE_BYTES,
  netCheckTarget,
  parseCheckLine,
  type PermissionCheck,
} from "./permission_check.ts";

// A refused check, explained; the log of one run; the last run's, kept per server.
export {
  type Denial,
  denialAdvice,
  explainDenial,
  explainRefusal,
  formatDenial,
  type RefusedConnection,
} from "./denial.ts";
export {
  containerDenialPlaces,
  type DenialContext,
  denialContext,
  type DenialContextOptions,
  denialPlaces,
  type DenialPlacesOptions,
  type NamedPlace,
} from "./denial_places.ts";
export { DenialLog, type DenialLogOptions } from "./denial_log.ts";
export {
  AUDIT_ENV,
  AuditChannel,
  type AuditChannelEnds,
  auditedPlan,
  CONTAINER_AUDIT_PATH,
  openAuditChannel,
  type OpenAuditChannelOptions,
} from "./audit_channel.ts";
export { type DenialRecord, denialsFile, readDenials, writeDenials } from "./denials_store.ts";

// Learn: a throwaway run under a recording permission broker, and the draft it gives.
export {
  LEARN_PLACEHOLDER,
  type LearnCall,
  type LearnCallResult,
  type LearnedServer,
  type LearnOffering,
  learnServer,
  type LearnServerOptions,
  MAX_PROBES,
} from "./learn_server.ts";
export {
  type DraftContext,
  type DraftManifest,
  draftManifest,
  type GrantEvidence,
  type LearnFinding,
  type LearnParameter,
  looksLikeCredential,
} from "./draft_manifest.ts";
export {
  type BrokerVerdict,
  decideLearnCheck,
  type LearnPolicy,
  MAX_RECORDED_CHECKS,
  NATIVE_ESCAPE_REASON,
  type PermissionBroker,
  type RecordedCheck,
  startBroker,
  type StartBrokerOptions,
} from "./broker.ts";

// The types the functions above take and give, from the concepts they belong to.
export type { Manifest } from "../policy/manifest.ts";
export type { ResolvedServer } from "../policy/resolve.ts";
export type { LaunchPlan } from "../sandbox/launch_plan.ts";
