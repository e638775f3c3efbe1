/**
 * The hardening every mcp-run container gets, whatever runs in it (Deno, a Python package, an
 * OCI image): name and labels, read-only root, no capabilities, no new privileges, a non-root
 * user, limits, a `noexec` tmpfs; bind mounts that are checked; environment passed safely.
 * Pure.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import {
  checkContainerUser,
  checkDockerLimits,
  DOCKER_LIMITS,
  type DockerLimits,
  dockerMountProblem,
} from "./docker_checks.ts";
import {
  CONTAINER_DENO_DIR,
  CONTAINER_USER,
  DOCKER_LABEL,
  dockerContainerName,
  INSIDE_EGRESS_DIR,
} from "./docker_names.ts";

/** What {@linkcode hardeningArgs} reads. */
export interface HardeningOptions extends Partial<DockerLimits> {
  /** When set, the container is named `mcp-run-<server>-<suffix>`. */
  nameSuffix?: string;
  /** `--user` as `uid:gid` (default {@linkcode CONTAINER_USER}); root is refused. */
  user?: string;
  /** More labels (`mcp-run` and `mcp-run.server` are always set). */
  labels?: Record<string, string>;
  /**
   * Paths inside write grants mounted read-only over the writable grant (see
   * `existingProtectedPaths`): in a container with no Deno, what denies writes to them.
   */
  protectedPaths?: string[];
  /**
   * The engine's OCI runtime the server runs under (`--runtime`; `runsc` for gVisor). Default:
   * the engine's own default (runc).
   */
  runtime?: string;
}

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The hardening flags of a container: name, labels, `--read-only`, `--cap-drop ALL`,
 * `--security-opt no-new-privileges`, a non-root `--user`, process, memory (no swap), CPU and
 * file-descriptor limits, and a `noexec,nosuid,nodev` size-capped tmpfs at `/tmp`.
 *
 * @param server The server (its name labels the container).
 * @param options Name suffix, user, labels, limits.
 * @returns The flags, in a fixed order.
 * @throws {RangeError} When a limit, label or the user cannot be written safely (root is refused).
 */
export function hardeningArgs(server: ResolvedServer, options: HardeningOptions): string[] {
  const limits = { ...DOCKER_LIMITS, ...definedOnly(options) };
  return [
    ...(options.nameSuffix !== undefined
      ? ["--name", dockerContainerName(server.name, options.nameSuffix)]
      : []),
    ...labelArgs({
      ...options.labels,
      [DOCKER_LABEL]: "1",
      [`${DOCKER_LABEL}.server`]: server.name,
    }),
    ...lockdownArgs(options.user ?? CONTAINER_USER, limits),
  ];
}

/**
 * The start of every server's `docker run`: stdio without a terminal, removed on exit, never a
 * fetched image, no log copy on disk, the lock-down of {@linkcode hardeningArgs}, and the
 * network.
 *
 * @param server The server (its name labels the container).
 * @param options Name suffix, user, labels, limits.
 * @param network The `--network` value, checked by the caller.
 * @returns The argv (without `docker`), up to and including the network.
 * @throws {RangeError} When a limit, label or the user cannot be written safely.
 */
export function serverRunHead(
  server: ResolvedServer,
  options: HardeningOptions,
  network: string,
): string[] {
  return [
    "run",
    "-i",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    ...(options.runtime === undefined ? [] : ["--runtime", checkRuntimeName(options.runtime)]),
    ...hardeningArgs(server, options),
    "--network",
    network,
  ];
}

const RUNTIME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Checks the name of an engine runtime (a `runtimes` key of the engine's `daemon.json`).
 *
 * @param name The name.
 * @returns The name.
 * @throws {RangeError} When it is not 1–64 letters, digits, `_`, `.` or `-`.
 *
 * @example
 * ```ts
 * import { checkRuntimeName } from "./_container_hardening.ts";
 * console.log(checkRuntimeName("runsc")); // "runsc"
 * ```
 */
export function checkRuntimeName(name: string): string {
  if (!RUNTIME_RE.test(name)) {
    throw new RangeError(
      `Cannot use "${name}" as the engine runtime: give the name of a runtime registered in the ` +
        `engine's daemon.json (letters, digits, "_", "." or "-")`,
    );
  }
  return name;
}

/**
 * `--label key=value` flags, sorted by key.
 *
 * @param labels The labels.
 * @returns The flags.
 * @throws {RangeError} When a key is not lowercase letters, digits, `.`, `_`, `-`, or a value
 *   is not one line.
 */
export function labelArgs(labels: Record<string, string>): string[] {
  for (const [key, value] of Object.entries(labels)) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(key) || /[\0\n\r]/.test(value)) {
      throw new RangeError(`Cannot write the label "${key}": keys are lowercase, values one line`);
    }
  }
  return Object.keys(labels).sort().flatMap((key) => ["--label", `${key}=${labels[key]}`]);
}

/**
 * The lock-down every mcp-run container gets: read-only root, no capabilities, no new
 * privileges, a non-root user, process, memory (no swap), CPU and file limits, and a size-capped
 * `noexec` tmpfs at `/tmp`.
 *
 * @param user `uid:gid`; root is refused.
 * @param limits Every limit.
 * @returns The flags, in a fixed order.
 * @throws {RangeError} When a limit or the user cannot be written safely.
 */
export function lockdownArgs(user: string, limits: DockerLimits): string[] {
  checkDockerLimits(limits);
  return [
    "--read-only",
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--user",
    checkContainerUser(user),
    "--pids-limit",
    String(limits.pidsLimit),
    "--memory",
    limits.memory,
    "--memory-swap",
    limits.memory,
    "--cpus",
    limits.cpus,
    "--ulimit",
    `nofile=${limits.nofile}:${limits.nofile}`,
    "--tmpfs",
    `/tmp:rw,noexec,nosuid,nodev,size=${limits.tmpfsSize}`,
  ];
}

