/**
 * The sandbox: how a resolved server becomes a confined process. Deno permission flags and the
 * `deno run` argv, the server's cache folders and lockfile, pulling and verifying its code, its
 * environment built from scratch, process supervision and the stdio MCP transport; and the same
 * in docker (hardened `docker run` argv, image and volume pulls, container supervision).
 *
 * Pure builders (`permissionFlags`, `denoRunArgs`, `denoLaunchPlan`, `dockerRunArgs`,
 * `dockerLaunchPlan`) return data; the functions that touch the world say so (`pull`,
 * `spawnServer`, `dockerPull`, `spawnDockerServer`).
 *
 * @example The exact `deno run` argv of a resolved server
 * ```ts
 * import { denoRunArgs } from "jsr:@sandboxed/mcp-run/sandbox";
 *
 * const argv = denoRunArgs({
 *   name: "notes", specifier: "npm:notes-mcp@1.0.0", args: [], read: ["/data"], write: [],
 *   net: [], denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * }, { lockFile: "/cache/deno.lock" });
 * console.log(argv.includes("--allow-read=/data")); // true
 * ```
 *
 * @module
 */

// ---- Sandbox interface: one per isolation, behind which every command starts servers.
export type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "./sandbox.ts";
export { DenoSandbox, type DenoSandboxOptions } from "./deno_sandbox.ts";
export { DockerSandbox, type DockerSandboxOptions } from "./docker_sandbox.ts";
export { GvisorSandbox, type GvisorSandboxOptions } from "./gvisor_sandbox.ts";
export { GvisorUnavailableError } from "./gvisor_runtime.ts";
export { createSandbox, type CreateSandboxOptions, type Isolation } from "./create_sandbox.ts";
// ---- End of sandbox interface.

// Deno flags and argv.
export {
  denoCacheArgs,
  type DenoCacheArgsOptions,
  denoRunArgs,
  type DenoRunArgsOptions,
  permissionFlags,
  type PermissionFlagsOptions,
} from "./flags.ts";

// Memory caps and write protection inside grants.
export {
  type CapHitContext,
  capHitMessage,
  DEFAULT_LIMITS,
  effectiveLimits,
  type EffectiveLimitsOptions,
  type ResourceLimits,
} from "./resource_caps.ts";
export { PROTECTED_WRITE_PATHS, protectedWritePaths } from "./write_protection.ts";

// The cache: folders, pull and verification.
export { cacheRoot, type CacheRootOptions, type ServerDirs, serverDirs } from "./cache_dirs.ts";
export { CacheError, pull, type PullOptions, type PullRecord, verifyPull } from "./pull.ts";
export type { FileDigest } from "./_tree_digest.ts";
export { serverEnv, type ServerEnvOptions } from "./child_env.ts";

// Native launch: plan, prepare, spawn, talk to it over stdio.
export {
  denoLaunchPlan,
  type DenoLaunchPlanOptions,
  type LaunchPlan,
  type PreparedServer,
  prepareServer,
  type PrepareServerOptions,
} from "./launch_plan.ts";
export type { PendingSealCheck } from "./_cache_seal.ts";
export {
  ServerExitedError,
  ServerProcess,
  spawnServer,
  type SpawnServerOptions,
} from "./server_process.ts";
export type { SplitLine } from "./line_splitter.ts";
export { ProcessTransport } from "./stdio_transport.ts";
export { relayStdio, type RelayStdioOptions } from "./stdio_relay.ts";
export { type ConnectedServer, connectServer, type ConnectServerOptions } from "./connect.ts";

// Docker: argv builders, the engine, and the docker launch.
export {
  type DockerCommonOptions,
  dockerPullArgs,
  type DockerPullOptions,
  dockerRunArgs,
  type DockerRunOptions,
} from "./docker_args.ts";
export {
  CONTAINER_DENO_DIR,
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  DOCKER_LABEL,
  dockerContainerName,
  dockerVolumeName,
  type DockerVolumeNameOptions,
  GVISOR_RUNTIME,
} from "./docker_names.ts";
export { DOCKER_LIMITS, type DockerLimits, GVISOR_PIDS_LIMIT } from "./docker_checks.ts";
export { checkDocker, type DockerCommandOptions, DockerUnavailableError } from "./docker_engine.ts";
export {
  defaultContainerUser,
  type DockerLaunchOptions,
  type DockerLaunchPlan,
  dockerLaunchPlan,
} from "./docker_launch.ts";
export {
  dockerPull,
  type DockerPullRecord,
  type DockerPullStepOptions,
  type PreparedDockerServer,
  prepareDockerServer,
} from "./docker_pull.ts";
export {
  DockerServerProcess,
  spawnDockerServer,
  type SpawnDockerServerOptions,
} from "./docker_process.ts";
export { removeOrphanContainers } from "./docker_orphans.ts";

// Packages that run only in a container: PyPI packages and OCI images.
export {
  type ContainerEgress,
  containerNetwork,
  type ContainerPackageOptions,
} from "./container_options.ts";
export {
  type ContainerLaunchPlan,
  containerLaunchPlan,
  type PlannedEgress,
} from "./container_launch.ts";
export {
  PYTHON_CODE_DIR,
  PYTHON_IMAGE,
  type PythonDirs,
  pythonDirs,
  pythonPullArgs,
  type PythonPullOptions,
  pythonRunArgs,
  type PythonRunOptions,
} from "./python_plan.ts";
export { preparePythonServer, pythonPull } from "./python_pull.ts";
export type { PythonPullRecord } from "./python_cache.ts";
export { ociRunArgs, type OciRunOptions } from "./oci_plan.ts";
export { ociPull, prepareOciServer } from "./oci_pull.ts";
export type { HardeningOptions } from "./_container_hardening.ts";

// Egress for containers without a network: the proxy on the host, the sidecar and its forwarder.
export {
  type EgressProxy,
  type EgressProxyOptions,
  type EgressRefusal,
  startEgressProxy,
} from "./egress_proxy.ts";
export {
  EGRESS_PORT,
  EGRESS_SIDECAR_LIMITS,
  egressClientEnv,
  egressNetwork,
  type EgressSidecar,
  egressSidecarArgs,
  type EgressSidecarArgsOptions,
  egressSidecarName,
  startEgressSidecar,
  type StartEgressSidecarOptions,
  waitForEgressSidecar,
  type WaitForEgressSidecarOptions,
} from "./egress_sidecar.ts";
export {
  EGRESS_FORWARDER_FILE,
  EGRESS_FORWARDER_SOURCE,
  EGRESS_READY_LINE,
  egressForwarderArgs,
  type EgressForwarderArgsOptions,
  type ForwarderSource,
  writeEgressForwarder,
} from "./egress_forwarder.ts";
// Egress from inside the server's own container (gVisor: no shared loopback, so no sidecar).
export {
  INSIDE_PROXY_SOCKET,
  type InsideEgress,
  insideEgress,
  type InsideEgressOptions,
} from "./egress_inside.ts";
export { type Egress, startEgress, type StartEgressOptions } from "./egress_launch.ts";

// The policy types these functions take (also exported by `./policy`).
export type { ResolvedServer } from "../policy/resolve.ts";
export type {
  EnvSpec,
  Manifest,
  ManifestPermissions,
  ParameterSpec,
  ParameterType,
} from "../policy/manifest.ts";
export type { ApprovalOptions } from "../policy/approval.ts";
export type { CheckHostAddressesOptions } from "../policy/net_preflight.ts";
