/**
 * mcp-run: run MCP servers with exactly the access their manifest declares.
 *
 * A manifest says what a server needs (files, hosts, environment names, sys APIs). mcp-run turns
 * it, with the user's parameters, into the minimal Deno permission flags, caches the code with a
 * lockfile, and starts the server from a neutral folder with an environment built from scratch.
 *
 * This module is the stable API, in the order of a server's life: load and resolve a server,
 * choose its sandbox (which plans its command, pulls its code and starts it), connect to it or
 * run it, serve it over HTTP, and write the entry an MCP client starts it with. Each concept has
 * the rest of its API, each backend's building blocks included, under a subpath:
 * `./policy` (manifest format, grants and their policies, approvals), `./sandbox` (flags, cache,
 * processes, docker), `./http` (the Streamable HTTP bridge), `./clients` (every client's
 * configuration files, adopt), `./registry` (the manifest catalogue), `./learn` (permission
 * checks, refusals explained, learn) and `./cli` (`main`).
 *
 * Run directly it is the CLI: `deno run -A jsr:@sandboxed/mcp-run inspect filesystem -p dirs=.`.
 *
 * @example Resolve a catalogue server and see what it may do (pure: nothing starts)
 * ```ts
 * import { describePermissions, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 *
 * const { manifest } = await loadManifest("time");
 * const server = resolveServer(manifest, {
 *   params: { timezone: ["Europe/Paris"] },
 *   cacheRoot: "/tmp/mcp-run",
 * });
 * console.log(server.args); // ["--local-timezone=Europe/Paris"]
 * console.log(describePermissions(server)[2]); // "No network access"
 * ```
 *
 * @example Start a server and list its tools (requires `--allow-all`: it pulls and spawns)
 * ```ts ignore
 * import { cacheRoot, connectServer, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 *
 * const root = cacheRoot();
 * const { manifest } = await loadManifest("filesystem");
 * const server = resolveServer(manifest, { params: { dirs: ["./docs"] }, cacheRoot: root });
 * const { client, close } = await connectServer(server, { cacheRoot: root });
 * console.log((await client.listTools()).tools.map((t) => t.name));
 * await close();
 * ```
 *
 * @module
 */

// Load and resolve a server: registry name or manifest → the exact grants.
export {
  listManifests,
  type ListManifestsOptions,
  type LoadedManifest,
  loadManifest,
  type RegistryOptions,
} from "./runtime/registry/load.ts";
export { type Manifest, ManifestError } from "./runtime/policy/manifest.ts";
export { parseManifest } from "./runtime/policy/manifest_text.ts";
export {
  GrantError,
  type ResolvedServer,
  resolveServer,
  type ResolveServerOptions,
} from "./runtime/policy/resolve.ts";
export { describePermissions } from "./runtime/policy/describe.ts";

// The cache every backend keeps a server's code in, and what a launch can fail with.
export { cacheRoot } from "./runtime/sandbox/cache_dirs.ts";
export { CacheError } from "./runtime/sandbox/pull.ts";
export { ApprovalError } from "./runtime/policy/approval.ts";

// Connect and run: start the sandboxed server and talk MCP to it over stdio.
export {
  type ConnectedServer,
  connectServer,
  type ConnectServerOptions,
} from "./runtime/sandbox/connect.ts";
export { ServerExitedError, ServerProcess } from "./runtime/sandbox/server_process.ts";

// ---- Sandbox: one interface, a backend per isolation; every command starts servers through it.
// Plan (pure: the exact command, environment, folder), pull, prepare, spawn.
export type { LaunchPlan } from "./runtime/sandbox/launch_plan.ts";
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
} from "./runtime/registry/resolve_target.ts";
// ---- End of sandbox.

// Serve: the same sandboxed server over MCP Streamable HTTP.
export { serveServer, type ServeServerOptions } from "./runtime/http/serve_server.ts";
export type { HttpBridgeServer } from "./runtime/http/serve.ts";

// Client entries: the command an MCP client spawns, shaped and written for each client.
export { directCommand, type DirectCommandOptions } from "./runtime/clients/direct_command.ts";
export {
  type ClientEntry,
  clientEntry,
  type ClientEntryOptions,
} from "./runtime/clients/client_entry.ts";
export type { ClientId, LaunchCommand } from "./runtime/clients/types.ts";
export {
  type ClientConfigOptions,
  type ClientConfigResult,
  removeClientEntry,
  writeClientConfig,
} from "./runtime/clients/write_client_config.ts";

// Learn and adopt: what a server was refused, a draft manifest from a throwaway run, and
// existing client entries brought under mcp-run.
export { type Denial, explainDenial } from "./runtime/learn/denial.ts";
export { type DenialRecord, readDenials } from "./runtime/learn/denials_store.ts";
export {
  type LearnedServer,
  learnServer,
  type LearnServerOptions,
} from "./runtime/learn/learn_server.ts";
export { adoptConfig, type AdoptConfigOptions, type AdoptResult } from "./runtime/clients/adopt.ts";
export { undoAdoption } from "./runtime/clients/adopt_undo.ts";

// The types the functions above take or return, so that their documentation is complete. Their
// own functions are under the subpath exports.
export type { SkippedManifest } from "./runtime/registry/load.ts";
export type {
  EnvSpec,
  ManifestPermissions,
  ManifestProblem,
  ParameterSpec,
  ParameterType,
  ParseManifestOptions,
} from "./runtime/policy/manifest.ts";
export type { CheckHostAddressesOptions } from "./runtime/policy/net_preflight.ts";
export type { ApprovalOptions } from "./runtime/policy/approval.ts";
export type { GrantChange } from "./runtime/policy/grant_diff.ts";
export type { CacheRootOptions } from "./runtime/sandbox/cache_dirs.ts";
export type { DenoLaunchPlanOptions, PrepareServerOptions } from "./runtime/sandbox/launch_plan.ts";
export type { SpawnServerOptions } from "./runtime/sandbox/server_process.ts";
export type { SplitLine } from "./runtime/sandbox/line_splitter.ts";
export type { ProcessTransport } from "./runtime/sandbox/stdio_transport.ts";
export type { DockerLimits } from "./runtime/sandbox/docker_checks.ts";
export type { DockerLaunchOptions, DockerLaunchPlan } from "./runtime/sandbox/docker_launch.ts";
export type { DockerPullStepOptions } from "./runtime/sandbox/docker_pull.ts";
export type { ServeHttpBridgeOptions } from "./runtime/http/serve.ts";
export type {
  ClientInfo,
  HttpBridge,
  HttpBridgeOptions,
  HttpBridgeStats,
  SessionMode,
} from "./runtime/http/bridge.ts";
export type {
  ClientEnvironment,
  ClientSpec,
  ConfigScope,
  EntryParts,
  EntrySecret,
  PromptInput,
  SecretMechanism,
  TargetOs,
} from "./runtime/clients/types.ts";

// Run directly, this module is the CLI (see `./cli`).
if (import.meta.main) {
  const { main } = await import("./runtime/cli.ts");
  Deno.exit(await main(Deno.args));
}
