/**
 * Environment policy: which variable names a server may be given, and how a declared
 * `PREFIX_*` pattern matches names.
 *
 * @module
 */

/**
 * The prefix a `PREFIX_*` pattern matches (`GITHUB_*` gives `GITHUB_`), or `undefined` for an
 * exact name.
 *
 * @param entry A declared env entry: an exact name or a `PREFIX_*` pattern.
 * @returns The prefix, with its trailing underscore, or `undefined`.
 *
 * @example
 * ```ts
 * import { envPatternPrefix } from "./env_policy.ts";
 * console.log(envPatternPrefix("GITHUB_*"), envPatternPrefix("GITHUB_TOKEN")); // "GITHUB_" undefined
 * ```
 */
export function envPatternPrefix(entry: string): string | undefined {
  return entry.endsWith("_*") ? entry.slice(0, -1) : undefined;
}

/**
 * Tells whether a declared env entry covers a variable name: an exact name matches itself, a
 * `PREFIX_*` pattern every name that starts with its prefix. Letter case counts, as in Deno's
 * `--allow-env` on Linux.
 *
 * @param declared A declared env entry: an exact name or a `PREFIX_*` pattern.
 * @param name A concrete variable name.
 * @returns `true` when `declared` covers `name`.
 *
 * @example
 * ```ts
 * import { envNameMatches } from "./env_policy.ts";
 * console.log(envNameMatches("APP_*", "APP_MODE"), envNameMatches("APP_*", "app_mode")); // true false
 * console.log(envNameMatches("TOKEN", "TOKEN"), envNameMatches("TOKEN", "TOKEN_2")); // true false
 * ```
 */
export function envNameMatches(declared: string, name: string): boolean {
  const prefix = envPatternPrefix(declared);
  return prefix === undefined ? declared === name : name.startsWith(prefix);
}

/**
 * The environment names reserved for the launcher, listed here once: no manifest may ask for
 * them, and no server ever receives them, whether named exactly or matched by a `PREFIX_*`
 * pattern. Compared in any letter case: Deno, npm and many tools also read lowercase names
 * (`http_proxy`, `no_proxy`, `npm_config_registry`).
 *
 * They steer Deno and Node compatibility (`DENO_*`, `NODE_*`: `NODE_OPTIONS`,
 * `NODE_EXTRA_CA_CERTS`, `DENO_CERT`, `DENO_TLS_CA_STORE`, `DENO_DIR`), npm (`NPM_CONFIG_*`),
 * the dynamic loader (`LD_*`, `DYLD_*`), the network (`*_PROXY`: `HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY`, `NO_PROXY`, which may carry the user's proxy credentials; `JSR_URL`), TLS trust
 * and secrets (`SSL_CERT_FILE`, `SSL_CERT_DIR`, `SSLKEYLOGFILE`, `REQUESTS_CA_BUNDLE`,
 * `CURL_CA_BUNDLE`), or they are set by the launcher itself (`PATH`, `HOME`, `TMPDIR`, `NO_COLOR`).
 */
const RESERVED_ENV = {
  /** Every name that starts with one of these. */
  prefixes: ["DENO_", "NODE_", "NPM_CONFIG_", "LD_", "DYLD_"],
  /** Every name that ends with one of these. */
  suffixes: ["_PROXY"],
  /** These exact names. */
  names: [
    "PATH",
    "HOME",
    "TMPDIR",
    "JSR_URL",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NO_COLOR",
  ],
  /**
   * Reserved names the launcher itself puts in every server's environment, for Deno rather than
   * for the server's code (the neutral folders, the TLS store, the user's registry mirrors,
   * whose URLs may hold credentials). They are there, so Deno's `--allow-env=PREFIX_*` would let
   * the server read any that a pattern matches: such a pattern (`JSR_*`, `NPM_*`, `NO_*`) is
   * reserved too.
   */
  launcherSet: [
    "HOME",
    "DENO_DIR",
    "DENO_NO_UPDATE_CHECK",
    "DENO_NO_PROMPT",
    "DENO_CERT",
    "DENO_TLS_CA_STORE",
    "NO_COLOR",
    "JSR_URL",
    "NPM_CONFIG_REGISTRY",
  ],
} as const satisfies Record<string, readonly string[]>;

/**
 * Tells whether an environment name is reserved for the launcher, or whether a `PREFIX_*`
 * pattern is: one that can only match reserved names (`DENO_*`, `NPM_CONFIG_*`, `LD_*`), or
 * that matches a name the launcher puts in every server's environment (`JSR_*` matches
 * `JSR_URL`, `NPM_*` matches `NPM_CONFIG_REGISTRY`). Letter case does not matter.
 *
 * Any other pattern is not reserved, even when it matches some reserved names (`HTTP_*`
 * matches `HTTP_TIMEOUT` as well as `HTTP_PROXY`): the reserved names among its matches are
 * left out when the server's environment is built (see `serverEnv`).
 *
 * @param name An environment variable name or `PREFIX_*` pattern.
 * @returns `true` when a manifest may not request it.
 *
 * @example
 * ```ts
 * import { isReservedEnvName } from "./env_policy.ts";
 * console.log(isReservedEnvName("NODE_OPTIONS"), isReservedEnvName("GITHUB_TOKEN")); // true false
 * console.log(isReservedEnvName("http_proxy"), isReservedEnvName("DENO_*")); // true true
 * console.log(isReservedEnvName("NPM_*")); // true: it matches NPM_CONFIG_REGISTRY
 * console.log(isReservedEnvName("HTTP_*")); // false: HTTP_TIMEOUT is an ordinary name
 * ```
 */
export function isReservedEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  const prefix = envPatternPrefix(upper);
  if (prefix !== undefined) {
    return RESERVED_ENV.prefixes.some((p) => prefix.startsWith(p)) ||
      RESERVED_ENV.launcherSet.some((n) => n.startsWith(prefix));
  }
  return RESERVED_ENV.prefixes.some((p) => upper.startsWith(p)) ||
    RESERVED_ENV.suffixes.some((s) => upper.endsWith(s)) ||
    (RESERVED_ENV.names as readonly string[]).includes(upper);
}

/** Well-known proxy variables, which Deno and most tools read in either letter case. */
const PROXY_NAMES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY"];

/**
 * Lists the well-known reserved names a `PREFIX_*` pattern matches (exact case, as Deno matches
 * on Linux): `HTTP_*` matches `HTTP_PROXY`, `SSL_*` matches `SSL_CERT_FILE` and `SSL_CERT_DIR`.
 * A launch where the server's environment is not built from scratch (a client config entry that
 * runs `deno run` itself, with the client's environment) denies these with `--deny-env`.
 *
 * @param pattern A declared env entry; an exact name matches nothing.
 * @returns The reserved names it matches, sorted.
 *
 * @example
 * ```ts
 * import { reservedNamesMatching } from "./env_policy.ts";
 * console.log(reservedNamesMatching("SSL_*")); // ["SSL_CERT_DIR", "SSL_CERT_FILE"]
 * console.log(reservedNamesMatching("GITHUB_TOKEN")); // []
 * ```
 */
export function reservedNamesMatching(pattern: string): string[] {
  const prefix = envPatternPrefix(pattern);
  if (prefix === undefined) return [];
  const known = [...RESERVED_ENV.names, ...RESERVED_ENV.launcherSet, ...PROXY_NAMES];
  const candidates = new Set(known.flatMap((name) => [name, name.toLowerCase()]));
  return [...candidates].filter((name) => name.startsWith(prefix)).sort();
}