function definedOnly(options: Partial<DockerLimits>): Partial<DockerLimits> {
  const out: Partial<DockerLimits> = {};
  for (const key of Object.keys(DOCKER_LIMITS) as (keyof DockerLimits)[]) {
    if (options[key] !== undefined) (out as Record<string, unknown>)[key] = options[key];
  }
  return out;
}

/**
 * The declared variables passed by name by default: the server's exact names, minus those
 * given a value.
 *
 * @param server The server.
 * @param values The variables given by value.
 * @returns The names.
 */
export function defaultPassEnv(server: ResolvedServer, values: Record<string, string>): string[] {
  return server.env.filter((name) => !name.endsWith("*") && !(name in values));
}

/**
 * `-e` flags: the fixed variables first, then those given by value (never secrets), then those
 * passed by name (docker copies the value from its own environment).
 *
 * @param fixed Variables mcp-run sets itself; no other may take their names.
 * @param values Variables whose values are written into argv.
 * @param names Variables passed by name.
 * @returns The flags.
 * @throws {TypeError} When a name is invalid, fixed, or given twice, or a value holds a NUL.
 */
export function envArgs(
  fixed: Readonly<Record<string, string>>,
  values: Record<string, string>,
  names: string[],
): string[] {
  const args = Object.entries(fixed).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
  const seen = new Set<string>();
  const check = (name: string) => {
    if (!ENV_NAME_RE.test(name)) {
      throw new TypeError(`Cannot pass "${name}" to the container: not a valid variable name`);
    }
    if (name in fixed) {
      throw new TypeError(`Cannot pass "${name}" to the container: mcp-run sets it itself`);
    }
    if (seen.has(name)) {
      throw new TypeError(`Cannot pass "${name}" to the container twice (by value and by name)`);
    }
    seen.add(name);
  };
  for (const [name, value] of Object.entries(values)) {
    check(name);
    if (value.includes("\0")) {
      throw new TypeError(`Cannot pass "${name}" to the container: its value contains a NUL byte`);
    }
    args.push("-e", `${name}=${value}`);
  }
  for (const name of names) {
    check(name);
    args.push("-e", name);
  }
  return args;
}

/** Paths that must never be mounted into a container (or that would shadow its runtime). */
const NEVER_MOUNTED = [
  "/proc",
  "/sys",
  "/dev",
  "/run",
  "/var/run",
  CONTAINER_DENO_DIR,
  // Where the egress proxy's socket and forwarder are mounted (see `insideEgress`).
  INSIDE_EGRESS_DIR,
];

/**
 * A `--mount` value binding a host path at the same place in the container.
 *
 * @param path An absolute, canonical host path.
 * @param readOnly Whether the mount is read-only.
 * @param reserved More container paths that must not be mounted over (the code folder).
 * @returns The `--mount` value.
 * @throws {RangeError} When the path is relative, not canonical, `/`, `/tmp`, the Docker socket,
 *   a system or reserved folder, or cannot be written into a `--mount` value.
 */
export function bindMount(path: string, readOnly: boolean, reserved: string[] = []): string {
  const refuse = (why: string) =>
    new RangeError(`Cannot mount "${path}" into the container: ${why}`);
  if (!path.startsWith("/")) throw refuse("it is not an absolute path");
  const problem = dockerMountProblem(path);
  if (problem) throw refuse(problem);
  if (path.split("/").some((part) => part === "." || part === "..")) {
    throw refuse("it is not canonical (it contains . or ..)");
  }
  const clean = path.length > 1 ? path.replace(/\/+$/, "") : path;
  if (clean === "/" || clean === "") throw refuse("the whole file system is never mounted");
  if (clean === "/tmp") {
    throw refuse("it would replace the container's private /tmp; grant a folder inside it");
  }
  if (clean.endsWith("/docker.sock")) throw refuse("the Docker socket is never mounted");
  for (const root of [...NEVER_MOUNTED, ...reserved]) {
    if (clean === root || clean.startsWith(`${root}/`)) {
      throw refuse(`${root} is never mounted`);
    }
  }
  return `type=bind,src=${clean},dst=${clean}${readOnly ? ",readonly" : ""}`;
}

/**
 * The mounts of a server's grants: reads read-only, writes writable, each path once; then the
 * protected paths inside the write grants read-only over them (docker mounts a deeper
 * destination after the folder that holds it).
 *
 * @param server The server.
 * @param extraReadOnly More host paths mounted read-only (a CA file, a local server's folder).
 * @param reserved Container paths no grant may cover.
 * @param protectedPaths Existing paths inside write grants that stay read-only.
 * @returns `--mount` flags.
 * @throws {RangeError} As {@linkcode bindMount}.
 */
export function grantMounts(
  server: Pick<ResolvedServer, "read" | "write">,
  extraReadOnly: string[],
  reserved: string[] = [],
  protectedPaths: string[] = [],
): string[] {
  const writable = new Set(server.write);
  const readOnly = [...server.read, ...extraReadOnly].filter((p) => !writable.has(p));
  const covered = [...new Set(protectedPaths)].filter((p) => !writable.has(p));
  return [
    ...[...new Set(readOnly)].map((p) => bindMount(p, true, reserved)),
    ...[...writable].map((p) => bindMount(p, false, reserved)),
    ...covered.map((p) => bindMount(p, true, reserved)),
  ].flatMap((m) => ["--mount", m]);
}
