/**
 * mcp-run's own folders a server runs with (its package, code cache, neutral home and working
 * folder), so that a refused path inside them is said in words, not as a raw cache path; and the
 * wording context of one launch's denials.
 *
 * @module
 */
import { CONTAINER_DENO_DIR, npmPackageDir } from "../policy/package_dir.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { serverDirs } from "../sandbox/cache_dirs.ts";

/** A folder of mcp-run's own that a server runs with, and how to speak of it. */
export interface NamedPlace {
  /** The absolute folder. */
  path: string;
  /** Its name in words: `its neutral home folder`. */
  words: string;
  /** Why it is never granted; absent when it may be (then `allow` is the manifest line). */
  never?: string;
  /** The manifest entry that grants it (`${package_dir}`). */
  allow?: string;
}

/** Where the server runs, for `explainDenial`. */
export interface DenialContext {
  /** The user's home folder (for the folders that are never granted). */
  home?: string;
  /** mcp-run's cache root, never granted. */
  cacheRoot?: string;
  /** `deno` (default) or `docker`: whether `run` and `ffi` can be granted at all. */
  isolation?: string;
  /**
   * Paths denied inside the write grants because writing there makes code run elsewhere (git
   * hooks, editor and agent settings, shell rc files; see `serverProtectedPaths`).
   */
  protectedWrites?: readonly string[];
  /** mcp-run's own folders the server sees, most specific first (see {@linkcode denialPlaces}). */
  places?: NamedPlace[];
  /** The folder the server was started in, against which Deno resolves a relative path. */
  cwd?: string;
  /**
   * The server may start programs or load libraries (docker `--trust`): they inherit Deno's
   * audit variable, so its reports are unverified and get no advice.
   */
  trusted?: boolean;
}

/** Options for {@linkcode denialPlaces}. */
export interface DenialPlacesOptions {
  /** The server's neutral home (`HOME`). */
  home: string;
  /** Its neutral working folder. */
  cwd: string;
  /** The `DENO_DIR` holding its code. */
  denoDir: string;
  /** The npm registry its package came from (for the package folder). */
  registry?: string;
}

/**
 * Lists mcp-run's own folders a server runs with, so that a refused path inside them is said
 * in words rather than as a raw cache path: its package folder (grantable as `${package_dir}`),
 * its code cache, its neutral home and working folders (never granted).
 *
 * @param server The resolved server.
 * @param options Its folders (native: from `serverDirs`; docker: `/tmp`, `/deno-dir`).
 * @returns The places, most specific first.
 *
 * @example
 * ```ts
 * import { denialPlaces } from "./denial_places.ts";
 * const places = denialPlaces({ specifier: "npm:x@1.0.0" }, {
 *   home: "/c/neutral/home", cwd: "/c/neutral/cwd", denoDir: "/c/servers/x/deno_dir",
 * });
 * console.log(places[0].words); // "its own package folder"
 * ```
 */
export function denialPlaces(
  server: Pick<ResolvedServer, "specifier">,
  options: DenialPlacesOptions,
): NamedPlace[] {
  const places: NamedPlace[] = [];
  if (server.specifier.startsWith("npm:")) {
    try {
      const path = npmPackageDir(server.specifier, options.denoDir, options.registry);
      places.push({ path, words: "its own package folder", allow: '"read": ["${package_dir}"]' });
    } catch { /* not an exact npm package: no package folder */ }
  }
  const cache = "mcp-run's code cache is never granted: servers must not read or change it";
  places.push(
    { path: options.denoDir, words: "its code cache", never: cache },
    {
      path: options.home,
      words: "its neutral home folder",
      never: "mcp-run gives every server an empty neutral home folder instead of the real one, " +
        "and never grants it: declare the file the server needs as a parameter",
    },
    {
      path: options.cwd,
      words: "its neutral working folder",
      never: "mcp-run starts every server in an empty neutral folder, never granted: pass the " +
        "folder the server should work in as a parameter",
    },
  );
  return places;
}

/**
 * The places of a server in docker isolation: its code volume at `/deno-dir`, `HOME=/tmp`.
 *
 * @param server The resolved server.
 * @returns The places, most specific first.
 *
 * @example
 * ```ts
 * import { containerDenialPlaces } from "./denial_places.ts";
 * console.log(containerDenialPlaces({ specifier: "jsr:@x/y@1.0.0" })[0].path); // "/deno-dir"
 * ```
 */
export function containerDenialPlaces(server: Pick<ResolvedServer, "specifier">): NamedPlace[] {
  return denialPlaces(server, { home: "/tmp", cwd: "/nonexistent", denoDir: CONTAINER_DENO_DIR });
}

/** Options for {@linkcode denialContext}. */
export interface DenialContextOptions {
  /** mcp-run's cache root. */
  cacheRoot: string;
  /** The sandbox's isolation: `deno` (default), `docker` or `gvisor` (both containers). */
  isolation?: string;
  /** The user's home folder (default `$HOME` when readable). */
  home?: string;
  /** The paths denied inside the write grants (see {@linkcode DenialContext}). */
  protectedWrites?: readonly string[];
}

/**
 * The wording context of a server's denials in one isolation: its own folders as the server
 * sees them (native: its cache folders; docker: `/tmp` and `/deno-dir`), home and cache root,
 * natively the folder it starts in, and in docker whether it is trusted with programs or
 * libraries (then its reports are unverified).
 *
 * @param server The resolved server (its `run` and `ffi` grants, when given, mark it trusted).
 * @param options The cache root, isolation and home.
 * @returns The context for `explainDenial` and `DenialLog`.
 *
 * @example
 * ```ts
 * import { denialContext } from "./denial_places.ts";
 * const context = denialContext({ name: "t", specifier: "jsr:@x/y@1.0.0" }, {
 *   cacheRoot: "/c", home: "/home/ada",
 * });
 * console.log(context.places?.map((p) => p.words));
 * // ["its code cache", "its neutral home folder", "its neutral working folder"]
 * ```
 */
export function denialContext(
  server: Pick<ResolvedServer, "name" | "specifier"> & Partial<Pick<ResolvedServer, "run" | "ffi">>,
  options: DenialContextOptions,
): DenialContext {
  const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
  const docker = options.isolation === "docker" || options.isolation === "gvisor";
  const places = docker
    ? containerDenialPlaces(server)
    : denialPlaces(server, { home: dirs.home, cwd: dirs.cwd, denoDir: dirs.denoDir });
  let home = options.home;
  try {
    home ??= Deno.env.get("HOME");
  } catch { /* no permission to read HOME: no home folder to speak of */ }
  // Programs and libraries are granted only in docker, with --trust.
  const trusted = docker && ((server.run?.length ?? 0) > 0 || (server.ffi?.length ?? 0) > 0);
  return {
    home,
    cacheRoot: options.cacheRoot,
    isolation: options.isolation,
    places,
    ...(options.protectedWrites?.length ? { protectedWrites: options.protectedWrites } : {}),
    // Natively the server starts in its neutral folder; a container's folder is the image's.
    ...(docker ? {} : { cwd: dirs.cwd }),
    ...(trusted ? { trusted } : {}),
  };
}
