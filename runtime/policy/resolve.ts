/**
 * Permission resolution: a manifest plus the user's parameters becomes a {@linkcode ResolvedServer}
 * with absolute, canonical, validated grants — the single input of every argv builder.
 *
 * @module
 */
import { dirname, join, resolve as resolvePath } from "../_path.ts";
import { type Manifest, placeholders } from "./manifest.ts";
import { denyNetList, formatNetGrant, isPrivateGrant, type NetGrant } from "./net_policy.ts";
import { CONTAINER_DENO_DIR, npmPackageDir } from "./package_dir.ts";
import { isWithin } from "./path_policy.ts";
import { netGrant, type NetSource, runFfiRefusal } from "./_grant_rules.ts";
import { GrantError } from "./grant_error.ts";
import { type ParamContext, resolveParams } from "./_resolve_params.ts";
import {
  canonicalHome,
  canonicalOrSelf,
  canonicalPath,
  checkSymlinks,
  dedupePaths,
  refusePath,
} from "./_grant_paths.ts";
import { serverDirs } from "../sandbox/cache_dirs.ts";

export { GrantError };
export {
  manifestGrantProblems,
  type ManifestGrantProblemsOptions,
} from "./manifest_grant_problems.ts";

/** Everything needed to launch a server, with every grant final. */
export interface ResolvedServer {
  /** Registry name. */
  name: string;
  /**
   * What runs: an `npm:`/`jsr:` specifier or an absolute file path (Deno), or a `pypi:`/`oci:`
   * package as the manifest wrote it (a container).
   */
  specifier: string;
  /** Server arguments, parameters expanded. */
  args: string[];
  /** Canonical paths the server may read. */
  read: string[];
  /** Canonical paths the server may write. */
  write: string[];
  /**
   * Every canonical write grant as given, when some lie inside others (which `write` folds into
   * the folders that hold them): a grant of a protected path itself (`.vscode`) lifts that
   * protection (see `protectedWritePaths`).
   */
  writeGiven?: string[];
  /** `--allow-net` entries. */
  net: string[];
  /** `--deny-net` entries: the private ranges minus what the user granted. */
  denyNet: string[];
  /** Environment names (declared settings and secrets) the server may read. */
  env: string[];
  /** The subset of {@linkcode ResolvedServer.env} that carries credentials. */
  secrets: string[];
  /** Environment names that must be set when launching. */
  requiredEnv: string[];
  /** Variables the launcher sets itself (manifest `env.X.value`, parameters expanded). */
  envValues: Record<string, string>;
  /** Deno sys APIs. */
  sys: string[];
  /** Programs the server may start (only when trusted, docker only). */
  run: string[];
  /** Native libraries the server may load (only when trusted, docker only). */
  ffi: string[];
  /** The folder of a local server's entry module. */
  localDir?: string;
  /** The Python image a `pypi:` package's manifest chose (the user's choice still wins). */
  image?: string;
  /** Resolved parameter values, for config entries and descriptions. */
  params: Record<string, string[]>;
  /**
   * The manifest it was resolved from, checked against the approved one before its code is
   * fetched or started (absent when a server is built by hand).
   */
  manifest?: Manifest;
}

/** Options for {@linkcode resolveServer}. */
export interface ResolveServerOptions {
  /** User parameter values by name (several values for list parameters). */
  params?: Record<string, string | string[]>;
  /** Extra server arguments appended after the manifest's. */
  extraArgs?: string[];
  /** Folder the manifest came from, for local packages. */
  manifestDir?: string;
  /** Folder relative parameter paths are resolved against; defaults to `Deno.cwd()`. */
  cwd?: string;
  /** The user's home directory; defaults to `$HOME`. */
  home?: string;
  /** mcp-run's cache root, never granted. */
  cacheRoot: string;
  /**
   * `deno` (default) refuses `run`/`ffi`; `docker` and `gvisor` (containers) allow them when
   * `trust` is set.
   */
  isolation?: "deno" | "docker" | "gvisor";
  /** The user's explicit decision to let the server start programs or load libraries. */
  trust?: boolean;
  /** Canonicalizes an existing path; defaults to `Deno.realPathSync`. */
  realPath?: (path: string) => string;
  /**
   * Most directory entries scanned for escaping symlinks per grant (default 50000); a larger
   * grant is refused. `0` turns the scan off, which lets links inside a grant lead anywhere.
   */
  symlinkScanLimit?: number;
  /** The npm registry packages are pulled from, for `${package_dir}` (default npmjs). */
  npmRegistry?: string;
}

