/**
 * What every CLI command receives: parsed common options, output sinks and the environment.
 *
 * @module
 */

/** The common state of one CLI invocation, shared by the command modules. */
export interface CliContext {
  /** mcp-run's cache root. */
  root: string;
  /** Registry sources given with `--registry`, then the built-in one (default: built-in). */
  sources?: (string | URL)[];
  /** `-p` parameters. */
  params: Record<string, string[]>;
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
  /** `--isolation`. */
  isolation: "deno" | "docker";
  /** `--trust` (docker: allow declared run/ffi). */
  trust: boolean;
}
