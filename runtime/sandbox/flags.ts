/**
 * Pure builders of Deno argv from a {@linkcode ResolvedServer}.
 *
 * @module
 */
import { reservedNamesMatching } from "../policy/manifest.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { effectiveLimits, heapFlag, type ResourceLimits } from "./resource_caps.ts";
import { foldProtectedPaths, protectedWritePaths } from "./write_protection.ts";

/**
 * Builds the permission flags for a resolved server: scoped allows only, `--deny-write` for the
 * paths inside write grants that make code run elsewhere (see `protectedWritePaths`), the
 * private-network deny list always, `--deny-env` for the reserved names an env pattern matches (`HTTP_*` →
 * `HTTP_PROXY`), `--ignore-env` always (undeclared variables read as undefined).
 *
 * Never emits `-A`, an unscoped `--allow-*`, or `--allow-run`/`--allow-ffi` unless the server
 * was resolved for trusted docker isolation.
 *
 * @param server A resolved server.
 * @param options The write-protected paths (default: those at the top of each write grant).
 * @returns Flags in a fixed order.
 * @throws {RangeError} When a grant would be unscoped or cannot be written as a flag.
 *
 * @example
 * ```ts
 * import { permissionFlags } from "./flags.ts";
 * const flags = permissionFlags({
 *   name: "fs", specifier: "npm:x@1.0.0", args: [], read: ["/data"], write: [], net: [],
 *   denyNet: ["127.0.0.0/8"], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [],
 *   params: {},
 * });
 * console.log(flags); // ["--allow-read=/data", "--deny-net=127.0.0.0/8", "--ignore-env"]
 * ```
 */
export function permissionFlags(
  server: ResolvedServer,
  options: PermissionFlagsOptions = {},
): string[] {
  const flags: string[] = [];
  const add = (name: string, values: string[]) => {
    if (values.length === 0) return;
    for (const value of values) {
      if (value === "" || value.includes(",") || value.includes("\0")) {
        throw new RangeError(
          `Cannot write --${name} for "${value}": values must be non-empty and contain no comma`,
        );
      }
    }
    flags.push(`--${name}=${values.join(",")}`);
  };
  add("allow-read", server.read);
  add("allow-write", server.write);
  const granted = server.writeGiven ?? server.write;
  add(
    "deny-write",
    options.denyWrite ??
      foldProtectedPaths(protectedWritePaths(server.write, [], granted), granted),
  );
  add("allow-net", server.net);
  add("deny-net", server.denyNet);
  add("allow-env", server.env);
  // A pattern may match the launcher's proxy and TLS settings; where the environment is not
  // built from scratch (a client entry running deno itself), Deno must refuse those names.
  add("deny-env", [...new Set(server.env.flatMap(reservedNamesMatching))].sort());
  add("allow-sys", server.sys);
  add("allow-run", server.run);
  add("allow-ffi", server.ffi);
  flags.push("--ignore-env");
  return flags;
}

/** Options for {@linkcode permissionFlags}. */
export interface PermissionFlagsOptions {
  /**
   * The paths denied to writes inside the write grants (default: the protected paths at the top
   * of each grant, folded into `.git`, `.github`, `.config`: see `foldProtectedPaths`); a launch
   * adds those found deeper.
   */
  denyWrite?: string[];
}

/** Options for {@linkcode denoRunArgs}. */
export interface DenoRunArgsOptions extends PermissionFlagsOptions {
  /** The lockfile written by pull. */
  lockFile: string;
  /** The memory caps (default: the manifest's `limits` over the built-in defaults). */
  limits?: ResourceLimits;
}

/**
 * Builds the full `deno` argv (without the `deno` program itself) that runs a pulled server:
 * `run --no-prompt --no-config --cached-only --frozen --lock=… --v8-flags=--max-old-space-size=…
 * --deny-import <permissions> <specifier> <args>`.
 *
 * @param server A resolved server.
 * @param options Where the lockfile is; the memory caps and write-protected paths.
 * @returns The argv to pass to `deno`.
 *
 * @example
 * ```ts
 * import { denoRunArgs } from "./flags.ts";
 * const argv = denoRunArgs({
 *   name: "t", specifier: "npm:x@1.0.0", args: ["--fast"], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { lockFile: "/c/deno.lock" });
 * console.log(argv.join(" "));
 * // run --no-prompt --no-config --cached-only --frozen --lock=/c/deno.lock --v8-flags=--max-old-space-size=512 --deny-import --ignore-env npm:x@1.0.0 --fast
 * ```
 */
export function denoRunArgs(server: ResolvedServer, options: DenoRunArgsOptions): string[] {
  return [
    "run",
    ...hardening(options.lockFile),
    heapFlag(options.limits ?? effectiveLimits({ manifest: server.manifest?.limits })),
    ...(server.specifier.startsWith("jsr:") ? [] : ["--deny-import"]),
    ...permissionFlags(server, options),
    server.specifier,
    ...server.args,
  ];
}

/** Options for {@linkcode denoCacheArgs}. */
export interface DenoCacheArgsOptions {
  /** The lockfile to write. */
  lockFile: string;
}

/**
 * Builds the `deno` argv that caches a server's code and writes its lockfile, running no code.
 *
 * @param server A resolved server.
 * @param options Where to write the lockfile.
 * @returns The argv to pass to `deno`.
 *
 * @example
 * ```ts
 * import { denoCacheArgs } from "./flags.ts";
 * const argv = denoCacheArgs({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { lockFile: "/c/deno.lock" });
 * console.log(argv.join(" ")); // cache --no-config --lock=/c/deno.lock npm:x@1.0.0
 * ```
 */
export function denoCacheArgs(server: ResolvedServer, options: DenoCacheArgsOptions): string[] {
  return ["cache", "--no-config", `--lock=${options.lockFile}`, server.specifier];
}

function hardening(lockFile: string): string[] {
  return ["--no-prompt", "--no-config", "--cached-only", "--frozen", `--lock=${lockFile}`];
}
