/**
 * The `mcp-run` program and its {@linkcode main} function (the command line itself is in
 * cli/main.ts and the modules beside it).
 *
 * Run as a program, it first reads the command line's launch hint and starts the cache check
 * of the server it started last time, then loads the rest of the CLI: the check runs while the
 * modules load.
 *
 * @module
 */
import { readLaunchHint } from "./cli/_launch_hint.ts";
import type { MainOptions } from "./cli/main.ts";

export type { MainOptions } from "./cli/main.ts";
export type { LaunchHint } from "./cli/_launch_hint.ts";
export type { PendingSealCheck } from "./sandbox/_cache_seal.ts";

/**
 * Runs the CLI with the given arguments.
 *
 * @param argv Arguments after the program name.
 * @param options Output sinks and environment.
 * @returns The exit code.
 *
 * @example Capture what a command prints
 * ```ts
 * import { main } from "jsr:@sandboxed/mcp-run/cli";
 *
 * const lines: string[] = [];
 * const code = await main(["flags", "time"], { print: (text) => lines.push(text) });
 * console.log(code, lines[0].includes("jsr:@sandboxed/time@0.1.0")); // 0 true
 * ```
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  return await (await import("./cli/main.ts")).main(argv, options);
}

if (import.meta.main) {
  const launchHint = readLaunchHint(Deno.args, Deno.env.toObject());
  Deno.exit(await main(Deno.args, { launchHint }));
}
