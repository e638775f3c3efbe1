/**
 * The pull container's only way out: the egress proxy, allowing exactly the package index.
 * Pure but for reading the launcher's environment it is given.
 *
 * @module
 */
import { denyNetList, parseNetGrant } from "../policy/net_policy.ts";

/** PyPI's index and the host its files are served from. */
const PYPI_HOSTS = ["pypi.org:443", "files.pythonhosted.org:443"];

/**
 * The hosts a Python pull may reach: the index `PIP_INDEX_URL` names (its host and port), or
 * PyPI's two hosts; and the private ranges refused after resolution, minus an index the user
 * named by address (a local mirror).
 *
 * @param source The launcher's environment.
 * @returns Grants and deny list for `startEgress`.
 * @throws {TypeError} When `PIP_INDEX_URL` is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { pythonIndexGrants } from "./_pull_egress.ts";
 * console.log(pythonIndexGrants({}).allow); // ["pypi.org:443", "files.pythonhosted.org:443"]
 * console.log(pythonIndexGrants({ PIP_INDEX_URL: "http://127.0.0.1:8080/simple/" }).allow);
 * // ["127.0.0.1:8080"]
 * console.log(pythonIndexGrants({ PIP_INDEX_URL: "https://pypi.org/simple" }).allow.length); // 2
 * ```
 */
export function pythonIndexGrants(
  source: Record<string, string>,
): { allow: string[]; deny: string[] } {
  const index = source.PIP_INDEX_URL;
  let allow = PYPI_HOSTS;
  if (index) {
    let url: URL;
    try {
      url = new URL(index);
    } catch (error) {
      throw new TypeError("PIP_INDEX_URL is not a URL: give the index's http(s) address", {
        cause: error,
      });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`PIP_INDEX_URL must be an http(s) URL, got ${url.protocol}`);
    }
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    // PyPI named explicitly serves its files from its other host, as by default.
    allow = url.hostname === "pypi.org" ? PYPI_HOSTS : [`${url.hostname}:${port}`];
  }
  return { allow: [...allow], deny: denyNetList(allow.map(parseNetGrant)) };
}
