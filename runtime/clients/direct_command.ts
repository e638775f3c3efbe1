/**
 * Direct launch commands: the command, argv and plain environment an MCP client spawns to run a
 * pulled server itself, with no mcp-run in between, in the `deno` or the `docker` form. The
 * command itself states what the server may touch.
 *
 * @module
 */
import { serverDirs } from "../sandbox/cache_dirs.ts";
import { dockerRunArgs } from "../sandbox/docker_args.ts";
import {
  checkDockerMounts,
  type DockerLimits,
  GVISOR_PIDS_LIMIT,
} from "../sandbox/docker_checks.ts";
import {
  CONTAINER_LOCK_FILE,
  CONTAINER_USER,
  DENO_IMAGE,
  dockerVolumeName,
} from "../sandbox/docker_names.ts";
import { denoRunArgs } from "../sandbox/flags.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { GrantError } from "../policy/grant_error.ts";
import { isContainerOnly } from "../policy/package_kind.ts";
import { containerLaunchPlan } from "../sandbox/container_launch.ts";
import { existingProtectedPaths, serverProtectedPaths } from "../sandbox/write_protection.ts";
import { effectiveLimits, prlimitCommand, type ResourceLimits } from "../sandbox/resource_caps.ts";
import type { LaunchCommand } from "./types.ts";

/** The docker form's process cap: the one given, or gVisor's default under its runtime. */
function processCap(options: DirectCommandOptions): number | undefined {
  return options.pidsLimit ?? (options.runtime === undefined ? undefined : GVISOR_PIDS_LIMIT);
}

/** Options for {@linkcode directCommand}. */
export interface DirectCommandOptions extends Partial<DockerLimits> {
  /** `deno` (native) or `docker`. */
  form: "deno" | "docker";
  /** mcp-run's cache root (where the deno form's code and lockfile are). */
  cacheRoot: string;
  /** The Deno binary of the deno form (default: the running one). */
  deno?: string;
  /** The image of the docker form (default {@linkcode DENO_IMAGE}). */
  image?: string;
  /** The Python image of a `pypi:` server's docker form (default the pinned one). */
  pythonImage?: string;
  /**
   * The docker form's engine runtime (`runsc` for gVisor, whose process cap then defaults to
   * `GVISOR_PIDS_LIMIT`; default: the engine's default).
   */
  runtime?: string;
  /** The docker form's network for servers that declare some (default `bridge`). */
  network?: string;
  /** The docker form's `uid:gid` (default {@linkcode CONTAINER_USER}). */
  user?: string;
  /** Registry overrides (`JSR_URL`, `NPM_CONFIG_REGISTRY`), written as plain values. */
  registries?: Record<string, string>;
  /** Descriptions of secrets, by name. */
  secretDescriptions?: Record<string, string>;
  /** The user's memory caps for every server (a manifest may raise them for its server). */
  limits?: Partial<ResourceLimits>;
  /**
   * Deno form: util-linux's `prlimit` (see `findPrlimit`), which the entry runs Deno under so
   * that the whole process is capped (`limits.memoryMb`), as `mcp-run run` does. Without it only
   * the V8 heap is capped: the caller says so.
   */
  prlimit?: string;
  /**
   * Docker form: secrets read from this env file (`--env-file`) instead of the client's
   * environment, for clients that cannot reference a secret. The named variables are neither
   * passed by name nor listed in `secrets`.
   */
  envFile?: { path: string; names: string[] };
}

/**
 * Builds the self-contained command a client spawns to run a pulled server directly.
 *
 * The `deno` form runs the pinned Deno with the same flags as `mcp-run run`, its `DENO_DIR` and
 * lockfile in mcp-run's cache, and a neutral `HOME`. The `docker` form is a complete `docker run`
 * (see `dockerRunArgs`) without a container name (two clients may start it at once; labels find
 * leftovers), the code volume read-only. Declared variables without a value and secrets are not
 * written: the client provides them by name (`secrets`). Reads the write grants for the paths
 * to protect deeper in them, as a launch does (see `serverProtectedPaths`); pull the server first.
 *
 * @param server A resolved server.
 * @param options The form, cache root, image, limits.
 * @returns The command, its plain environment and the secrets the client supplies.
 * @throws {GrantError} When a grant's path cannot be written as a mount (docker form), or the
 *   server has `net` grants under a gVisor `runtime` (only a launcher starts the egress proxy).
 * @throws {RangeError} When a grant cannot be mounted safely (docker form).
 *
 * @example
 * ```ts
 * import { directCommand } from "./direct_command.ts";
 * const entry = directCommand({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: ["TOKEN"], secrets: ["TOKEN"], requiredEnv: ["TOKEN"], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * }, { form: "docker", cacheRoot: "/c" });
 * console.log(entry.command, entry.args.includes("TOKEN"), entry.secrets[0].name);
 * // docker true TOKEN
 * ```
 */
