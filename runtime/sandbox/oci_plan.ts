/**
 * The pure plan of an `oci:` server: the image, pinned by digest, in the same hardened
 * `docker run` as every mcp-run container, with the manifest's arguments, mounts, environment
 * names and network rules.
 *
 * @module
 */
import { parseOciPackage } from "../policy/package_kind.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import {
  defaultPassEnv,
  envArgs,
  grantMounts,
  type HardeningOptions,
  serverRunHead,
} from "./_container_hardening.ts";
import { type ContainerEgress, containerNetwork } from "./container_options.ts";
import { checkEnvFile } from "./docker_checks.ts";

/** The variables every OCI server container gets: its only writable place is `/tmp`. */
const RUN_ENV: Readonly<Record<string, string>> = { HOME: "/tmp" };

/** Options for {@linkcode ociRunArgs}. */
export interface OciRunOptions extends HardeningOptions {
  /** The egress proxy, for a server with `net` grants (see `containerNetwork`). */
  egress?: ContainerEgress;
  /** Variables whose values are written into argv: never secrets. */
  env?: Record<string, string>;
  /** Variables passed by name only. */
  passEnv?: string[];
  /** An absolute `--env-file` of secret values. */
  envFile?: string;
}

/**
 * The `docker` argv (without `docker`) that runs an `oci:` server: its image by digest (never
 * fetched here: `--pull never`), the common hardening (read-only root, no capabilities, a
 * non-root user whatever the image says, limits, a `noexec` tmpfs), only the declared paths and
 * environment names, no network unless the egress proxy gives one, the image's own entry point
 * with the manifest's arguments. Pure.
 *
 * @param server A resolved `oci:` server.
 * @param options Name, user, limits, environment, egress.
 * @returns The argv.
 * @throws {SyntaxError} When the package is not an image pinned by digest (a tag is refused).
 * @throws {RangeError} When a path, limit or user cannot be written safely.
 * @throws {TypeError} When an environment name is invalid or collides with a fixed one.
 * @throws {GrantError} When the server declares network access and no egress is given.
 *
 * @example
 * ```ts
 * import { ociRunArgs } from "./oci_plan.ts";
 * const argv = ociRunArgs({
 *   name: "srv", specifier: `oci:acme/srv@sha256:${"0".repeat(64)}`, args: ["--stdio"],
 *   read: [], write: [], net: [], denyNet: [], env: [], secrets: [], requiredEnv: [],
 *   envValues: {}, sys: [], run: [], ffi: [], params: {},
 * }, { nameSuffix: "a1" });
 * console.log(argv.slice(-2)); // [ "acme/srv@sha256:000…", "--stdio" ]
 * ```
 */
export function ociRunArgs(server: ResolvedServer, options: OciRunOptions = {}): string[] {
  const { reference } = parseOciPackage(server.specifier);
  const network = containerNetwork(server, options.egress);
  // The proxy variables last: nothing else may point the server elsewhere.
  const values = { ...(options.env ?? server.envValues), ...options.egress?.env };
  return [
    ...serverRunHead(server, options, network),
    ...grantMounts(server, options.egress?.readOnlyPaths ?? [], [], options.protectedPaths),
    ...(options.envFile === undefined ? [] : ["--env-file", checkEnvFile(options.envFile)]),
    ...envArgs(RUN_ENV, values, options.passEnv ?? defaultPassEnv(server, values)),
    reference,
    ...server.args,
  ];
}
