/**
 * The environment a server process gets: built from scratch, never inherited.
 *
 * @module
 */
import { envNameMatches, envPatternPrefix, isReservedEnvName } from "../policy/env_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/**
 * Variables copied from the launcher's own environment into Deno's (never the server's code):
 * how to trust TLS certificates. They configure the runtime, hold no secrets, and are never
 * taken from a manifest or a request (they are reserved names: see `isReservedEnvName`).
 */
export const TLS_TRUST_VARS: readonly string[] = ["DENO_CERT", "DENO_TLS_CA_STORE"];

/** The CA file Node's compatibility layer reads, so npm downloads trust the same roots. */
const NODE_CA_VAR = "NODE_EXTRA_CA_CERTS";

/** Proxy variables, upper case and the lower-case forms Deno and curl also read. */
const PROXY_VARS: readonly string[] = [
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "https_proxy",
  "http_proxy",
];

/**
 * Variables the pull step may also use: proxies and registry locations. All are reserved names
 * (see `isReservedEnvName`): a server never receives them from the launcher's environment.
 */
export const PULL_VARS: readonly string[] = [
  ...TLS_TRUST_VARS,
  NODE_CA_VAR,
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  ...PROXY_VARS,
  "no_proxy",
  "NPM_CONFIG_REGISTRY",
  "JSR_URL",
];

/**
 * Proxy variables the docker pull container gets by name, to reach the registries. Unlike
 * {@linkcode PULL_VARS}, it has never passed `no_proxy`, `SSL_CERT_FILE` or `SSL_CERT_DIR`.
 */
export const DOCKER_PULL_PROXY_VARS: readonly string[] = PROXY_VARS;

/** TLS trust variables naming a CA file (mounted read-only) or a store, for docker pull. */
export const DOCKER_PULL_TLS_VARS: readonly string[] = [
  "DENO_CERT",
  NODE_CA_VAR,
  "DENO_TLS_CA_STORE",
];

/** TLS trust variables a docker server with network access gets, as in native mode. */
export const DOCKER_RUN_TLS_VARS: readonly string[] = TLS_TRUST_VARS;

/** Options for {@linkcode serverEnv}. */
export interface ServerEnvOptions {
  /** The neutral `HOME` (no `.npmrc`). */
  home: string;
  /** The server's code cache. */
  denoDir: string;
  /** The launcher's environment, the source of declared values. */
  source: Record<string, string>;
  /** Registry overrides chosen by the user (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries?: Record<string, string>;
}

/**
 * Builds a server's environment from scratch: `HOME`, `DENO_DIR`, update-check and color
 * settings, TLS trust settings, and exactly the declared names that are set in `source`.
 *
 * Reservation is checked for each concrete name here, not only on the manifest's text: a
 * `PREFIX_*` pattern copies every matching name of `source` except the reserved ones (`HTTP_*`
 * passes `HTTP_TIMEOUT`, never `HTTP_PROXY`; `SSL_*` never passes `SSL_CERT_FILE`), in any
 * letter case. The docker plan passes on exactly the names this returns.
 *
 * @param server A resolved server.
 * @param options Neutral folders and the launcher's environment.
 * @returns The complete environment.
 * @throws {TypeError} When a required variable or secret is not set, naming it and its use.
 * @throws {RangeError} When the server declares or sets a reserved name or pattern (a server not
 *   built from a validated manifest), or a pattern that matches a name the launcher sets.
 *
 * @example
 * ```ts
 * import { serverEnv } from "./child_env.ts";
 * const env = serverEnv({
 *   name: "gh", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: ["GITHUB_TOKEN"], secrets: ["GITHUB_TOKEN"], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [],
 *   params: {},
 * }, { home: "/h", denoDir: "/d", source: { GITHUB_TOKEN: "t", AWS_SECRET: "x" } });
 * console.log(env.GITHUB_TOKEN, env.AWS_SECRET); // "t" undefined
 * ```
 */
export function serverEnv(
  server: ResolvedServer,
  options: ServerEnvOptions,
): Record<string, string> {
  const env: Record<string, string> = {
    HOME: options.home,
    DENO_DIR: options.denoDir,
    ...FIXED_ENV,
  };
  for (const name of TLS_TRUST_VARS) {
    if (options.source[name] !== undefined) env[name] = options.source[name];
  }
  Object.assign(env, options.registries ?? {});
  const declared = declaredEnv(server, { source: options.source, launcherNames: Object.keys(env) });
  return Object.assign(env, declared, server.envValues);
}

/** What every server's environment holds besides its folders: no update check, no prompt. */
const FIXED_ENV = { DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", NO_COLOR: "1" } as const;

/** Options for {@linkcode declaredEnv}. */
export interface DeclaredEnvOptions {
  /** The launcher's environment, the source of declared values. */
  source: Record<string, string>;
  /**
   * The names the launcher itself sets in the server's environment, which no `PREFIX_*` pattern
   * may reach. Default: the ones {@linkcode serverEnv} sets without registry overrides.
   */
  launcherNames?: readonly string[];
}

/**
 * The declared variables a server receives from the launcher's environment, by name: exactly
 * the declared names set in `source`, and for a `PREFIX_*` pattern every matching name of
 * `source` except the reserved ones. Fixed values (`envValues`) are not included. Both isolations
 * pass on exactly these: natively in the environment, in docker by name (`-e NAME`).
 *
 * @param server A resolved server.
 * @param options The launcher's environment and the names it sets itself.
 * @returns The declared names and their values.
 * @throws {TypeError} When a required variable or secret is not set, naming it and its use.
 * @throws {RangeError} When the server declares or sets a reserved name or pattern (a server not
 *   built from a validated manifest), or a pattern that matches a name the launcher sets.
 *
 * @example
 * ```ts
 * import { declaredEnv } from "./child_env.ts";
 * const env = declaredEnv({
 *   name: "gh", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: ["GH_*"], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [],
 *   params: {},
 * }, { source: { GH_TOKEN: "t", AWS_SECRET: "x" } });
 * console.log(env); // { GH_TOKEN: "t" }
 * ```
 */
export function declaredEnv(
  server: ResolvedServer,
  options: DeclaredEnvOptions,
): Record<string, string> {
  const { source } = options;
  const reserved = [...server.env, ...Object.keys(server.envValues)].filter(isReservedEnvName);
  if (reserved.length > 0) {
    throw new RangeError(
      `"${server.name}" asks for ${reserved.map((n) => `"${n}"`).join(", ")}: reserved for ` +
        "the launcher and never passed to a server; remove it from the manifest",
    );
  }
  const launcherNames = options.launcherNames ??
    ["HOME", "DENO_DIR", ...Object.keys(FIXED_ENV), ...TLS_TRUST_VARS.filter((n) => n in source)];
  // Deno's --allow-env=PREFIX_* would let the server read what the launcher set for Deno.
  for (const pattern of server.env.filter((n) => envPatternPrefix(n) !== undefined)) {
    const upper = pattern.toUpperCase();
    const taken = launcherNames.find((n) => envNameMatches(upper, n.toUpperCase()));
    if (taken) {
      throw new RangeError(
        `"${server.name}" asks for "${pattern}", which would let it read ${taken}, set by the ` +
          "launcher for Deno; list the exact names it needs instead",
      );
    }
  }
  const missing = server.requiredEnv.filter((name) => !source[name]);
  if (missing.length > 0) {
    const kind = (n: string) => server.secrets.includes(n) ? "secret" : "variable";
    throw new TypeError(
      `"${server.name}" needs ${missing.map((n) => `${kind(n)} ${n}`).join(", ")}: set ` +
        `${missing.length === 1 ? "it" : "them"} in mcp-run's environment`,
    );
  }
  const env: Record<string, string> = {};
  for (const name of server.env) {
    if (envPatternPrefix(name) !== undefined) {
      for (const [key, value] of Object.entries(source)) {
        if (envNameMatches(name, key) && !isReservedEnvName(key)) env[key] = value;
      }
    } else if (source[name] !== undefined) {
      env[name] = source[name];
    }
  }
  return env;
}

/**
 * Builds the pull step's environment: the neutral folders plus the launcher's TLS, proxy and
 * registry settings, so code can be fetched behind a corporate proxy or from a mirror.
 *
 * @param options Neutral folders and the launcher's environment.
 * @returns The complete environment.
 */
export function pullEnv(options: ServerEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    HOME: options.home,
    DENO_DIR: options.denoDir,
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
  };
  for (const name of PULL_VARS) {
    if (options.source[name] !== undefined) env[name] = options.source[name];
  }
  return Object.assign(env, options.registries ?? {});
}
