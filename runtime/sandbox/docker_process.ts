/**
 * Supervision of a server running in docker: stopping or killing it also removes its
 * container by name, and a launch started here never leaves one behind.
 *
 * @module
 */
import { trackContainer } from "./child_guard.ts";
import {
  type DockerCommandOptions,
  missingDocker,
  removeContainer,
  runDocker,
} from "./docker_engine.ts";
import type { LaunchPlan } from "./launch_plan.ts";
import { launcherLabels, orphanRemoval } from "./docker_orphans.ts";
import { ServerProcess, type SpawnServerOptions, startPlan } from "./server_process.ts";
import { type ChildLike, deferredChild } from "./_deferred_child.ts";
import type { PlannedEgress } from "./container_launch.ts";
import { type Egress, startEgress } from "./egress_launch.ts";
import { EGRESS_INSIDE_READY } from "./egress_inside.ts";
import type { EgressRefusal } from "./egress_proxy.ts";
import { applyEgressRate, egressRatePlan } from "./egress_rate.ts";

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
  #alongside?: () => Promise<void>;
  #alongsideStopped?: Promise<void>;
  #onStopping?: () => void;

  /** Use {@linkcode spawnDockerServer}. */
  constructor(
    name: string,
    child: ChildLike,
    container: string,
    docker: DockerCommandOptions,
    options: SpawnServerOptions & {
      /** Stops what runs for the container (its egress sidecar and proxy) once it is removed. */
      alongside?: () => Promise<void>;
      /** Told at once when a stop or SIGKILL begins (a container not started yet never is). */
      onStopping?: () => void;
    },
  ) {
    super(name, child, options);
    this.container = container;
    this.#docker = docker;
    this.#alongside = options.alongside;
    this.#onStopping = options.onStopping;
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
    if (signal === "SIGKILL") this.#onStopping?.();
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
    this.#onStopping?.();
    return await super.stop(graceMs);
  }

  /**
   * Removes the container once the docker client has exited, and waits for a removal of
   * orphaned containers that a launch started.
   *
   * @returns When the container is gone.
   */
  protected override async released(): Promise<void> {
    // A removal begun while the docker client still ran (SIGKILL) may have come before the
    // engine had made the container, or may have failed: now that the client is gone, again.
    const early = this.#removed;
    if (early) {
      this.#removed = undefined;
      await early.catch(() => {});
    }
    await this.remove().catch(() => {});
    await orphanRemoval();
  }

  /**
   * Removes the container (`docker rm -f`), then stops what ran alongside it; safe to call more
   * than once.
   *
   * @returns When it is gone.
   */
  remove(): Promise<void> {
    this.#removed ??= removeContainer(this.container, this.#docker).then(this.#untrack).finally(
      () => this.#stopAlongside(),
    );
    return this.#removed;
  }

  /** Stops what ran alongside the container (its egress proxy and sidecar), once. */
  #stopAlongside(): Promise<void> {
    this.#alongsideStopped ??= this.#alongside?.() ?? Promise.resolve();
    return this.#alongsideStopped;
  }
}

/**
 * Starts a docker launch plan: the docker client with exactly the planned environment, stdio
 * piped, stdout split into bounded lines; a plan with an egress cap gets it once the container
 * runs (the process is killed, with the reason on stderr, when it cannot be set). A plan with an egress path (a container package with
 * `net` grants) first starts the egress proxy and its sidecar (`startEgress`); what is written
 * to the server meanwhile waits, and a failure to start them ends the process with the reason.
 * When the forwarder runs inside the container, a container whose wrapper has not said ready
 * (`EGRESS_INSIDE_READY` on stderr, not passed on) within `forwarderStartMs` is stopped, with
 * the reason on stderr.
 * Requires `--allow-run=docker` (and, for egress, `--allow-net` and the cache root).
 *
 * @param name The server's name, for messages.
 * @param plan A plan that names its container (`dockerLaunchPlan`, `containerLaunchPlan`).
 * @param options Buffer bounds and the stderr sink; for egress the cache root, the forwarder's
 *   image and the refusal sink.
 * @returns The running process.
 * @throws {DockerUnavailableError} When the docker command is not installed.
 * @throws {TypeError} When the plan has an egress path and no cache root is given.
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
  plan: LaunchPlan & { container: string; egress?: PlannedEgress; egressRate?: number },
  options: SpawnServerOptions & SpawnDockerServerOptions = {},
): DockerServerProcess {
  const docker = { docker: plan.program, env: plan.env };
  if (plan.egress) return spawnWithEgress(name, { ...plan, egress: plan.egress }, options);
  let child: Deno.ChildProcess;
  try {
    child = startPlan(plan);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw missingDocker(plan.program, error);
    throw error;
  }
  const server = new DockerServerProcess(name, child, plan.container, docker, options);
  if (plan.egressRate !== undefined) {
    // Capped as soon as it runs; a cap asked for and not set stops the server.
    capContainerEgress(plan.container, plan.egressRate, docker).catch((error) => {
      (options.onStderr ?? console.error)(`mcp-run: ${(error as Error).message}`);
      server.kill("SIGKILL");
    });
  }
  return server;
}

/** Options of {@linkcode spawnDockerServer} for a plan with an egress path. */
export interface SpawnDockerServerOptions {
  /** mcp-run's cache root, where the egress proxy's socket folder is made. */
  cacheRoot?: string;
  /** The Deno image the egress forwarder runs in (default `DENO_IMAGE`). */
  egressImage?: string;
  /** Called for each connection the egress proxy refuses (default: one line to stderr). */
  onRefusal?: (refusal: EgressRefusal) => void;
  /**
   * How long a forwarder inside the container may take to start, from the container's start
   * (default {@linkcode FORWARDER_START_MS}); past it the container is stopped, with the reason.
   */
  forwarderStartMs?: number;
}

