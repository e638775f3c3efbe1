/**
 * What every CLI command receives: parsed common options, output sinks and the environment.
 *
 * @module
 */
import type { ResolveTargetOptions } from "./target.ts";
import type { Isolation } from "../sandbox/create_sandbox.ts";

/** The common state of one CLI invocation, shared by the command modules. */
export interface CliContext {
  /** mcp-run's cache root. */
  root: string;
  /** Registry sources given with `--registry`, then the built-in one (default: built-in). */
  sources?: (string | URL)[];
  /** How targets resolve: sources, `-p` parameters, folders, registry, isolation and trust. */
  target: ResolveTargetOptions & { isolation: Isolation };
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
}