/**
 * Resolves a manifest and the user's parameters into final grants.
 *
 * Expands `${name}` placeholders, makes paths absolute and canonical (symlinks resolved), refuses
 * dangerous paths and granted folders holding symlinks that lead outside every grant, validates
 * hosts, computes the private-network deny list, and refuses `run`/`ffi` outside trusted docker.
 * Reads the file system (to canonicalize paths); starts nothing.
 *
 * @param manifest A validated manifest.
 * @param options Parameters, folders and policy.
 * @returns The resolved server.
 * @throws {GrantError} Naming the field or parameter when anything is refused or missing.
 *
 * @example
 * ```ts ignore
 * import { parseManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 * const manifest = parseManifest(await Deno.readTextFile("manifests/filesystem.jsonc"));
 * const server = resolveServer(manifest, { params: { dirs: ["./docs"] }, cacheRoot: "/tmp/c" });
 * console.log(server.read);
 * ```
 */
export function resolveServer(manifest: Manifest, options: ResolveServerOptions): ResolvedServer {
  const rc = resolveContext(manifest, options);
  const read = resolvePaths(rc, "read");
  const writeGiven = resolvePaths(rc, "write", false);
  const write = dedupePaths(writeGiven);
  checkGrantedLinks(rc, [...read, ...write]);
  const net = resolveNet(rc);
  for (const kind of ["run", "ffi"] as const) {
    const refused = runFfiRefusal(manifest, kind, rc.isolation, options.trust ?? false);
    if (refused) throw refused;
  }
  const env = resolveEnv(rc);
  const pkg = resolvePackage(rc);
  const server: ResolvedServer = {
    name: manifest.name,
    specifier: pkg.specifier,
    args: resolveArgs(rc),
    read,
    write,
    ...net,
    ...env,
    sys: [...new Set(manifest.permissions.sys)].sort(),
    run: rc.docker ? [...manifest.permissions.run].sort() : [],
    ffi: rc.docker ? [...manifest.permissions.ffi].sort() : [],
    params: rc.params,
  };
  if (pkg.localDir) server.localDir = pkg.localDir;
  if (manifest.image) server.image = manifest.image;
  // Only when a grant inside another was folded into it: it may lift a write protection.
  if (writeGiven.length > write.length) server.writeGiven = [...new Set(writeGiven)].sort();
  server.manifest = manifest;
  return server;
}

/** What every step of {@linkcode resolveServer} works from: canonical folders and values. */
interface ResolveContext extends ParamContext {
  manifest: Manifest;
  options: ResolveServerOptions;
  cacheRoot: string;
  params: Record<string, string[]>;
  isolation: "deno" | "docker" | "gvisor";
  /** Whether the server runs in a container (docker or gVisor): grants are mounts. */
  docker: boolean;
}

function resolveContext(manifest: Manifest, options: ResolveServerOptions): ResolveContext {
  const realPath = options.realPath ?? Deno.realPathSync;
  const cwd = options.cwd ?? Deno.cwd();
  const home = canonicalHome(options.home ?? Deno.env.get("HOME") ?? "/", realPath);
  const cacheRoot = canonicalOrSelf(options.cacheRoot, realPath);
  const params = resolveParams(manifest, options.params ?? {}, { cwd, home, realPath });
  const isolation = options.isolation ?? "deno";
  return {
    manifest,
    options,
    realPath,
    cwd,
    home,
    cacheRoot,
    params,
    isolation,
    docker: isolation !== "deno",
  };
}

/**
 * Expands the `${name}` placeholders of one manifest entry: a list parameter standing alone
 * gives one value per item; anywhere else each placeholder takes its parameter's first value.
 */
function expandEntry(entry: string, field: string, params: Record<string, string[]>): string[] {
  const names = placeholders(entry);
  if (names.length === 0) return [entry];
  if (names.length === 1 && entry === `\${${names[0]}}`) return params[names[0]] ?? [];
  let missing: string | undefined;
  const out = entry.replace(/\$\{([^}]*)\}/g, (_, n: string) => {
    const v = params[n];
    if (!v || v.length === 0) missing = n;
    return v?.[0] ?? "";
  });
  if (missing) {
    throw new GrantError(
      field,
      `${field} uses parameter "${missing}", which has no value: pass -p ${missing}=VALUE`,
    );
  }
  return [out];
}

