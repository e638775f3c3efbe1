/**
 * The one way a target (a registry name or a manifest path) becomes a resolved server: every
 * command and the library resolve through it, with one options object that travels. It lives
 * with the registry because finding a manifest by name is the registry's job; the policy it then
 * applies stays in `policy/`, which knows nothing of where manifests come from.
 *
 * @module
 */
import { type LoadedManifest, loadManifest } from "./load.ts";
import {
  type ResolvedServer,
  resolveServer,
  type ResolveServerOptions,
} from "../policy/resolve.ts";
import { isContainerOnly } from "../policy/package_kind.ts";

/** Options for {@linkcode resolveTarget}: where manifests come from and how grants resolve. */
export interface ResolveTargetOptions extends Omit<ResolveServerOptions, "manifestDir"> {
  /** Folders (or URLs) searched for a name, in order; default: the built-in registry. */
  sources?: (string | URL)[];
  /**
   * Whether `isolation` was the user's explicit choice (`--isolation`). When it was not, a
   * package that runs only in a container (`pypi:`, `oci:`) resolves for docker whatever
   * `isolation` says; when it was, the sandbox says why it cannot run there.
   */
  isolationGiven?: boolean;
}

/** A target's manifest and the server resolved from it. */
export interface ResolvedTarget {
  /** The validated manifest and where it was read from. */
  loaded: LoadedManifest;
  /** The server with its final grants. */
  server: ResolvedServer;
  /** The isolation the server was resolved for (see {@linkcode ResolveTargetOptions.isolationGiven}). */
  isolation: "deno" | "docker" | "gvisor";
}

/**
 * Loads a target's manifest (a name from the registries, or a path to a manifest file) and
 * resolves it with the user's parameters into final grants. Local packages resolve against the
 * manifest's folder.
 *
 * @param target A registry name or a manifest path.
 * @param options Registry sources, parameters, extra arguments, cache root, isolation, trust.
 * @returns The manifest and the resolved server.
 * @throws {ManifestError} When the manifest is invalid.
 * @throws {GrantError} When a grant is refused or a parameter is missing.
 * @throws {Deno.errors.NotFound} When no registry has the name, or the file does not exist.
 *
 * @example
 * ```ts ignore
 * import { resolveTarget } from "jsr:@sandboxed/mcp-run";
 * const { server } = await resolveTarget("filesystem", {
 *   cacheRoot: "/tmp/cache",
 *   params: { dirs: ["./docs"] },
 * });
 * console.log(server.read);
 * ```
 */
export async function resolveTarget(
  target: string,
  options: ResolveTargetOptions,
): Promise<ResolvedTarget> {
  const { sources, isolationGiven, ...resolveOptions } = options;
  const loaded = await loadManifest(target, { sources });
  const chosen = resolveOptions.isolation ?? "deno";
  const isolation = !isolationGiven && chosen === "deno" && isContainerOnly(loaded.manifest.package)
    ? "docker"
    : chosen;
  const server = resolveServer(loaded.manifest, {
    ...resolveOptions,
    isolation,
    manifestDir: loaded.dir,
  });
  return { loaded, server, isolation };
}
