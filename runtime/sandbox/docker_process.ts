/**
 * Supervision of a server running in docker: stopping or killing it also removes its
 * container by name, and a launch started here never leaves one behind.
 *
 * @module
 */
import { trackContainer } from "./child_guard.ts";
import { type DockerCommandOptions, missingDocker, removeContainer } from "./docker_engine.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { orphanRemoval } from "./docker_orphans.ts";
import { ServerProcess, type SpawnServerOptions, startPlan } from "./server_process.ts";

/**
 * A server running in a container. Stopping it (or killing it with SIGKILL) also removes the
 * container by name, so neither a crash of the docker client nor a server that ignores signals
 * leaves one behind.
 */
export class DockerServerProcess extends ServerProcess {
  /** The container's name. */
  readonly container: string;
  #docker: DockerCommandOptions;
  #removed?: Promise<void>;
  #untrack: () => void;

  /** Use {@linkcode spawnDockerServer}. */
  constructor(
    name: string,
    child: Deno.ChildProcess,
    container: string,
    docker: DockerCommandOptions,
    options: SpawnServerOptions,
  ) {
    super(name, child, options);
    this.container = container;
    this.#docker = docker;
    // Removed if the launcher dies first (when it guards its children).
    this.#untrack = trackContainer(container, docker.docker);
  }

  /**
   * Sends a signal to the docker client (which passes SIGINT and SIGTERM on to the server);
   * SIGKILL also removes the container.
   *
   * @param signal The signal.
   */
  override kill(signal: Deno.Signal = "SIGTERM"): void {
    super.kill(signal);
    if (signal === "SIGKILL") this.remove().catch(() => {});
  }

  /**
   * Stops the server (close stdin → SIGTERM → SIGKILL), then removes the container for sure, and
   * waits for a removal of orphaned containers that a launch started.
   *
   * @param graceMs How long each step waits (default 2000).
   * @returns How the docker client exited.
   */
  override async stop(graceMs = 2000): Promise<Deno.CommandStatus> {
    const status = await super.stop(graceMs);
    await this.remove().catch(() => {});
    await orphanRemoval();
    return status;
  }

  /**
   * Removes the container (`docker rm -f`); safe to call more than once.
   *
   * @returns When it is gone.
   */
  remove(): Promise<void> {
    this.#removed ??= removeContainer(this.container, this.#docker).then(this.#untrack);
    return this.#removed;
  }
}

/**
 * Starts a docker launch plan: the docker client with exactly the planned environment, stdio
 * piped, stdout split into bounded lines. Requires `--allow-run=docker`.
 *
 * @param name The server's name, for messages.
 * @param plan A plan that names its container (`dockerLaunchPlan`, `containerLaunchPlan`).
 * @param options Buffer bounds and the stderr sink.
 * @returns The running process.
 * @throws {DockerUnavailableError} When the docker command is not installed.
 *
 * @example
 * ```ts ignore
 * import { dockerLaunchPlan, spawnDockerServer } from "jsr:@sandboxed/mcp-run";
 * const child = spawnDockerServer("memory", dockerLaunchPlan(server, { cacheRoot }));
 * await child.stop();
 * ```
 */
export function spawnDockerServer(
  name: string,
  plan: LaunchPlan & { container: string },
  options: SpawnServerOptions = {},
): DockerServerProcess {
  let child: Deno.ChildProcess;
  try {
    child = startPlan(plan);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw missingDocker(plan.program, error);
    throw error;
  }
  return new DockerServerProcess(
    name,
    child,
    plan.container,
    { docker: plan.program, env: plan.env },
    options,
  );
}
