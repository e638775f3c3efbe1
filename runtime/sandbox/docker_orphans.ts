/**
 * Orphaned containers: the labels that tie a container to the launcher that started it, and
 * the removal of those whose launcher died (killed with SIGKILL, say).
 *
 * @module
 */
import { DOCKER_LABEL } from "./docker_names.ts";
import { type DockerCommandOptions, removeContainer, runDocker } from "./docker_engine.ts";

/** The removal of orphaned containers under way, if any. */
let reaping: Promise<void> | undefined;
/** A removal put off until the server has started (see {@linkcode reapOrphansLater}). */
let deferred: { timer: ReturnType<typeof setTimeout>; docker: DockerCommandOptions } | undefined;

/**
 * How long a launch waits before it removes orphaned containers: past a container's start, so
 * the `docker` clients it takes do not compete with that start for the CPU.
 */
export const ORPHAN_REMOVAL_DELAY_MS = 2000;

/**
 * Waits for the removal of orphaned containers that a launch started, if one is under way; one
 * that was put off starts now.
 *
 * @returns When no removal is running.
 */
export async function orphanRemoval(): Promise<void> {
  if (deferred) {
    clearTimeout(deferred.timer);
    const { docker } = deferred;
    deferred = undefined;
    reapOrphans(docker);
  }
  await reaping;
}

/**
 * Removes orphaned containers once the server has had time to start (see
 * {@linkcode ORPHAN_REMOVAL_DELAY_MS}), or as soon as a server stops ({@linkcode orphanRemoval}),
 * whichever comes first; the wait does not keep the launcher alive. Does nothing when a removal
 * is already under way or put off.
 *
 * @param docker The docker client and its environment.
 */
export function reapOrphansLater(docker: DockerCommandOptions): void {
  if (reaping || deferred) return;
  const timer = setTimeout(() => {
    deferred = undefined;
    reapOrphans(docker);
  }, ORPHAN_REMOVAL_DELAY_MS);
  Deno.unrefTimer(Number(timer));
  deferred = { timer, docker };
}

/**
 * Starts removing orphaned containers (once at a time); stopping a server awaits it (see
 * {@linkcode orphanRemoval}). Never rejects.
 *
 * @param docker The docker client and its environment.
 * @returns When the removal is done.
 */
export function reapOrphans(docker: DockerCommandOptions): Promise<void> {
  reaping ??= removeOrphanContainers(docker).then(
    () => {},
    () => {},
  ).finally(() => reaping = undefined);
  return reaping;
}

/**
 * Removes mcp-run containers whose launcher (on this host) is no longer running: what a launcher
 * killed with SIGKILL leaves behind. Linux only (elsewhere it removes nothing).
 *
 * @param options The docker client and its environment.
 * @returns The names of the removed containers.
 */
export async function removeOrphanContainers(
  options: DockerCommandOptions = {},
): Promise<string[]> {
  const host = hostName();
  if (Deno.build.os !== "linux" || !host) return [];
  const out = await runDocker([
    "ps",
    "-a",
    "--filter",
    `label=${DOCKER_LABEL}=1`,
    "--filter",
    `label=${DOCKER_LABEL}.launcher-host=${host}`,
    "--format",
    `{{.Names}} {{.Label "${DOCKER_LABEL}.launcher-pid"}} ` +
    `{{.Label "${DOCKER_LABEL}.launcher-pidns"}}`,
  ], options);
  if (out.code !== 0) return [];
  const ownNamespace = pidNamespace();
  const removed: string[] = [];
  for (const line of out.stdout.split("\n")) {
    const [name, pid, namespace] = line.trim().split(" ");
    if (!name || !/^[0-9]+$/.test(pid ?? "") || Number(pid) === Deno.pid) continue;
    // A pid means something only in its launcher's PID namespace (a launcher in a container or
    // under `unshare --pid` has one of its own): another's containers are not judged from here.
    if (namespace && namespace !== ownNamespace) continue;
    try {
      Deno.statSync(`/proc/${pid}`);
      continue;
    } catch { /* its launcher is gone */ }
    await removeContainer(name, options).catch(() => {});
    removed.push(name);
  }
  return removed;
}

/**
 * The labels that tie a container to this launcher (its host, pid and PID namespace), so that a
 * later launch in the same namespace removes the container once this launcher is gone; none
 * when the host name is unknown.
 *
 * @returns The labels.
 */
export function launcherLabels(): Record<string, string> {
  const host = hostName();
  const namespace = pidNamespace();
  return host
    ? {
      [`${DOCKER_LABEL}.launcher-host`]: host,
      [`${DOCKER_LABEL}.launcher-pid`]: String(Deno.pid),
      ...(namespace ? { [`${DOCKER_LABEL}.launcher-pidns`]: namespace } : {}),
    }
    : {};
}

/** This process's PID namespace (the inode of `/proc/self/ns/pid`), when it can be read. */
function pidNamespace(): string | undefined {
  try {
    return /^pid:\[([0-9]+)\]$/.exec(Deno.readLinkSync("/proc/self/ns/pid"))?.[1];
  } catch {
    return undefined;
  }
}

function hostName(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    return undefined;
  }
}
