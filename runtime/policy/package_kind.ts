/**
 * The kinds of package a manifest can name, and the two that run only in a container: a PyPI
 * package (`pypi:name[extras]@version[/script]`) and an OCI image pinned by digest
 * (`oci:image@sha256:…`). Pure: parsing only.
 *
 * @module
 */
import { MANIFEST_PATTERNS } from "./manifest_schema.ts";

/** Where a server's code comes from. */
export type PackageKind = "npm" | "jsr" | "local" | "pypi" | "oci";

/** A parsed `pypi:` package. */
export interface PypiPackage {
  /** The project's name as written. */
  name: string;
  /** The extras asked for (`[cli,http]`), as written. */
  extras: string[];
  /** The exact version. */
  version: string;
  /** The console script to run, when the specifier names one. */
  script?: string;
}

/** A parsed `oci:` package. */
export interface OciPackage {
  /** The image's name, without tag or digest (`ghcr.io/acme/server`). */
  name: string;
  /** The digest, `sha256:<64 hex>`. */
  digest: string;
  /** What docker is given: `name@sha256:…`. */
  reference: string;
}

const PYPI_RE = new RegExp(MANIFEST_PATTERNS.pypiPackage);
const OCI_RE = new RegExp(MANIFEST_PATTERNS.ociPackage);

/**
 * The kind of a package specifier, from its scheme: `npm:`, `jsr:`, `pypi:`, `oci:`, else a local
 * file. Does not check the rest (see {@linkcode packageProblem}).
 *
 * @param specifier A manifest's `package` (or a resolved server's specifier).
 * @returns Its kind.
 *
 * @example
 * ```ts
 * import { packageKind } from "./package_kind.ts";
 * console.log(packageKind("pypi:mcp-server-time@2026.10.19")); // "pypi"
 * console.log(packageKind("./server.ts")); // "local"
 * ```
 */
export function packageKind(specifier: string): PackageKind {
  const scheme = /^(npm|jsr|pypi|oci):/.exec(specifier)?.[1];
  return (scheme ?? "local") as PackageKind;
}

/**
 * Whether a package runs only in a container (Deno's flags cannot confine it): `pypi:` and
 * `oci:` packages.
 *
 * @param specifier A manifest's `package` (or a resolved server's specifier).
 * @returns `true` for `pypi:` and `oci:` packages.
 *
 * @example
 * ```ts
 * import { isContainerOnly } from "./package_kind.ts";
 * console.log(isContainerOnly("oci:example/server@sha256:" + "a".repeat(64))); // true
 * console.log(isContainerOnly("npm:x@1.0.0")); // false
 * ```
 */
export function isContainerOnly(specifier: string): boolean {
  const kind = packageKind(specifier);
  return kind === "pypi" || kind === "oci";
}

/**
 * Tells what is wrong with a `pypi:` or `oci:` package, if anything, and how to write it.
 * Other kinds are left to the manifest check.
 *
 * @param specifier A manifest's `package`.
 * @returns The problem, or `undefined` when it is valid (or not `pypi:`/`oci:`).
 *
 * @example
 * ```ts
 * import { packageProblem } from "./package_kind.ts";
 * console.log(packageProblem("pypi:mcp-server-time@2026.10.19")); // undefined
 * console.log(packageProblem("oci:example/server:latest")!.includes("tag")); // true
 * ```
 */
export function packageProblem(specifier: string): string | undefined {
  const kind = packageKind(specifier);
  if (kind === "pypi") return PYPI_RE.test(specifier) ? undefined : pypiProblem(specifier);
  if (kind === "oci") return OCI_RE.test(specifier) ? undefined : ociProblem(specifier);
  return undefined;
}

function pypiProblem(specifier: string): string {
  const how = "write pypi:name@1.2.3 (optionally pypi:name[extra,…]@1.2.3/script)";
  const version = specifier.slice(specifier.indexOf("@") + 1).split("/")[0];
  if (!specifier.includes("@")) {
    return `"${specifier}" names no version: ${how}; the version is exact, so one entry ` +
      "means one code";
  }
  if (/[=<>~!*^,|]|\s/.test(version)) {
    return `"${specifier}" is not an exact version ("${version}"): ${how}, with no ranges, ` +
      "==, * or other operators";
  }
  return `"${specifier}" is not an exact PyPI package: ${how}`;
}

