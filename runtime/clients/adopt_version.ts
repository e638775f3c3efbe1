/**
 * The exact version an adopted entry runs when its command does not pin one: read from the
 * installed package, or asked of the package's registry.
 *
 * @module
 */
import type { AdoptPackage } from "./adopt_entry.ts";

/** Options for {@link resolveAdoptVersion}. */
export interface ResolveAdoptVersionOptions {
  /** Environment holding `NPM_CONFIG_REGISTRY` and `PIP_INDEX_URL` (default: none, public registries). */
  env?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

const NPM_DEFAULT = "https://registry.npmjs.org/";
const PYPI_DEFAULT = "https://pypi.org/simple/";

/**
 * The exact version of `pkg`: the one it pins; for `node …/node_modules/pkg`, the version in
 * that folder's `package.json`; else the registry's answer for what the command asked for
 * (`latest`, a dist-tag, or nothing) — the npm registry of `NPM_CONFIG_REGISTRY`, the PyPI
 * index of `PIP_INDEX_URL` (its JSON simple API). An image tag has no exact version here (no
 * image registry is asked): undefined. Requires `--allow-net` to the registry (and read access
 * to an installed package).
 *
 * @param pkg The recognised package.
 * @param options Environment and fetch.
 * @returns The exact version, or undefined when it cannot be known.
 * @throws {Error} When the registry cannot be reached or has no such package, with the cause.
 * @example
 * ```ts ignore
 * import { resolveAdoptVersion } from "./adopt_version.ts";
 * const v = await resolveAdoptVersion({ kind: "npm", name: "left-pad", args: [], env: {}, passEnv: [], via: "npx" });
 * ```
 */
export async function resolveAdoptVersion(
  pkg: AdoptPackage,
  options: ResolveAdoptVersionOptions = {},
): Promise<string | undefined> {
  if (pkg.version !== undefined) return pkg.version;
  const env = options.env ?? {};
  const get = options.fetch ?? fetch;
  if (pkg.installedAt !== undefined) {
    const text = await Deno.readTextFile(`${pkg.installedAt}/package.json`).catch(() => null);
    if (text !== null) return String(JSON.parse(text).version);
  }
  if (pkg.kind === "npm") {
    const base = (env.NPM_CONFIG_REGISTRY ?? env.npm_config_registry ?? NPM_DEFAULT)
      .replace(/\/?$/, "/");
    const doc = await getJson(get, base + pkg.name.replace("/", "%2f"), {}) as {
      "dist-tags"?: Record<string, string>;
      versions?: Record<string, unknown>;
    };
    const tag = pkg.wanted ?? "latest";
    return doc["dist-tags"]?.[tag] ?? doc["dist-tags"]?.latest;
  }
  if (pkg.kind === "pypi") {
    const base = (env.PIP_INDEX_URL ?? PYPI_DEFAULT).replace(/\/?$/, "/");
    const name = pkg.name.toLowerCase().replace(/[-_.]+/g, "-");
    const doc = await getJson(get, `${base}${name}/`, {
      accept: "application/vnd.pypi.simple.v1+json",
    }) as { versions?: string[]; files?: { filename: string; yanked?: unknown }[] };
    return newestRelease(doc.versions ?? []);
  }
  return undefined;
}

async function getJson(
  get: typeof fetch,
  url: string,
  headers: Record<string, string>,
): Promise<unknown> {
  let response: Response;
  try {
    response = await get(url, { headers });
  } catch (error) {
    throw new Error(`Cannot ask ${url} for the newest version: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(
      `Cannot find the newest version at ${url}: the registry answered ${response.status}; ` +
        "pin the version in the entry",
    );
  }
  return await response.json();
}

/** The highest final release (no a/b/rc/dev) among PEP 440 versions, compared numerically. */
function newestRelease(versions: string[]): string | undefined {
  const finals = versions.filter((v) => /^\d+(\.\d+)*$/.test(v));
  const key = (v: string) => v.split(".").map(Number);
  finals.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] ?? 0) - (y[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
  return finals.at(-1);
}
