/**
 * The one place an isolation choice becomes a {@linkcode Sandbox}.
 *
 * @module
 */
import { DenoSandbox, type DenoSandboxOptions } from "./deno_sandbox.ts";
import { DockerSandbox, type DockerSandboxOptions } from "./docker_sandbox.ts";
import type { Sandbox } from "./sandbox.ts";

/** The built-in isolations: Deno's permissions natively, or those inside a docker container. */
export type Isolation = "deno" | "docker";

/** Options for {@linkcode createSandbox}: each backend reads the ones it knows. */
export type CreateSandboxOptions = DenoSandboxOptions & DockerSandboxOptions;

/**
 * Makes the sandbox for an isolation choice.
 *
 * @param isolation `deno` or `docker`.
 * @param options Cache root, environment, pull policy; docker image, network and limits.
 * @returns The sandbox.
 * @throws {RangeError} When the isolation is not one of the built-in ones.
 *
 * @example
 * ```ts
 * import { createSandbox } from "./create_sandbox.ts";
 * const sandbox = createSandbox("docker", { cacheRoot: "/c", source: {} });
 * console.log(sandbox.isolation, sandbox.unit); // docker container
 * ```
 */
export function createSandbox(isolation: Isolation, options: CreateSandboxOptions): Sandbox {
  switch (isolation) {
    case "deno":
      return new DenoSandbox(options);
    case "docker":
      return new DockerSandbox(options);
    default:
      throw new RangeError(`Unknown isolation "${isolation}": use deno or docker`);
  }
}
