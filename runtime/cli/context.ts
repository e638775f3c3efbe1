/**
 * What every CLI command receives: parsed common options, the sandbox, output sinks and the
 * environment; the exit codes; the usage error every command throws for a bad command line.
 *
 * @module
 */
import type { ResolveTargetOptions } from "../registry/resolve_target.ts";
import type { ScanMode } from "../guard/scan.ts";
import type { Isolation } from "../sandbox/create_sandbox.ts";
import type { ContainerPackageOptions } from "../sandbox/container_options.ts";
import type { DockerLaunchOptions } from "../sandbox/docker_launch.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import type { LaunchHint } from "./_launch_hint.ts";

/** Exit codes of the CLI (`run` exits with the server's own code once it started). */
export const EXIT: Readonly<Record<string, number>> = {
  ok: 0,
  error: 1,
  usage: 2,
  invalid: 3,
  cache: 4,
};

/** The common state of one CLI invocation, shared by the command modules. */
export interface CliContext {
  /** The `--registry` values as typed (passed on by launcher entries). */
  registrySources: string[];
  /**
   * How targets resolve: registry sources (`--registry`, then the built-in one), `-p` parameters,
   * the cache root, the npm registry, isolation and trust.
   */
  target: ResolveTargetOptions & {
    isolation: Isolation;
    /** The first docker-only option given (`--image`, …), checked once the server is known. */
    dockerOption?: string;
    /** `--image`, as given (client entries of container packages write only that). */
    imageGiven?: string;
  };
  /**
   * Docker images, network and limits (docker isolation, and docker client entries); the
   * Python image and whether source distributions may be built (`pypi:` packages).
   */
  docker:
    & DockerLaunchOptions
    & Pick<ContainerPackageOptions, "pythonImage" | "allowBuild" | "egressImage">
    & {
      /** The engine runtime that is gVisor (the user config's `gvisorRuntime`; default `runsc`). */
      gvisorRuntime?: string;
    };
  /**
   * The sandbox of `--isolation` (or the user's default). A server that runs only in a
   * container resolves for docker when no isolation was given: use the sandbox of
   * `ResolvedTarget.isolation` (see `resolveFor` in launch.ts).
   */
  sandbox: Sandbox;
  /** The sandbox of another isolation (client entry forms), with the same options. */
  sandboxFor: (isolation: Isolation) => Promise<Sandbox>;
  /** The CLI's environment. */
  env: Record<string, string>;
  /** Registry mirrors (`JSR_URL`, `NPM_CONFIG_REGISTRY`). */
  registries: Record<string, string>;
  /** Prints data (stdout). */
  print: (text: string) => void;
  /** Prints messages (stderr). */
  printError: (text: string) => void;
  /** Whether `--format json` was given. */
  json: boolean;
  /** The command line's launch hint, when the program entry read one (`run` keeps it current). */
  launchHint?: LaunchHint;
  /** The user config's scan mode (`--scan` and then it choose before the manifest). */
  userScan?: ScanMode;
}

/** A command's own part of the command line. */
export interface CommandLine {
  /** The positional arguments after the command. */
  rest: string[];
  /** The server's arguments, after `--`. */
  serverArgs: string[];
}

/**
 * A problem with the command line: the CLI prints it with the command's usage and exits 2.
 *
 * @example
 * ```ts
 * import { UsageError } from "./context.ts";
 * console.log(new UsageError("give one server name").name); // UsageError
 * ```
 */
export class UsageError extends Error {
  /**
   * @param message What is wrong with the command line.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/**
 * Checks how many positional arguments a command got.
 *
 * @param rest The positional arguments.
 * @param min The fewest allowed.
 * @param max The most allowed (default `min`).
 * @param message What to say otherwise.
 * @throws {UsageError} When there are fewer or more.
 *
 * @example
 * ```ts
 * import { expectArgs } from "./context.ts";
 * expectArgs(["time"], 1, 1, "give one server name"); // passes
 * ```
 */
export function expectArgs(rest: string[], min: number, max: number, message: string): void {
  if (rest.length < min || rest.length > max) throw new UsageError(message);
}

/**
 * Reads an option given in seconds (`--timeout`, `--request-timeout`) as milliseconds.
 *
 * @param flag The option's name, for the error.
 * @param text The value as typed, if given.
 * @returns Milliseconds, or undefined when not given.
 * @throws {UsageError} When it is not a positive number.
 *
 * @example
 * ```ts
 * import { secondsOption } from "./context.ts";
 * console.log(secondsOption("timeout", "1.5")); // 1500
 * ```
 */
export function secondsOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a positive number of seconds, got "${text}"`);
  }
  return Math.ceil(value * 1000);
}
