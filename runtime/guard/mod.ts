/**
 * The guard of the MCP layer: every JSON-RPC message between a client and a sandboxed server
 * passes its checks, in `run`, in each `serve` session and in launcher-form client entries.
 * Protocol supervision drops frames that are not JSON-RPC, responses to unknown or answered ids
 * and notification floods, refuses server requests the client did not declare a capability for,
 * and answers calls that time out. The poisoning scan removes hidden and control characters from
 * every definition and reports (or blocks) instruction-like text; the tool filter narrows which
 * tools a client may see and call. Tool pinning passes only the tools, prompts and resource
 * templates the user approved (`mcp-run approve`, or the first launch).
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
  ServerAnswerError,
} from "./guard.ts";
export { GuardedTransport } from "./guarded_transport.ts";
export { contentScrub, type Removed, scrubText } from "./content_scrub.ts";
export {
  type AuditEvent,
  type AuditLineSink,
  AuditLog,
  type AuditLogParts,
  type AuditOutcome,
  type AuditRecord,
  openAuditLog,
  type OpenAuditLogOptions,
} from "./audit_log.ts";
export {
  auditSpan,
  type AuditSpanOptions,
  type OtlpAttribute,
  otlpAttributes,
  OtlpExporter,
  type OtlpExporterOptions,
  type OtlpSpan,
  type OtlpTarget,
  otlpTarget,
  otlpTraceBody,
} from "./otlp.ts";
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
  canonicalJson,
  DEFINITION_KINDS,
  definitionHash,
  type DefinitionKind,
  PINNED_FIELDS,
  pinnedFields,
} from "./definition_hash.ts";
export {
  describeChange,
  describeDefinition,
  type DescribeOptions,
  diffPins,
  type FieldChange,
  type PinChange,
} from "./pin_diff.ts";
export {
  type ListedDefinitions,
  type PinnedDefinition,
  type PinnedSet,
  type PinRecord,
  pinSet,
  pinsFile,
  readPins,
  writePins,
  type WritePinsOptions,
} from "./pin_store.ts";
export { listDefinitions, type ListRequest, pinStage, type PinStageOptions } from "./pins.ts";
export {
  notificationLimit,
  type NotificationLimitOptions,
  serverRequestCheck,
  type ServerRequestCheckOptions,
} from "./supervision.ts";
export {
  blocks,
  DEFAULT_SCAN_MODE,
  definitionName,
  type Finding,
  type FindingKind,
  formatFinding,
  type HiddenKind,
  type InstructionRule,
  SCAN_MODES,
  scanDefinition,
  type ScanDefinitionOptions,
  type ScanMode,
  type ScannedDefinition,
  type ScannedKind,
} from "./scan.ts";
export { scanStage, type ScanStageOptions } from "./scan_stage.ts";
export {
  type ToolFacts,
  type ToolFilter,
  toolFilter,
  type ToolFilterLayer,
  toolFilterLayers,
  type ToolFilterLayersOptions,
  toolMatches,
  toolPatternProblem,
  type ToolRules,
} from "./tool_filter.ts";
export { toolFilterStage } from "./tool_filter_stage.ts";
