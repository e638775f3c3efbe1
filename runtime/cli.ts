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
import { onUse } from "./_on_use.ts";
import { readLaunchHint } from "./cli/_launch_hint.ts";
import type { MainOptions } from "./cli/main.ts";

export type { MainOptions } from "./cli/main.ts";

/** The command line's modules, loaded on use (see {@linkcode onUse}). */
function loadMain(): Promise<typeof import("./cli/main.ts")> {
  return import(onUse("./cli/main.ts", import.meta.url));
}

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
  const { print, printError, env } = options;
  return await (await loadMain()).main(argv, { print, printError, env });
}

if (import.meta.main) {
  // The CLI's modules are read while the hint's check starts.
  const loading = loadMain();
  const launchHint = readLaunchHint(Deno.args, Deno.env.toObject());
  Deno.exit(await (await loading).main(Deno.args, { launchHint }));
}