/** How long the forwarder inside a container may take to start, by default: 15 s. */
export const FORWARDER_START_MS = 15_000;

/**
 * Starts the egress proxy and sidecar, then the container in the sidecar's network namespace (or,
 * for a plan whose forwarder runs inside its container, the proxy alone, then the container);
 * what the client writes meanwhile waits. Removing the container stops both.
 */
function spawnWithEgress(
  name: string,
  plan: LaunchPlan & { container: string; egress: PlannedEgress },
  options: SpawnServerOptions & SpawnDockerServerOptions,
): DockerServerProcess {
  if (options.cacheRoot === undefined) {
    throw new TypeError(`Cannot start "${name}": its egress proxy needs the cache root`);
  }
  let stopping = false;
  // The forwarder inside the container says when it is ready: without it in time, it is stopped.
  const watch = plan.egress.inside ? forwarderWatch(name, options) : undefined;
  const egress: Promise<Egress> = startEgress({
    cacheRoot: options.cacheRoot,
    serverName: name,
    suffix: plan.egress.suffix,
    allow: plan.egress.allow,
    deny: plan.egress.deny,
    image: options.egressImage,
    labels: launcherLabels(),
    onRefusal: options.onRefusal,
    docker: plan.program,
    env: plan.env,
    ...(plan.egress.inside ? { inside: plan.egress.inside } : {}),
  });
  egress.catch(() => {});
  const child = deferredChild(async (cancelled) => {
    await egress;
    // Stopped while the egress path started: the container is never started.
    if (stopping || cancelled()) throw new Error(`Server "${name}" was stopped before it started`);
    let started: Deno.ChildProcess;
    try {
      started = startPlan(plan);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw missingDocker(plan.program, error);
      throw error;
    }
    watch?.start(() => server.kill("SIGKILL"));
    return started;
  });
  const alongside = async () => {
    stopping = true;
    watch?.end();
    await (await egress.catch(() => undefined))?.stop();
  };
  const server = new DockerServerProcess(name, child, plan.container, {
    docker: plan.program,
    env: plan.env,
  }, {
    ...options,
    ...(watch ? { onStderr: watch.onStderr } : {}),
    alongside,
    onStopping: () => {
      stopping = true;
      watch?.end();
    },
  });
  if (watch) server.status.finally(() => watch.end()).catch(() => {});
  return server;
}

/**
 * Watches for the wrapper's ready mark (see `egressWrapper`) on the container's stderr: the
 * mark itself is not passed on; without it in time the reason is, and the container is stopped.
 */
function forwarderWatch(
  name: string,
  options: SpawnServerOptions & SpawnDockerServerOptions,
): { onStderr: (line: string) => void; start: (stop: () => void) => void; end: () => void } {
  const sink = options.onStderr ?? ((line: string) => console.error(line));
  const ms = options.forwarderStartMs ?? FORWARDER_START_MS;
  let ready = false;
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const end = () => {
    ended = true;
    clearTimeout(timer);
  };
  return {
    onStderr: (line) => {
      if (!ready && line.trimEnd() === EGRESS_INSIDE_READY) {
        ready = true;
        end();
        return;
      }
      sink(line);
    },
    start: (stop) => {
      if (ended || ready) return;
      timer = setTimeout(() => {
        if (ended || ready) return;
        end();
        sink(
          `mcp-run: the egress forwarder of "${name}" did not start within ` +
            `${Math.round(ms / 1000)} s, so the server could not reach its granted hosts; its ` +
            "container was stopped",
        );
        stop();
      }, ms);
    },
    end,
  };
}

/**
 * Caps a container's egress once it runs: its main process from `docker inspect`, then the cap
 * on its `eth0` (see `egressRatePlan`). Throws when it never runs or the cap cannot be set.
 */
async function capContainerEgress(
  container: string,
  bitsPerSecond: number,
  docker: DockerCommandOptions,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const out = await runDocker(["inspect", "--format", "{{.State.Pid}}", container], docker);
    const pid = Number(out.stdout.trim());
    if (out.code === 0 && Number.isSafeInteger(pid) && pid > 1) {
      return await applyEgressRate(egressRatePlan(pid, { bitsPerSecond }));
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Cannot cap the egress of container ${container}: it did not start running ` +
          `(${out.stderr.trim() || "no process"})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
