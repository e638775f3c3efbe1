/**
 * Pure plans for `pypi:` servers: where their code lives on the host, the hardened `docker run`
 * of the installed entry point, and the two pull containers (resolve a hashed lock, install it).
 *
 * @module
 */
import { join } from "../_path.ts";
import { parsePypiPackage } from "../policy/package_kind.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { fnv1a32 } from "./_fnv1a.ts";
import {
  bindMount,
  defaultPassEnv,
  envArgs,
  grantMounts,
  hardeningArgs,
  type HardeningOptions,
  serverRunHead,
} from "./_container_hardening.ts";
import { type ContainerEgress, containerNetwork, isSidecarNetwork } from "./container_options.ts";
import type { InsideEgress } from "./egress_inside.ts";
import {
  checkEnvFile,
  checkImageReference,
  checkNetwork,
  DOCKER_LIMITS,
  dockerMountProblem,
} from "./docker_checks.ts";

/**
 * The image `pypi:` servers are installed and run in by default: the official Python slim image
 * (Debian bookworm, CPython 3.12), pinned by the digest of its multi-architecture index as
 * published projects record it from `docker pull python:3.12-slim-bookworm` (September 2026).
 */
export const PYTHON_IMAGE =
  "python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254";

/** Where a server's installed code is mounted (read-only at run, writable in the pull). */
export const PYTHON_CODE_DIR = "/mcp-run-code";

/** The pip `--target` folder inside the code folder. */
export const PYTHON_LIB_DIR = `${PYTHON_CODE_DIR}/lib`;

/** The entry file the run starts (written by the pull). */
export const PYTHON_ENTRY = `${PYTHON_CODE_DIR}/entry.py`;

/** The pull containers' scratch folder: pip's report, the lock, temporary files. */
export const PYTHON_WORK_DIR = "/mcp-run-work";

/** The variables every Python server container gets, with fixed values. */
const RUN_ENV: Readonly<Record<string, string>> = {
  HOME: "/tmp",
  PYTHONDONTWRITEBYTECODE: "1",
  PYTHONUNBUFFERED: "1",
};

/** pip's settings in the pull containers: no config file, no prompt, no cache, no check. */
const PULL_ENV: Readonly<Record<string, string>> = {
  HOME: "/tmp",
  TMPDIR: `${PYTHON_WORK_DIR}/tmp`,
  PIP_CONFIG_FILE: "/dev/null",
  PIP_DISABLE_PIP_VERSION_CHECK: "1",
  PIP_NO_INPUT: "1",
  PIP_NO_CACHE_DIR: "1",
  PIP_PROGRESS_BAR: "off",
  PIP_ROOT_USER_ACTION: "ignore",
};

/** Resource limits of the pull containers: pip's resolver needs more memory than most servers. */
const PULL_LIMITS = { ...DOCKER_LIMITS, memory: "1g" };

/** The host folders of one `pypi:` server pulled for one image. */
export interface PythonDirs {
  /** The server's folder. */
  dir: string;
  /** The code folder mounted at {@linkcode PYTHON_CODE_DIR}. */
  code: string;
  /** The lock (`requirements.lock`, with a sha256 per distribution). */
  lockFile: string;
  /** The record of what was installed. */
  record: string;
  /** The lock file that lets one pull at a time fill {@linkcode PythonDirs.dir}. */
  pullLock: string;
}

/**
 * The host folders of a `pypi:` server: below `<cacheRoot>/python/<name>/`, keyed by the exact
 * package and the image, so an upgrade of either gets a fresh folder. Pure.
 *
 * @param server The server.
 * @param image The Python image.
 * @param cacheRoot mcp-run's cache root.
 * @returns The folders.
 *
 * @example
 * ```ts
 * import { pythonDirs } from "./python_plan.ts";
 * const dirs = pythonDirs({ name: "time", specifier: "pypi:t@1.0" }, "python:3.12", "/c");
 * console.log(dirs.code.startsWith("/c/python/time/pypi-t@1.0-")); // true
 * ```
 */
export function pythonDirs(
  server: Pick<ResolvedServer, "name" | "specifier">,
  image: string,
  cacheRoot: string,
): PythonDirs {
  const readable = server.specifier.replace(/^pypi:/, "pypi-").replace(/[^A-Za-z0-9.@_-]+/g, "_");
  const key = fnv1a32(`${server.specifier}\n${image}`, "utf-8");
  const dir = join(
    cacheRoot,
    "python",
    server.name.replace(/[^A-Za-z0-9_.-]/g, "_"),
    `${readable.slice(-80)}-${key}`,
  );
  return {
    dir,
    code: join(dir, "code"),
    lockFile: join(dir, "requirements.lock"),
    record: join(dir, "pull.json"),
    pullLock: `${dir}.lock`,
  };
}

