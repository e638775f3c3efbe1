/**
 * The launch-time grant policy applied to what a manifest decides by itself, for `check`.
 *
 * @module
 */
import { isAbsolute, join, normalize } from "../_path.ts";
import {
  type Manifest,
  type ManifestProblem,
  type ParameterSpec,
  placeholders,
} from "./manifest.ts";
import { npmPackageDir } from "./package_dir.ts";
import { GrantError } from "./grant_error.ts";
import { canonicalHome, canonicalOrSelf, canonicalPath, refusePath } from "./_grant_paths.ts";
import { netGrant, refuseInsideEgress, runFfiRefusal } from "./_grant_rules.ts";

/** Options for {@linkcode manifestGrantProblems}. */
export interface ManifestGrantProblemsOptions {
  /** The user's home directory, for `~/` entries; defaults to `$HOME`. */
  home?: string;
  /** mcp-run's cache root, never granted. */
  cacheRoot: string;
  /** The isolation `run` would use: `deno` (default) refuses `run`/`ffi`. */
  isolation?: "deno" | "docker" | "gvisor";
  /** Whether `run` would be given `--trust` (docker only). */
  trust?: boolean;
  /** Canonicalizes an existing path; defaults to `Deno.realPathSync`. */
  realPath?: (path: string) => string;
}

/**
 * Applies {@linkcode resolveServer}'s grant policy to everything a manifest decides by itself,
 * so a manifest that passes would not be refused at launch for what it wrote: literal network
 * entries (hosts that are not hosts, private and loopback addresses, ranges that overlap them),
 * literal paths (`/`, the home directory, `/proc`, credential folders, the code cache, and
 * folders holding any of them), parameter defaults used in such entries, `${package_dir}` of a
 * package that has none, and `run`/`ffi` outside trusted docker. Entries that use a parameter
 * are left to launch time, where the user's values are known; a literal path that does not exist
 * here is checked as written (one that exists, as it resolves, symlinks followed).
 *
 * Reads the file system (to canonicalize existing paths); starts nothing.
 *
 * @param manifest A validated manifest.
 * @param options Home, cache root, and the isolation and trust `run` would use.
 * @returns One problem per refused entry, with its JSON path (`permissions.net[0]`); empty when
 *   none is refused.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest_text.ts";
 * import { manifestGrantProblems } from "./manifest_grant_problems.ts";
 * const manifest = parseManifest(JSON.stringify({
 *   name: "db",
 *   description: "A database",
 *   package: "npm:db-server@1.0.0",
 *   permissions: { net: ["10.0.0.5:5432"] },
 * }));
 * const problems = manifestGrantProblems(manifest, { home: "/home/ada", cacheRoot: "/c" });
 * console.log(problems[0].path); // "permissions.net[0]"
 * ```
 */
export function manifestGrantProblems(
  manifest: Manifest,
  options: ManifestGrantProblemsOptions,
): ManifestProblem[] {
  const realPath = options.realPath ?? Deno.realPathSync;
  const home = canonicalHome(options.home ?? Deno.env.get("HOME") ?? "/", realPath);
  const problems: ManifestProblem[] = [];
  const mc: ManifestCheck = {
    manifest,
    realPath,
    home,
    cacheRoot: canonicalOrSelf(options.cacheRoot, realPath),
    check(apply) {
      try {
        apply();
      } catch (error) {
        if (!(error instanceof GrantError)) throw error;
        problems.push({ path: error.field, message: error.message });
      }
    },
  };
  for (const kind of ["read", "write"] as const) literalPathProblems(mc, kind);
  manifest.permissions.net.forEach((entry, i) => {
    if (placeholders(entry).length > 0) return;
    mc.check(() => netGrant(entry, `permissions.net[${i}]`, { kind: "manifest" }));
  });
  // Parameter defaults are the manifest's choice: checked as literal entries where they are used.
  for (const [name, spec] of Object.entries(manifest.parameters)) {
    if (spec.default !== undefined) defaultProblems(mc, name, spec);
  }
  for (const kind of ["run", "ffi"] as const) {
    mc.check(() => {
      const refused = runFfiRefusal(
        manifest,
        kind,
        options.isolation ?? "deno",
        options.trust ?? false,
      );
      if (refused) throw refused;
    });
  }
  if (options.isolation === "gvisor") {
    const net = manifest.permissions.net.filter((entry) => placeholders(entry).length === 0);
    mc.check(() => refuseInsideEgress({ name: manifest.name, specifier: manifest.package, net }));
  }
  return problems;
}

/** What the checks work from; `check` records a refusal instead of throwing it. */
interface ManifestCheck {
  manifest: Manifest;
  realPath: (path: string) => string;
  home: string;
  cacheRoot: string;
  check(apply: () => unknown): void;
}

/** A path as it resolves when it exists, else as written. */
function canonicalOrWritten(path: string, field: string, mc: ManifestCheck): string {
  try {
    return canonicalPath(path, field, mc.realPath);
  } catch {
    return normalize(path);
  }
}

/** The literal read or write entries, and `${package_dir}` of a package that has none. */
function literalPathProblems(mc: ManifestCheck, kind: "read" | "write"): void {
  const { manifest } = mc;
  manifest.permissions[kind].forEach((entry, i) => {
    const field = `permissions.${kind}[${i}]`;
    if (entry === "${package_dir}") {
      // Only an npm package has a package folder (where it is does not matter here).
      mc.check(() => {
        try {
          npmPackageDir(manifest.package, mc.cacheRoot);
        } catch (error) {
          throw new GrantError(field, (error as Error).message, { cause: error });
        }
      });
      return;
    }
    if (placeholders(entry).length > 0) return;
    const absolute = entry.startsWith("~/") ? join(mc.home, entry.slice(2)) : entry;
    const path = canonicalOrWritten(absolute, field, mc);
    mc.check(() => refusePath(kind, path, field, mc));
  });
}

/** A parameter's defaults, checked as literal entries in the grants that use the parameter. */
function defaultProblems(mc: ManifestCheck, name: string, spec: ParameterSpec): void {
  const { manifest, home } = mc;
  const defaults = Array.isArray(spec.default) ? spec.default : [spec.default ?? ""];
  const field = (i: number) =>
    `parameters.${name}.default${Array.isArray(spec.default) ? `[${i}]` : ""}`;
  const usedIn = (kind: "read" | "write" | "net") =>
    manifest.permissions[kind].some((entry) => placeholders(entry).includes(name));
  if (spec.type.startsWith("host") && usedIn("net")) {
    defaults.forEach((value, i) =>
      mc.check(() => netGrant(value, field(i), { kind: "default", param: name }))
    );
  }
  if (!spec.type.startsWith("path")) return;
  for (const kind of (["read", "write"] as const).filter(usedIn)) {
    defaults.forEach((value, i) => {
      const expanded = value === "~"
        ? home
        : value.startsWith("~/")
        ? join(home, value.slice(2))
        : value;
      if (!isAbsolute(expanded)) return; // relative to where run is started
      const path = canonicalOrWritten(expanded, field(i), mc);
      mc.check(() => refusePath(kind, path, field(i), mc));
    });
  }
}
