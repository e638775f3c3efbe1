/**
 * The one place an isolation choice becomes a {@linkcode Sandbox}.
 *
 * @module
 */
import { DenoSandbox, type DenoSandboxOptions } from "./deno_sandbox.ts";
import type { GvisorSandboxOptions } from "./gvisor_sandbox.ts";
import type { Sandbox } from "./sandbox.ts";
import { onUse } from "../_on_use.ts";

/**
 * The built-in isolations: Deno's permissions natively, those inside a docker container, or
 * inside a docker container under gVisor's user-space kernel.
 */
export type Isolation = "deno" | "docker" | "gvisor";

/** Options for {@linkcode createSandbox}: each backend reads the ones it knows. */
export type CreateSandboxOptions = DenoSandboxOptions & GvisorSandboxOptions;

/**
 * Makes the sandbox for an isolation choice. A backend's modules load when it is chosen, so a
 * native start does not read docker's.
 *
 * @param isolation `deno`, `docker` or `gvisor`.
 * @param options Cache root, environment, pull policy; docker image, network and limits.
 * @returns The sandbox.
 * @throws {RangeError} When the isolation is not one of the built-in ones.
 *
 * @example
 * ```ts
 * import { createSandbox } from "./create_sandbox.ts";
 * const sandbox = await createSandbox("docker", { cacheRoot: "/c", source: {} });
 * console.log(sandbox.isolation, sandbox.unit); // docker container
 * ```
 */
export async function createSandbox(
  isolation: Isolation,
  options: CreateSandboxOptions,
): Promise<Sandbox> {
  switch (isolation) {
    case "deno":
      return new DenoSandbox(options);
    case "docker": {
      const { DockerSandbox } =
        await (import(onUse("./docker_sandbox.ts", import.meta.url)) as Promise<
          typeof import("./docker_sandbox.ts")
        >);
      return new DockerSandbox(options);
    }
    case "gvisor": {
      const { GvisorSandbox } =
        await (import(onUse("./gvisor_sandbox.ts", import.meta.url)) as Promise<
          typeof import("./gvisor_sandbox.ts")
        >);
      return new GvisorSandbox(options);
    }
    default:
      throw new RangeError(`Unknown isolation "${isolation}": use deno, docker or gvisor`);
  }
}