/** Options for {@linkcode pythonRunArgs}. */
export interface PythonRunOptions extends HardeningOptions {
  /** The image (default {@linkcode PYTHON_IMAGE}). */
  image?: string;
  /** The host code folder (see {@linkcode pythonDirs}). */
  codeDir: string;
  /** The egress proxy, for a server with `net` grants (see `containerNetwork`). */
  egress?: ContainerEgress;
  /** Variables whose values are written into argv: never secrets. */
  env?: Record<string, string>;
  /** Variables passed by name only. */
  passEnv?: string[];
  /** An absolute `--env-file` of secret values. */
  envFile?: string;
  /**
   * Egress from inside the container (see `insideEgress`; with `egress` on network `none`): the
   * proxy's socket and the Python forwarder mounted read-only, and the server started by the
   * `sh` wrapper that runs the forwarder first.
   */
  inside?: Pick<InsideEgress, "mounts" | "command">;
}

/**
 * The `docker` argv (without `docker`) that runs a `pypi:` server: the common hardening, the
 * code folder read-only, only the declared paths (read-only unless write was granted) and
 * environment names, no network unless the egress proxy gives one, and the installed entry
 * point started by the image's `python3` in isolated mode (`-I`: no `PYTHON*` variable, user
 * site or working folder reaches the interpreter). Pure.
 *
 * @param server A resolved `pypi:` server.
 * @param options Code folder, image, name, user, limits, environment, egress.
 * @returns The argv.
 * @throws {RangeError} When a path, limit, user or image cannot be written safely.
 * @throws {TypeError} When an environment name is invalid or collides with a fixed one.
 * @throws {GrantError} When the server declares network access and no egress is given.
 *
 * @example
 * ```ts
 * import { pythonRunArgs } from "./python_plan.ts";
 * const argv = pythonRunArgs({
 *   name: "time", specifier: "pypi:mcp-server-time@2026.10.19", args: [], read: [], write: [],
 *   net: [], denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [],
 *   run: [], ffi: [], params: {},
 * }, { codeDir: "/c/python/time/x", nameSuffix: "a1" });
 * console.log(argv[argv.indexOf("--network") + 1], argv.at(-1)); // none /mcp-run-code/entry.py
 * ```
 */
export function pythonRunArgs(server: ResolvedServer, options: PythonRunOptions): string[] {
  parsePypiPackage(server.specifier);
  const image = checkImageReference(options.image ?? PYTHON_IMAGE);
  const network = containerNetwork(server, options.egress);
  // The proxy variables last: nothing else may point the server elsewhere.
  const values = { ...(options.env ?? server.envValues), ...options.egress?.env };
  const inside = server.net.length > 0 ? options.inside : undefined;
  return [
    ...serverRunHead(server, options, network),
    "--mount",
    codeMount(options.codeDir, PYTHON_CODE_DIR, true),
    ...grantMounts(server, options.egress?.readOnlyPaths ?? [], RESERVED, options.protectedPaths),
    ...(inside?.mounts ?? []).flatMap((m) => ["--mount", m]),
    ...(options.envFile === undefined ? [] : ["--env-file", checkEnvFile(options.envFile)]),
    ...envArgs(RUN_ENV, values, options.passEnv ?? defaultPassEnv(server, values)),
    "--entrypoint",
    inside ? inside.command[0] : "python3",
    image,
    ...(inside ? [...inside.command.slice(1), "python3"] : []),
    "-I",
    PYTHON_ENTRY,
    ...server.args,
  ];
}

const RESERVED = [PYTHON_CODE_DIR, PYTHON_WORK_DIR];

function codeMount(hostDir: string, target: string, readOnly: boolean): string {
  const problem = dockerMountProblem(hostDir);
  if (!hostDir.startsWith("/") || problem) {
    throw new RangeError(
      `Cannot mount the code folder "${hostDir}": ${problem ?? "it is not absolute"}`,
    );
  }
  return `type=bind,src=${hostDir},dst=${target}${readOnly ? ",readonly" : ""}`;
}

/** Options for {@linkcode pythonPullArgs}. */
export interface PythonPullOptions {
  /** The step: `resolve` (write pip's report) or `install` (install the lock). */
  step: "resolve" | "install";
  /** The image (default {@linkcode PYTHON_IMAGE}). */
  image?: string;
  /** The staging code folder on the host, mounted writable at {@linkcode PYTHON_CODE_DIR}. */
  codeDir: string;
  /** The staging scratch folder on the host, mounted writable at {@linkcode PYTHON_WORK_DIR}. */
  workDir: string;
  /** The network that reaches the package index (default `bridge`; `container:<sidecar>` joins the egress sidecar of `startEgress`). */
  network?: string;
  /** Accept source distributions (default false: wheels only). */
  allowBuild?: boolean;
  /** When set, the container is named `mcp-run-<server>-<suffix>`. */
  nameSuffix?: string;
  /** `--user` as `uid:gid`; root is refused. */
  user?: string;
  /** More labels (`mcp-run.role=pull` is always set). */
  labels?: Record<string, string>;
  /** Index and TLS settings given by value (`PIP_INDEX_URL`, `PIP_CERT`). */
  env?: Record<string, string>;
  /** Variables passed by name (proxies). */
  passEnv?: string[];
  /** Host files mounted read-only at the same place (CA files). */
  readOnlyPaths?: string[];
}

