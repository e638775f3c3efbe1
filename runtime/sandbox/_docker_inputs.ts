/**
 * What a docker command takes from the launcher: the docker client's own settings, TLS trust
 * files to mount, resource limits, and a fresh container-name suffix.
 *
 * @module
 */
import type { DockerLimits } from "./docker_checks.ts";
import { DOCKER_CLIENT_VARS, type DockerCommandOptions } from "./docker_engine.ts";

/**
 * The TLS trust settings to give a container: a variable naming a CA file is rewritten to the
 * file's canonical path, which is mounted read-only; a file that does not exist is left out.
 *
 * @param source The launcher's environment.
 * @param names The trust variables to look at.
 * @returns The variables for the container and the files to mount.
 */
export function tlsTrust(
  source: Record<string, string>,
  names: readonly string[],
): { env: Record<string, string>; paths: string[] } {
  const env: Record<string, string> = {};
  const paths: string[] = [];
  for (const name of names) {
    const value = source[name];
    if (!value) continue;
    if (name === "DENO_TLS_CA_STORE") {
      env[name] = value;
      continue;
    }
    try {
      const file = Deno.realPathSync(value);
      if (!Deno.statSync(file).isFile) continue;
      env[name] = file;
      if (!paths.includes(file)) paths.push(file);
    } catch { /* not a readable file: the container could not use it either */ }
  }
  return { env, paths };
}

/**
 * The docker client to run and the only environment it gets: its own settings.
 *
 * @param options The docker client (default `docker`).
 * @param source The launcher's environment.
 * @returns Options for `runDocker`.
 */
export function dockerOptions(
  options: { docker?: string },
  source: Record<string, string>,
): DockerCommandOptions {
  return { docker: options.docker ?? "docker", env: clientEnv(source) };
}

/**
 * The docker client's own settings (`DOCKER_HOST`, …) found in the launcher's environment.
 *
 * @param source The launcher's environment.
 * @returns The variables that are set.
 */
export function clientEnv(source: Record<string, string>): Record<string, string> {
  return pick(source, DOCKER_CLIENT_VARS);
}

/**
 * The variables of `names` that are set in `source`.
 *
 * @param source An environment.
 * @param names The names to keep.
 * @returns The set ones, with their values.
 */
export function pick(
  source: Record<string, string>,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) if (source[name] !== undefined) out[name] = source[name];
  return out;
}

/**
 * Only the resource limits of a wider options object, so no other option reaches the argv.
 *
 * @param options Options holding limits.
 * @returns The limits (missing ones left undefined).
 */
export function limits(options: Partial<DockerLimits>): Partial<DockerLimits> {
  const { memory, cpus, pidsLimit, tmpfsSize, nofile } = options;
  return { memory, cpus, pidsLimit, tmpfsSize, nofile };
}

/**
 * A fresh container-name suffix: twelve random hex digits.
 *
 * @returns The suffix.
 */
export function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
