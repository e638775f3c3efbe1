/**
 * Talking to the Docker engine through the `docker` command: is it there, does an image or
 * volume exist, remove a container, find mcp-run's leftovers.
 *
 * Every function here starts the `docker` program; all require `--allow-run=docker`.
 *
 * @module
 */
import { DOCKER_LABEL } from "./docker_names.ts";

/** Variables of the launcher that configure the docker client itself (never the server). */
export const DOCKER_CLIENT_VARS: readonly string[] = [
  "PATH",
  "HOME",
  "XDG_RUNTIME_DIR",
  "DOCKER_HOST",
  "DOCKER_CONTEXT",
  "DOCKER_CONFIG",
  "DOCKER_CERT_PATH",
  "DOCKER_TLS_VERIFY",
  "DOCKER_API_VERSION",
];

/** Thrown when docker isolation was asked for but docker cannot be used; never falls back. */
export class DockerUnavailableError extends Error {
  /** `missing` (no docker command) or `down` (no engine answers). */
  readonly kind: "missing" | "down";
  /**
   * Says that docker cannot be used.
   *
   * @param kind What is wrong.
   * @param message What to install or start.
   * @param options Standard error options.
   */
  constructor(kind: "missing" | "down", message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DockerUnavailableError";
    this.kind = kind;
  }
}

/**
 * The error for a docker command that is not installed.
 *
 * @param docker The command that was not found.
 * @param cause The spawn error.
 * @returns A `missing` {@linkcode DockerUnavailableError} saying what to install.
 */
export function missingDocker(docker: string, cause?: unknown): DockerUnavailableError {
  return new DockerUnavailableError(
    "missing",
    `Cannot use docker isolation: the "${docker}" command is not installed. Install Docker ` +
      "Engine (Debian/Ubuntu: apt-get install docker.io; elsewhere: Docker Desktop), or run " +
      "a Deno server with --isolation deno (pypi: and oci: servers run only in a container)",
    { cause },
  );
}

/** How to start the `docker` program. */
export interface DockerCommandOptions {
  /** The docker client (default `docker`, found on `PATH`). */
  docker?: string;
  /** Its environment (default: the launcher's). */
  env?: Record<string, string>;
}

/** What a finished `docker` command printed. */
export interface DockerOutput {
  /** Exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/**
 * Runs `docker <args>` to completion and returns what it printed.
 *
 * @param args Arguments after `docker`.
 * @param options The docker client and its environment.
 * @returns Exit code and output.
 * @throws {DockerUnavailableError} `missing` when the docker command is not installed.
 *
 * @example
 * ```ts ignore
 * import { runDocker } from "./docker_engine.ts";
 * console.log((await runDocker(["version"])).stdout);
 * ```
 */
export async function runDocker(
  args: string[],
  options: DockerCommandOptions = {},
): Promise<DockerOutput> {
  const docker = options.docker ?? "docker";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(docker, {
      args,
      env: options.env,
      clearEnv: options.env !== undefined,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw missingDocker(docker, error);
    throw error;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Checks that the docker command exists and an engine answers.
 *
 * @param options The docker client and its environment.
 * @returns The engine's version.
 * @throws {DockerUnavailableError} `missing` when docker is not installed, `down` when no engine
 *   answers (with what to start).
 *
 * @example
 * ```ts ignore
 * import { checkDocker } from "./docker_engine.ts";
 * console.log(await checkDocker()); // "20.10.24+dfsg1"
 * ```
 */
export async function checkDocker(options: DockerCommandOptions = {}): Promise<string> {
  const out = await runDocker(["version", "--format", "{{.Server.Version}}"], options);
  const version = out.stdout.trim();
  if (out.code !== 0 || version === "") {
    const detail = out.stderr.trim().split("\n").slice(-2).join(" ");
    throw new DockerUnavailableError(
      "down",
      "Cannot use docker isolation: the Docker engine is not running or not reachable" +
        (detail ? ` (${detail})` : "") + ". Start it (systemctl start docker, or dockerd as " +
        "root, or open Docker Desktop) and check that you may use it (docker info), or run a " +
        "Deno server with --isolation deno",
    );
  }
  return version;
}

/**
 * Tells whether an image is present locally.
 *
 * @param image The image reference.
 * @param options The docker client and its environment.
 * @returns `true` when `docker image inspect` finds it.
 */
export async function imageExists(
  image: string,
  options: DockerCommandOptions = {},
): Promise<boolean> {
  return (await runDocker(["image", "inspect", "--format", "{{.Id}}", "--", image], options))
    .code === 0;
}

/**
 * Tells whether a volume exists.
 *
 * @param volume The volume name.
 * @param options The docker client and its environment.
 * @returns `true` when `docker volume inspect` finds it.
 */
export async function volumeExists(
  volume: string,
  options: DockerCommandOptions = {},
): Promise<boolean> {
  return (await runDocker(["volume", "inspect", "--format", "{{.Name}}", "--", volume], options))
    .code === 0;
}

/** How long {@linkcode removeContainer} waits for a removal the engine began itself. */
const REMOVAL_WAIT_MS = 15_000;

/**
 * Removes a container for sure (`docker rm -f`), running or not. A container that is already
 * gone is not an error. One the engine is removing already (a `--rm` container whose process
 * just ended) is waited for until it is gone.
 *
 * @param container The container's name or id.
 * @param options The docker client and its environment.
 * @throws {Error} When docker fails for another reason, or the engine's own removal does not
 *   end within 15 s.
 */
export async function removeContainer(
  container: string,
  options: DockerCommandOptions = {},
): Promise<void> {
  const out = await runDocker(["rm", "-f", "--", container], options);
  if (out.code === 0 || /no such container/i.test(out.stderr)) return;
  if (!/already in progress/i.test(out.stderr)) {
    throw new Error(`Cannot remove container "${container}": ${out.stderr.trim()}`);
  }
  const deadline = Date.now() + REMOVAL_WAIT_MS;
  while (Date.now() < deadline) {
    const left = await runDocker(
      ["container", "inspect", "--format", "{{.Id}}", "--", container],
      options,
    );
    if (left.code !== 0 && /no such container/i.test(left.stderr)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `Cannot remove container "${container}": the engine's own removal of it did not end ` +
      `within ${REMOVAL_WAIT_MS / 1000} s`,
  );
}

/**
 * Lists the ids of mcp-run's containers (running or not), optionally narrowed by more labels.
 *
 * @param labels More `key=value` labels every listed container must carry.
 * @param options The docker client and its environment.
 * @returns Container ids.
 * @throws {Error} When docker fails.
 */
export async function listContainers(
  labels: Record<string, string> = {},
  options: DockerCommandOptions = {},
): Promise<string[]> {
  const filters = [`${DOCKER_LABEL}=1`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]
    .flatMap((label) => ["--filter", `label=${label}`]);
  const out = await runDocker(["ps", "-a", "-q", "--no-trunc", ...filters], options);
  if (out.code !== 0) throw new Error(`Cannot list containers: ${out.stderr.trim()}`);
  return out.stdout.split("\n").map((l) => l.trim()).filter(Boolean);
}
