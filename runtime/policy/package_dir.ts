import { join } from "../_path.ts";
/**
 * Where Deno keeps an npm package's files inside a `DENO_DIR`, for the `${package_dir}` grant.
 *
 * @module
 */

/**
 * The `DENO_DIR` inside a container (the Deno image's): in docker isolation a server's code lives
 * there, in its read-only code volume, so `${package_dir}` resolves under it.
 */
export const CONTAINER_DENO_DIR = "/deno-dir";

/** The npm registry Deno uses when none is configured. */
export const DEFAULT_NPM_REGISTRY = "https://registry.npmjs.org/";

/**
 * Computes the folder Deno caches an npm package version in (pure: touches nothing).
 *
 * Mirrors Deno's layout: `<DENO_DIR>/npm/<registry host>[_<port>][/<path>]/<name>/<version>`,
 * where an IP-address host is left out (only its port remains).
 *
 * @param specifier An exact npm specifier, `npm:name@x.y.z[/bin]`.
 * @param denoDir The `DENO_DIR` the package is cached in.
 * @param registry The npm registry URL (default {@linkcode DEFAULT_NPM_REGISTRY}).
 * @returns The absolute folder.
 * @throws {TypeError} When the specifier is not an exact npm specifier, or names a package with
 *   capital letters (Deno encodes those folder names; not supported here).
 *
 * @example
 * ```ts
 * import { npmPackageDir } from "./package_dir.ts";
 * npmPackageDir("npm:@notionhq/notion-mcp-server@2.5.2", "/c/deno_dir");
 * // "/c/deno_dir/npm/registry.npmjs.org/@notionhq/notion-mcp-server/2.5.2"
 * ```
 */
export function npmPackageDir(
  specifier: string,
  denoDir: string,
  registry: string = DEFAULT_NPM_REGISTRY,
): string {
  const match = /^npm:((?:@[^/@]+\/)?[^/@]+)@([^/]+)(\/.*)?$/.exec(specifier);
  if (match === null) {
    throw new TypeError(
      `Cannot find the package folder of "${specifier}": only npm:name@version packages have one`,
    );
  }
  const [, name, version] = match;
  if (name !== name.toLowerCase()) {
    throw new TypeError(`Cannot find the package folder of "${specifier}": mixed-case name`);
  }
  const url = new URL(registry);
  const isIp = /^\[.*\]$|^\d+\.\d+\.\d+\.\d+$/.test(url.hostname);
  const sanitize = (s: string) => s.replace(/[<>:"|?*\\/]/g, "_");
  let host = isIp ? "" : sanitize(url.hostname);
  if (url.port) host = host ? `${host}_${url.port}` : url.port;
  const segments = url.pathname.split("/").filter((s) => s !== "").map(sanitize);
  return join(denoDir, "npm", host, ...segments, ...name.split("/"), version);
}
