/**
 * MCP client configuration: the command a client spawns to run a server, that command shaped
 * for each of the eight clients (Claude Desktop, VS Code, Cursor, Claude Code, Windsurf, Zed,
 * goose, Continue) with secrets referenced through the client's own mechanism, and the edits of
 * their files that change only mcp-run's own entries.
 *
 * A client entry is built in two steps. First a {@linkcode LaunchCommand}, independent of any
 * client: {@linkcode directCommand} runs the pulled server itself (`deno` or `docker` form),
 * {@linkcode launcherCommand} runs `mcp-run run` from a pinned launcher (`launcher` form). Then
 * {@linkcode clientEntry} shapes it for one client, and {@linkcode writeClientConfig} writes it.
 * All but the writers are pure.
 *
 * @example The entry Cursor stores for a server that needs a token
 * ```ts
 * import { clientEntry } from "jsr:@sandboxed/mcp-run/clients";
 *
 * const entry = clientEntry("cursor", {
 *   command: "deno",
 *   args: ["run", "npm:@modelcontextprotocol/server-github@2025.4.8"],
 *   env: {},
 *   secrets: [{ name: "GITHUB_TOKEN", description: "Personal access token" }],
 * }, { name: "github" });
 * console.log(entry.value.env); // { GITHUB_TOKEN: "${env:GITHUB_TOKEN}", MCP_RUN_MANAGED: "1" }
 * ```
 *
 * @module
 */

// The clients and where their files are.
export type {
  ClientEnvironment,
  ClientId,
  ClientSpec,
  ConfigScope,
  EntryParts,
  EntrySecret,
  LaunchCommand,
  PromptInput,
  SecretMechanism,
  TargetOs,
} from "./types.ts";
export { CLIENTS, getClient, isClientId } from "./registry.ts";
export { clientConfigPath, type ClientConfigPathOptions, scopeFor } from "./config_path.ts";
export { readClientEnvironment } from "./client_environment.ts";
export { detectClients, type DetectedClient } from "./detect_clients.ts";

// The launch command: direct (deno, docker) or through a pinned launcher.
export { directCommand, type DirectCommandOptions } from "./direct_command.ts";
export {
  type CachedLauncher,
  DEFAULT_JSR_URL,
  LAUNCHER_PACKAGE,
  launcherCommand,
  type LauncherCommandOptions,
} from "./launcher_command.ts";
export {
  cacheLauncher,
  type CacheLauncherOptions,
  resolveLauncher,
  type ResolveLauncherOptions,
} from "./launcher_cache.ts";
export { type EntryVariables, entryVariables } from "./entry_variables.ts";

// One client's entry, and its file.
export { type ClientEntry, clientEntry, type ClientEntryOptions } from "./client_entry.ts";
export {
  type ConfigTextOptions,
  isManagedEntry,
  readClientEntry,
  withClientEntry,
  withoutClientEntry,
} from "./config_text.ts";
export { EntryConflictError } from "./entry_conflict_error.ts";
export {
  type ClientConfigOptions,
  type ClientConfigResult,
  removeClientEntry,
  writeClientConfig,
} from "./write_client_config.ts";
export { writeSecretEnvFile } from "./secret_env_file.ts";

// Adopting a client's existing entries: recognise, map onto a manifest, rewrite, undo.
export {
  type AdoptKind,
  type AdoptPackage,
  recogniseCommand,
  type RecognisedEntry,
  recogniseEntry,
} from "./adopt_entry.ts";
export {
  type AdoptManifest,
  type AdoptMapping,
  findManifest,
  mapToManifest,
} from "./adopt_plan.ts";
export { resolveAdoptVersion, type ResolveAdoptVersionOptions } from "./adopt_version.ts";
export {
  type AdoptAction,
  adoptConfig,
  type AdoptConfigOptions,
  type AdoptDraft,
  type AdoptEntryPlan,
  type AdoptEntryRequest,
  type AdoptLearn,
  type AdoptResult,
} from "./adopt.ts";
export {
  type AdoptUndoOptions,
  undoAdoption,
  type UndoAdoptionOptions,
  undoRecordPath,
  type UndoResult,
} from "./adopt_undo.ts";

// The policy and sandbox types these functions take (also exported by `./policy`, `./sandbox`).
export type {
  EnvSpec,
  Manifest,
  ManifestPermissions,
  ParameterSpec,
  ParameterType,
} from "../policy/manifest.ts";
export type { ResolvedServer } from "../policy/resolve.ts";
export type { DockerLimits } from "../sandbox/docker_checks.ts";