function ociProblem(specifier: string): string {
  const at = specifier.indexOf("@");
  const name = specifier.slice("oci:".length, at === -1 ? undefined : at);
  const colon = name.lastIndexOf(":");
  const tag = colon > name.lastIndexOf("/") ? name.slice(colon + 1) : "";
  const bare = tag ? name.slice(0, colon) : name;
  const how = `write oci:${bare || "image"}@sha256:<64 hex digits> (docker images ` +
    `--digests ${bare || "image"}, or docker buildx imagetools inspect ${name || "image"}, ` +
    "shows it)";
  if (tag) {
    return `"${specifier}" names the tag "${tag}", which a registry can move to other code: ` +
      `${how}, with no tag`;
  }
  if (at === -1) return `"${specifier}" has no digest: ${how}`;
  return `"${specifier}" is not an image pinned by digest: ${how}`;
}

/**
 * Parses a `pypi:` package.
 *
 * @param specifier `pypi:name[extra,…]@version[/script]`.
 * @returns Its parts.
 * @throws {SyntaxError} When it is not a valid, exact `pypi:` package (the message says how to
 *   write it).
 *
 * @example
 * ```ts
 * import { parsePypiPackage } from "./package_kind.ts";
 * const pkg = parsePypiPackage("pypi:markitdown-mcp[all]@0.0.1a4/markitdown-mcp");
 * console.log(pkg.name, pkg.extras, pkg.version, pkg.script);
 * // markitdown-mcp ["all"] 0.0.1a4 markitdown-mcp
 * ```
 */
export function parsePypiPackage(specifier: string): PypiPackage {
  if (packageKind(specifier) !== "pypi" || !PYPI_RE.test(specifier)) {
    throw new SyntaxError(
      `Invalid package: ${
        packageKind(specifier) === "pypi" ? pypiProblem(specifier) : `"${specifier}" is not pypi:`
      }`,
    );
  }
  const rest = specifier.slice("pypi:".length);
  const at = rest.indexOf("@");
  const head = rest.slice(0, at);
  const [version, script] = rest.slice(at + 1).split("/");
  const bracket = head.indexOf("[");
  const name = bracket === -1 ? head : head.slice(0, bracket);
  const extras = bracket === -1 ? [] : head.slice(bracket + 1, -1).split(",");
  return script === undefined ? { name, extras, version } : { name, extras, version, script };
}

/**
 * Parses an `oci:` package.
 *
 * @param specifier `oci:image@sha256:<64 hex>`.
 * @returns Its parts.
 * @throws {SyntaxError} When it is not an image pinned by digest (a tag is refused; the message
 *   says how to write it).
 *
 * @example
 * ```ts
 * import { parseOciPackage } from "./package_kind.ts";
 * const pkg = parseOciPackage(`oci:ghcr.io/acme/server@sha256:${"0".repeat(64)}`);
 * console.log(pkg.name); // "ghcr.io/acme/server"
 * ```
 */
export function parseOciPackage(specifier: string): OciPackage {
  if (packageKind(specifier) !== "oci" || !OCI_RE.test(specifier)) {
    throw new SyntaxError(
      `Invalid package: ${
        packageKind(specifier) === "oci" ? ociProblem(specifier) : `"${specifier}" is not oci:`
      }`,
    );
  }
  const reference = specifier.slice("oci:".length);
  const at = reference.indexOf("@");
  return { name: reference.slice(0, at), digest: reference.slice(at + 1), reference };
}

/**
 * A PyPI project name in its normalized form (PEP 503): lowercase, runs of `-`, `_` and `.` as
 * one `-`. Two names are the same project when these are equal.
 *
 * @param name A project (or console script) name.
 * @returns The normalized name.
 *
 * @example
 * ```ts
 * import { normalizePypiName } from "./package_kind.ts";
 * console.log(normalizePypiName("MCP_Server.Time")); // "mcp-server-time"
 * ```
 */
export function normalizePypiName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}
