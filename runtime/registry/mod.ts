/**
 * The registry: the catalogue of manifests (the built-in one, folders and URLs added with
 * `--registry`), loading a server's manifest by name or path, resolving a target into a server
 * with its final grants, listing and searching the catalogue, and building its index.
 *
 * @example Find catalogue servers by words
 * ```ts
 * import { listManifests, searchManifests } from "jsr:@sandboxed/mcp-run/registry";
 *
 * const manifests = (await listManifests()).map((loaded) => loaded.manifest);
 * const found = searchManifests(manifests, ["time", "zone"]);
 * console.log(found[0].name); // "time"
 * ```
 *
 * @module
 */

// Loading and listing manifests.
export {
  buildRegistryIndex,
  BUILTIN_MANIFESTS,
  listManifestNames,
  listManifests,
  type ListManifestsOptions,
  type LoadedManifest,
  loadManifest,
  type RegistryIndex,
  type RegistryOptions,
  type SkippedManifest,
} from "./load.ts";
export { searchManifests } from "./search.ts";

// Resolving a target: a registry name or a manifest path, to a resolved server.
export { type ResolvedTarget, resolveTarget, type ResolveTargetOptions } from "./resolve_target.ts";

// The policy types these functions take and return (also exported by `./policy`).
export type { ResolvedServer, ResolveServerOptions } from "../policy/resolve.ts";
export type {
  EnvSpec,
  Manifest,
  ManifestPermissions,
  ParameterSpec,
  ParameterType,
} from "../policy/manifest.ts";
