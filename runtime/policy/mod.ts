/**
 * Policy: what a server may do. The manifest format and its validator, the resolution of a
 * manifest and the user's parameters into canonical grants (paths, hosts, environment names), the
 * network, path and environment rules every grant passes, the approval of grants before code is
 * pulled, and the grants said in plain words.
 *
 * Everything here is data in, data out: nothing starts a process. `resolveServer` reads the file
 * system to canonicalize paths, `checkHostAddresses` asks DNS, `checkApproval` keeps its record
 * in the cache.
 *
 * @example Validate a manifest and resolve it
 * ```ts
 * import {
 *   describePermissions,
 *   parseManifest,
 *   resolveServer,
 * } from "jsr:@sandboxed/mcp-run/policy";
 *
 * const manifest = parseManifest(JSON.stringify({
 *   name: "weather",
 *   description: "Forecasts from one API",
 *   package: "npm:weather-mcp@1.0.0",
 *   permissions: { net: ["api.weather.example"] },
 * }));
 * const server = resolveServer(manifest, { cacheRoot: "/tmp/mcp-run" });
 * console.log(server.net); // ["api.weather.example"]
 * console.log(describePermissions(server)[2]); // "Reach network hosts: api.weather.example"
 * ```
 *
 * @module
 */

// The manifest format.
export {
  type EnvSpec,
  isReservedEnvName,
  type Manifest,
  ManifestError,
  type ManifestPermissions,
  type ManifestProblem,
  PARAMETER_TYPES,
  type ParameterSpec,
  type ParameterType,
  type ParseManifestOptions,
  readManifest,
  SYS_NAMES,
} from "./manifest.ts";
export { parseManifest } from "./manifest_text.ts";

// Resolution: manifest + parameters → canonical grants.
export {
  GrantError,
  manifestGrantProblems,
  type ManifestGrantProblemsOptions,
  type ResolvedServer,
  resolveServer,
  type ResolveServerOptions,
} from "./resolve.ts";
export { DEFAULT_NPM_REGISTRY, npmPackageDir } from "./package_dir.ts";
export {
  isContainerOnly,
  normalizePypiName,
  type OciPackage,
  type PackageKind,
  packageKind,
  packageProblem,
  parseOciPackage,
  parsePypiPackage,
  type PypiPackage,
} from "./package_kind.ts";

// The rules every grant passes.
export {
  denyNetList,
  formatNetGrant,
  isPrivateGrant,
  type NetGrant,
  parseNetGrant,
  PRIVATE_IPV4_RANGES,
  PRIVATE_IPV6_ADDRESSES,
} from "./net_policy.ts";
export {
  checkHostAddresses,
  type CheckHostAddressesOptions,
  privateAddressReason,
} from "./net_preflight.ts";
export { forbiddenPathReason, type PathContext } from "./path_policy.ts";

// Approval of grants before code is pulled, and the grants in words.
export { ApprovalError, type ApprovalOptions, checkApproval } from "./approval.ts";
export type { GrantChange } from "./grant_diff.ts";
export { describePermissions } from "./describe.ts";