/**
 * The `docker` argv (without `docker`) of a pull container for a `pypi:` server. `resolve` runs
 * `pip install --dry-run --report` (no package is installed, none of its code runs); `install`
 * installs the lock with `--require-hashes --no-deps` into the code folder. Both take wheels
 * only unless `allowBuild`. The hardening is a run's, with the code and scratch folders
 * writable, a network to the index, and pip's configuration files ignored. Pure.
 *
 * @param server A resolved `pypi:` server.
 * @param options The step, folders, network, image, environment.
 * @returns The argv.
 * @throws {SyntaxError} When the server is not a valid `pypi:` package.
 * @throws {RangeError} When a path, name or image cannot be written safely.
 *
 * @example
 * ```ts
 * import { pythonPullArgs } from "./python_plan.ts";
 * const argv = pythonPullArgs({
 *   name: "time", specifier: "pypi:mcp-server-time@2026.10.19", args: [], read: [], write: [],
 *   net: [], denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [],
 *   run: [], ffi: [], params: {},
 * }, { step: "resolve", codeDir: "/s/code", workDir: "/s/work" });
 * console.log(argv.at(-1)); // mcp-server-time==2026.10.19
 * ```
 */
export function pythonPullArgs(server: ResolvedServer, options: PythonPullOptions): string[] {
  const pkg = parsePypiPackage(server.specifier);
  const image = checkImageReference(options.image ?? PYTHON_IMAGE);
  const binary = options.allowBuild ? [] : ["--only-binary", ":all:"];
  const extras = pkg.extras.length > 0 ? `[${pkg.extras.join(",")}]` : "";
  const pip = options.step === "resolve"
    ? [
      "--dry-run",
      "--ignore-installed",
      ...binary,
      "--quiet",
      "--report",
      `${PYTHON_WORK_DIR}/report.json`,
      `${pkg.name}${extras}==${pkg.version}`,
    ]
    : [
      "--no-deps",
      "--require-hashes",
      ...binary,
      "--no-warn-script-location",
      "--quiet",
      "--target",
      PYTHON_LIB_DIR,
      "-r",
      `${PYTHON_WORK_DIR}/requirements.lock`,
    ];
  const labels = { ...options.labels, "mcp-run.role": "pull" };
  return [
    "run",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    ...hardeningArgs(server, { ...PULL_LIMITS, ...options, labels }),
    "--network",
    pullNetwork(options.network ?? "bridge"),
    // Resolving writes only pip's report: the code folder is writable for the install alone.
    "--mount",
    codeMount(options.codeDir, PYTHON_CODE_DIR, options.step === "resolve"),
    "--mount",
    codeMount(options.workDir, PYTHON_WORK_DIR, false),
    ...[...new Set(options.readOnlyPaths ?? [])].flatMap((p) => [
      "--mount",
      bindMount(p, true, RESERVED),
    ]),
    ...envArgs(PULL_ENV, options.env ?? {}, options.passEnv ?? []),
    "--entrypoint",
    "python3",
    image,
    "-I",
    "-m",
    "pip",
    "install",
    ...pip,
  ];
}

/** A docker network name, or the egress sidecar's namespace (`container:<name>`). */
function pullNetwork(network: string): string {
  return isSidecarNetwork(network) ? network : checkNetwork(network);
}

/**
 * The image a `pypi:` server is installed and run in: the user's choice (`--image`, the user
 * config), else its manifest's, else {@linkcode PYTHON_IMAGE}.
 *
 * @param server The server (its manifest's `image`).
 * @param pythonImage The user's choice, if any.
 * @returns The image, checked.
 * @throws {RangeError} When the image is not pinned.
 *
 * @example
 * ```ts
 * import { pythonImageOf } from "./python_plan.ts";
 * console.log(pythonImageOf({ image: "python:3.12-bookworm@sha256:" + "a".repeat(64) }, "py:3.12"));
 * // py:3.12
 * ```
 */
export function pythonImageOf(server: { image?: string }, pythonImage?: string): string {
  return checkImageReference(pythonImage ?? server.image ?? PYTHON_IMAGE);
}
