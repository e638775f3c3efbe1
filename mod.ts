/**
 * mcp-run: run MCP servers with exactly the access their manifest declares.
 *
 * A manifest says what a server needs (files, hosts, environment names, sys APIs). mcp-run turns
 * it, with the user's parameters, into the minimal Deno permission flags, caches the code with a
 * lockfile, and starts the server from a neutral folder with an environment built from scratch.
 *
 * Used as a library (every CLI feature is a function here) or as a CLI:
 * `deno run -A jsr:@sandboxed/mcp-run inspect filesystem -p dirs=./docs`.
 *
 * @example
 * ```ts ignore
 * import { cacheRoot, connectServer, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 * const root = cacheRoot();
 * const { manifest } = await loadManifest("filesystem");
 * const server = resolveServer(manifest, { params: { dirs: ["./docs"] }, cacheRoot: root });
 * const { client, close } = await connectServer(server, { cacheRoot: root });
 * console.log(await client.listTools());
 * await close();
 * ```
 *
 * @module
 */
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
  parseManifest,
  type ParseManifestOptions,
  SYS_NAMES,
} from "./runtime/policy/manifest.ts";
export {
  denyNetList,
  formatNetGrant,
  isPrivateGrant,
  isPrivateIpv6,
  type NetGrant,
  parseIpv4,
  parseIpv6,
  parseNetGrant,
  PRIVATE_IPV4_RANGES,
  PRIVATE_IPV6_ADDRESSES,
} from "./runtime/policy/net_policy.ts";
export {
  checkHostAddresses,
  type CheckHostAddressesOptions,
  privateAddressReason,
} from "./runtime/policy/net_preflight.ts";
export { forbiddenPathReason, type PathContext } from "./runtime/policy/path_policy.ts";
export {
  GrantError,
  manifestGrantProblems,
  type ManifestGrantProblemsOptions,
  type ResolvedServer,
  resolveServer,
  type ResolveServerOptions,
} from "./runtime/policy/resolve.ts";
export {
  denoCacheArgs,
  type DenoCacheArgsOptions,
  denoRunArgs,
  type DenoRunArgsOptions,
  permissionFlags,
} from "./runtime/sandbox/flags.ts";
export {
  cacheRoot,
  type CacheRootOptions,
  type ServerDirs,
  serverDirs,
} from "./runtime/sandbox/cache_dirs.ts";
export { pullEnv, serverEnv, type ServerEnvOptions } from "./runtime/sandbox/child_env.ts";
export {
  CacheError,
  pull,
  type PullOptions,
  type PullRecord,
  verifyPull,
} from "./runtime/sandbox/pull.ts";
export type { FileDigest } from "./runtime/sandbox/_tree_digest.ts";
export { ApprovalError, type ApprovalOptions, checkApproval } from "./runtime/policy/approval.ts";
export type { GrantChange } from "./runtime/policy/grant_diff.ts";
export {
  denoLaunchPlan,
  type DenoLaunchPlanOptions,
  type LaunchPlan,
  type PreparedServer,
  prepareServer,
  type PrepareServerOptions,
} from "./runtime/sandbox/launch_plan.ts";
export {
  ServerExitedError,
  ServerProcess,
  spawnServer,
  type SpawnServerOptions,
} from "./runtime/sandbox/server_process.ts";
export { LineSplitter, type SplitLine } from "./runtime/sandbox/line_splitter.ts";
export { ProcessTransport } from "./runtime/sandbox/stdio_transport.ts";
export { relayStdio, type RelayStdioOptions } from "./runtime/sandbox/stdio_relay.ts";
export type {
  PreparedLaunch,
  Sandbox,
  SandboxPlanOptions,
  SandboxSpawnOptions,
} from "./runtime/sandbox/sandbox.ts";
export { DenoSandbox, type DenoSandboxOptions } from "./runtime/sandbox/deno_sandbox.ts";
export { DockerSandbox, type DockerSandboxOptions } from "./runtime/sandbox/docker_sandbox.ts";
export {
  createSandbox,
  type CreateSandboxOptions,
  type Isolation,
} from "./runtime/sandbox/create_sandbox.ts";
export {
  type ResolvedTarget,
  resolveTarget,
  type ResolveTargetOptions,
} from "./runtime/cli/target.ts";
export {
  type ConnectedServer,
  connectServer,
  type ConnectServerOptions,
} from "./runtime/sandbox/connect.ts";
export { DEFAULT_NPM_REGISTRY, npmPackageDir } from "./runtime/policy/package_dir.ts";
export {
  CONTAINER_DENO_DIR,
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  DOCKER_LABEL,
  DOCKER_LIMITS,
  type DockerCommonOptions,
  dockerContainerName,
  type DockerLimits,
  dockerPullArgs,
  type DockerPullOptions,
  dockerRunArgs,
  type DockerRunOptions,
  dockerVolumeName,
  type DockerVolumeNameOptions,
} from "./runtime/sandbox/docker_args.ts";
export {
  checkDocker,
  type DockerCommandOptions,
  type DockerOutput,
  DockerUnavailableError,
  imageExists,
  listContainers,
  missingDocker,
  removeContainer,
  runDocker,
  volumeExists,
} from "./runtime/sandbox/docker_engine.ts";
export {
  defaultContainerUser,
  DOCKER_CLIENT_VARS,
  type DockerLaunchOptions,
  type DockerLaunchPlan,
  dockerLaunchPlan,
  dockerPull,
  type DockerPullRecord,
  type DockerPullStepOptions,
  DockerServerProcess,
  type PreparedDockerServer,
  prepareDockerServer,
  removeOrphanContainers,
  spawnDockerServer,
} from "./runtime/sandbox/docker_launch.ts";
export {
  type EntrySecret,
  type LaunchEntry,
  launchEntry,
  type LaunchEntryOptions,
} from "./runtime/clients/launch_entry.ts";
export { describePermissions } from "./runtime/policy/describe.ts";
export {
  BUILTIN_MANIFESTS,
  listManifestNames,
  listManifests,
  type ListManifestsOptions,
  type LoadedManifest,
  loadManifest,
  type RegistryOptions,
  type SkippedManifest,
} from "./runtime/registry/load.ts";
export { shellQuote } from "./runtime/sandbox/shell_quote.ts";
export {
  BridgeErrorCode,
  type ClientInfo,
  createHttpBridge,
  type HttpBridge,
  type HttpBridgeOptions,
  type HttpBridgeStats,
  loopbackHosts,
  type SessionMode,
} from "./runtime/http/bridge.ts";
export {
  checkBindAddress,
  defaultAllowedHosts,
  type HttpBridgeServer,
  isLoopbackAddress,
  serveHttpBridge,
  type ServeHttpBridgeOptions,
} from "./runtime/http/serve.ts";
export {
  constantTimeEqual,
  MIN_TOKEN_LENGTH,
  readTokenFile,
  TokenVerifier,
} from "./runtime/http/bearer_token.ts";
export { serveServer, type ServeServerOptions } from "./runtime/http/serve_server.ts";
export type {
  ClientEnvironment,
  ClientId,
  ClientSpec,
  ConfigScope,
  EntryParts,
  PromptInput,
  SecretMechanism,
  TargetOs,
} from "./runtime/clients/types.ts";
export { CLIENTS, getClient, isClientId } from "./runtime/clients/registry.ts";
export {
  type ClientEntry,
  clientEntry,
  type ClientEntryOptions,
} from "./runtime/clients/client_entry.ts";
export {
  type ConfigTextOptions,
  isManagedEntry,
  readClientEntry,
  withClientEntry,
  withoutClientEntry,
} from "./runtime/clients/config_text.ts";
export { EntryConflictError } from "./runtime/clients/entry_conflict_error.ts";
export {
  clientConfigPath,
  type ClientConfigPathOptions,
  scopeFor,
} from "./runtime/clients/config_path.ts";
export { readClientEnvironment } from "./runtime/clients/client_environment.ts";
export {
  type ClientConfigOptions,
  type ClientConfigResult,
  removeClientEntry,
  writeClientConfig,
} from "./runtime/clients/write_client_config.ts";
export { detectClients, type DetectedClient } from "./runtime/clients/detect_clients.ts";
export { writeSecretEnvFile } from "./runtime/clients/secret_env_file.ts";
export {
  type CachedLauncher,
  DEFAULT_JSR_URL,
  LAUNCHER_PACKAGE,
  launcherEntry,
  type LauncherEntryOptions,
} from "./runtime/clients/launcher_entry.ts";
export {
  cacheLauncher,
  type CacheLauncherOptions,
  resolveLauncher,
  type ResolveLauncherOptions,
} from "./runtime/clients/launcher_cache.ts";
export { type EntryVariables, entryVariables } from "./runtime/clients/entry_variables.ts";
export {
  loadUserConfig,
  parseUserConfig,
  type UserConfig,
  userConfigPath,
} from "./runtime/cli/user_config.ts";
export { EXIT, formatPlan, main, type MainOptions } from "./runtime/cli.ts";

if (import.meta.main) {
  const { main } = await import("./runtime/cli.ts");
  Deno.exit(await main(Deno.args));
}