export function directCommand(
  server: ResolvedServer,
  options: DirectCommandOptions,
): LaunchCommand {
  const inFile = new Set(options.envFile?.names ?? []);
  const byName = server.env.filter((n) =>
    !n.endsWith("*") && !(n in server.envValues) && !inFile.has(n)
  );
  const secrets = byName.map((name) => ({
    name,
    description: options.secretDescriptions?.[name] ?? "",
  }));
  if (isContainerOnly(server.specifier)) return containerCommand(server, options, secrets);
  const limits = effectiveLimits({ user: options.limits, manifest: server.manifest?.limits });
  if (options.form === "deno") {
    if (options.envFile) {
      throw new RangeError("Cannot use an env file with the deno form: it is a docker option");
    }
    const dirs = serverDirs(server.name, server.specifier, options.cacheRoot);
    const deno = options.deno ?? Deno.execPath();
    const denyWrite = serverProtectedPaths(server);
    const denoArgs = denoRunArgs(server, { lockFile: dirs.lockFile, limits, denyWrite });
    const { program, args } = options.prlimit
      ? prlimitCommand(options.prlimit, limits, [deno, ...denoArgs])
      : { program: deno, args: denoArgs };
    return {
      command: program,
      args,
      env: {
        HOME: dirs.home,
        DENO_DIR: dirs.denoDir,
        DENO_NO_UPDATE_CHECK: "1",
        DENO_NO_PROMPT: "1",
        NO_COLOR: "1",
        ...options.registries,
        ...server.envValues,
      },
      secrets,
    };
  }
  checkDockerMounts(server);
  if (options.runtime !== undefined) refuseNetUnderRuntime(server, options.runtime);
  const image = options.image ?? DENO_IMAGE;
  const { memory, cpus, tmpfsSize, nofile } = options;
  const pidsLimit = processCap(options);
  // As a launch: protected paths deeper in the grants too, and what exists mounted read-only.
  const denyWrite = serverProtectedPaths(server);
  return {
    command: "docker",
    args: dockerRunArgs(
      server,
      denoRunArgs(server, { lockFile: CONTAINER_LOCK_FILE, limits, denyWrite }),
      {
        memory: memory ?? `${limits.memoryMb}m`,
        cpus,
        pidsLimit,
        tmpfsSize,
        nofile,
        image,
        volume: dockerVolumeName(server, { image }),
        network: options.network,
        ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
        envFile: options.envFile?.path,
        user: options.user ?? CONTAINER_USER,
        env: { ...options.registries, ...server.envValues },
        passEnv: byName,
        protectedPaths: existingProtectedPaths(denyWrite),
      },
    ),
    env: {},
    secrets,
  };
}

/**
 * A server with `net` grants under gVisor: its container has no network of its own and reaches
 * granted hosts only through mcp-run's egress proxy, which a copied command cannot start.
 */
function refuseNetUnderRuntime(server: ResolvedServer, runtime: string): void {
  if (server.net.length === 0) return;
  throw new GrantError(
    "permissions.net",
    `Cannot write "${server.name}" (${server.specifier}) as a docker command under the gVisor ` +
      `runtime "${runtime}": it reaches ${server.net.join(", ")} only through mcp-run's egress ` +
      "proxy (a gVisor container has no network of its own), which a copied docker command " +
      "cannot start. Use --form launcher (the entry starts mcp-run run --isolation gvisor)",
  );
}

/**
 * The docker form of a `pypi:` or `oci:` server: its hardened container with no name and no
 * launcher labels; declared variables by name. One with `net` grants cannot be written: only a
 * launcher starts the egress proxy it needs.
 */
function containerCommand(
  server: ResolvedServer,
  options: DirectCommandOptions,
  secrets: LaunchCommand["secrets"],
): LaunchCommand {
  if (options.form === "deno") {
    throw new RangeError(
      `Cannot write "${server.name}" (${server.specifier}) as a deno command: it runs only in a ` +
        "container; use --form docker or --form launcher",
    );
  }
  if (options.envFile) {
    throw new RangeError(
      `Cannot use an env file for "${server.name}": its container gets variables by name`,
    );
  }
  const plan = containerLaunchPlan(server, {
    cacheRoot: options.cacheRoot,
    image: options.image,
    pythonImage: options.pythonImage,
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    user: options.user,
    limits: options.limits,
    memory: options.memory,
    cpus: options.cpus,
    pidsLimit: processCap(options),
    tmpfsSize: options.tmpfsSize,
    nofile: options.nofile,
    // Values the client supplies are not known here: only names are written.
    source: Object.fromEntries(server.env.map((name) => [name, ""])),
    launcherLabels: false,
    unnamed: true,
  });
  return { command: "docker", args: plan.args, env: {}, secrets };
}