/** The read or write grants: canonical, refused where forbidden, deduplicated. */
function resolvePaths(rc: ResolveContext, kind: "read" | "write", dedupe = true): string[] {
  const out: string[] = [];
  rc.manifest.permissions[kind].forEach((entry, i) => {
    const field = `permissions.${kind}[${i}]`;
    if (entry === "${package_dir}") {
      out.push(packageDirGrant(rc, field));
      return;
    }
    for (const value of expandEntry(entry, field, rc.params)) {
      const absolute = value.startsWith("~/") ? join(rc.home, value.slice(2)) : value;
      const path = canonicalPath(absolute, field, rc.realPath);
      refusePath(kind, path, field, rc);
      out.push(path);
    }
  });
  return dedupe ? dedupePaths(out) : out;
}

/**
 * `${package_dir}`: the server's own code, inside the cache mcp-run manages, never a user path.
 * In docker the code lives in the read-only code volume, at the image's DENO_DIR.
 */
function packageDirGrant(rc: ResolveContext, field: string): string {
  const { manifest, options } = rc;
  const denoDir = rc.docker
    ? CONTAINER_DENO_DIR
    : serverDirs(manifest.name, manifest.package, rc.cacheRoot).denoDir;
  try {
    return npmPackageDir(manifest.package, denoDir, options.npmRegistry);
  } catch (error) {
    throw new GrantError(field, (error as Error).message, { cause: error });
  }
}

/** Refuses granted folders holding links that lead outside every grant (the cache excepted). */
function checkGrantedLinks(rc: ResolveContext, paths: string[]): void {
  checkSymlinks(
    paths.filter((path) =>
      !isWithin(path, rc.cacheRoot) && !(rc.docker && isWithin(path, CONTAINER_DENO_DIR))
    ),
    rc.options.symlinkScanLimit ?? 50000,
    rc.realPath,
  );
}

/** The network grants, and the private ranges still denied around what the user granted. */
function resolveNet(rc: ResolveContext): Pick<ResolvedServer, "net" | "denyNet"> {
  const grants: NetGrant[] = [];
  const userPrivate: NetGrant[] = [];
  rc.manifest.permissions.net.forEach((entry, i) => {
    const field = `permissions.net[${i}]`;
    // A private address is granted only when every value in the entry came from the user: not
    // from the manifest's text, nor from a parameter's default (the manifest's choice too).
    const names = placeholders(entry);
    const defaulted = names.find((name) => rc.options.params?.[name] === undefined);
    const source: NetSource = names.length === 0
      ? { kind: "manifest" }
      : defaulted === undefined
      ? { kind: "user" }
      : { kind: "default", param: defaulted };
    for (const value of expandEntry(entry, field, rc.params)) {
      const grant = netGrant(value, field, source);
      if (isPrivateGrant(grant)) userPrivate.push(grant);
      grants.push(grant);
    }
  });
  return {
    net: [...new Set(grants.map(formatNetGrant))].sort(),
    denyNet: denyNetList(userPrivate),
  };
}

/** Environment names, credentials among them, the required ones, and launcher-set values. */
function resolveEnv(
  rc: ResolveContext,
): Pick<ResolvedServer, "env" | "secrets" | "requiredEnv" | "envValues"> {
  const { manifest } = rc;
  const secrets = Object.keys(manifest.secrets);
  const env = [...new Set([...manifest.permissions.env, ...Object.keys(manifest.env), ...secrets])]
    .sort();
  const envValues: Record<string, string> = {};
  for (const [name, spec] of Object.entries(manifest.env)) {
    if (spec.value !== undefined) {
      envValues[name] = expandEntry(spec.value, `env.${name}.value`, rc.params)[0] ?? "";
    }
  }
  const requiredEnv = Object.entries({ ...manifest.env, ...manifest.secrets })
    .filter(([name, spec]) => spec.required && !(name in envValues)).map(([name]) => name).sort();
  return { env, secrets: secrets.sort(), requiredEnv, envValues };
}

/** What Deno runs: a registry specifier as written, or a local module's canonical path. */
function resolvePackage(rc: ResolveContext): { specifier: string; localDir?: string } {
  const specifier = rc.manifest.package;
  // Registry packages and images are kept as written: the sandbox pulls exactly that.
  if (/^(npm|jsr|pypi|oci):/.test(specifier)) return { specifier };
  const base = rc.options.manifestDir ?? rc.cwd;
  const local = canonicalPath(resolvePath(base, specifier), "package", rc.realPath);
  return { specifier: local, localDir: dirname(local) };
}

/** The manifest's arguments, parameters expanded, then the user's extra arguments. */
function resolveArgs(rc: ResolveContext): string[] {
  return [
    ...rc.manifest.args.flatMap((arg, i) => expandEntry(arg, `args[${i}]`, rc.params)),
    ...(rc.options.extraArgs ?? []),
  ];
}
