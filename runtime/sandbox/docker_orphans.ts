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

/**
 * Waits for the removal of orphaned containers that a launch started, if one is under way.
 *
 * @returns When no removal is running.
 */
export async function orphanRemoval(): Promise<void> {
  await reaping;
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
    `{{.Names}} {{.Label "${DOCKER_LABEL}.launcher-pid"}}`,
  ], options);
  if (out.code !== 0) return [];
  const removed: string[] = [];
  for (const line of out.stdout.split("\n")) {
    const [name, pid] = line.trim().split(" ");
    if (!name || !/^[0-9]+$/.test(pid ?? "") || Number(pid) === Deno.pid) continue;
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
 * The labels that tie a container to this launcher (its host and pid), so that a later launch
 * removes the container once this launcher is gone; none when the host name is unknown.
 *
 * @returns The labels.
 */
export function launcherLabels(): Record<string, string> {
  const host = hostName();
  return host
    ? {
      [`${DOCKER_LABEL}.launcher-host`]: host,
      [`${DOCKER_LABEL}.launcher-pid`]: String(Deno.pid),
    }
    : {};
}

function hostName(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    return undefined;
  }
}
