/**
 * Plain-language permission labels for registry entries, before any parameter is given: what a
 * server can read, write and reach, and which secrets it receives.
 *
 * @module
 */
import type { Manifest } from "./manifest.ts";
import { placeholders } from "./manifest.ts";

function describeEntry(entry: string, manifest: Manifest): string {
  if (entry === "${package_dir}") return "its own package files";
  const names = placeholders(entry);
  if (names.length === 0) return entry;
  return entry.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    const spec = manifest.parameters[name];
    const def = spec?.default === undefined ? "" : ` (default ${[spec.default].flat().join(", ")})`;
    if (entry === `\${${name}}`) {
      const what = spec?.type.startsWith("path")
        ? "the folders you choose"
        : spec?.type.startsWith("host")
        ? "the hosts you choose"
        : "the values you choose";
      return `${what} (${name})${def}`;
    }
    return `<${name}>${def}`;
  });
}

/**
 * Describes what a registry entry may touch, one line per kind, in plain words. Runs and
 * native libraries come first and in capitals because they escape the sandbox.
 *
 * @param manifest A validated manifest.
 * @returns Lines such as `Reaches: api.github.com` or `Reads no files`.
 * @example
 * ```ts
 * import { parseManifest } from "./manifest_text.ts";
 * import { permissionLabel } from "./permission_label.ts";
 * const m = parseManifest(`{"name": "gh", "description": "d", "package": "npm:gh@1.0.0",
 *   "permissions": {"net": ["api.github.com"]}, "secrets": {"TOKEN": {"description": "t", "required": true}}}`);
 * console.log(permissionLabel(m).join("\n"));
 * // Reads no files
 * // Writes no files
 * // Reaches: api.github.com
 * // Receives secrets: TOKEN
 * ```
 */
export function permissionLabel(manifest: Manifest): string[] {
  const p = manifest.permissions;
  const list = (items: string[]) => items.map((e) => describeEntry(e, manifest)).join(", ");
  const lines: string[] = [];
  const container = containerLine(manifest.package, p.net.length > 0);
  if (container) lines.push(container);
  if (p.run.length) lines.push(`STARTS PROGRAMS (docker and --trust only): ${p.run.join(", ")}`);
  if (p.ffi.length) {
    lines.push(`LOADS NATIVE LIBRARIES (docker and --trust only): ${p.ffi.join(", ")}`);
  }
  lines.push(p.read.length ? `Reads: ${list(p.read)}` : "Reads no files");
  lines.push(p.write.length ? `Writes: ${list(p.write)}` : "Writes no files");
  lines.push(p.net.length ? `Reaches: ${list(p.net)}` : "No network access");
  const env = [...new Set([...p.env, ...Object.keys(manifest.env)])].sort();
  if (env.length) lines.push(`Reads settings: ${env.join(", ")}`);
  const secrets = Object.keys(manifest.secrets).sort();
  if (secrets.length) lines.push(`Receives secrets: ${secrets.join(", ")}`);
  if (p.sys.length) lines.push(`Reads system information: ${p.sys.join(", ")}`);
  return lines;
}

/** What kind of container a package that runs only in one is started in, in plain words. */
function containerLine(pkg: string, net: boolean): string | undefined {
  const kind = pkg.startsWith("pypi:")
    ? "a Python package from PyPI"
    : pkg.startsWith("oci:")
    ? "an image pinned by digest"
    : undefined;
  if (!kind) return undefined;
  return `Runs only in a container: ${kind}${net ? ", network through mcp-run's proxy" : ""}`;
}

/**
 * A one-line summary of a registry entry's permissions, for `list` and `search`.
 *
 * @param manifest A validated manifest.
 * @returns Text such as `net: api.github.com · 1 secret` or `no permissions`.
 * @example
 * ```ts
 * import { parseManifest } from "./manifest_text.ts";
 * import { permissionSummary } from "./permission_label.ts";
 * const m = parseManifest(`{"name": "t", "description": "d", "package": "npm:t@1.0.0"}`);
 * console.log(permissionSummary(m)); // "no permissions"
 * ```
 */
export function permissionSummary(manifest: Manifest): string {
  const p = manifest.permissions;
  const parts: string[] = [];
  if (/^(pypi|oci):/.test(manifest.package)) parts.push("container");
  if (p.run.length || p.ffi.length) parts.push("RUNS PROGRAMS/LIBRARIES");
  const short = (items: string[]) => items.map((e) => describeEntry(e, manifest).split(" (")[0]);
  if (p.read.length) parts.push(`read: ${short(p.read).join(", ")}`);
  if (p.write.length) parts.push(`write: ${short(p.write).join(", ")}`);
  if (p.net.length) parts.push(`net: ${short(p.net).join(", ")}`);
  const secrets = Object.keys(manifest.secrets).length;
  if (secrets) parts.push(`${secrets} secret${secrets === 1 ? "" : "s"}`);
  return parts.length ? parts.join(" · ") : "no permissions";
}
