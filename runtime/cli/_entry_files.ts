/**
 * Small helpers of the client commands: the files an entry is written to, and the secret values
 * an env file holds.
 *
 * @module
 */
import { resolve } from "../_path.ts";
import type { CliContext } from "./context.ts";

/** A file's text, or `null` when it does not exist. */
export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** Paths are written absolute: the client starts the entry from another folder. */
export function absolute(path: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path) ? path : resolve(path);
}

/** The values of the secrets an `--env-file` holds, from mcp-run's environment. */
export function secretValues(
  ctx: Pick<CliContext, "env">,
  secrets: readonly { name: string }[],
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const { name } of secrets) {
    const value = ctx.env[name];
    if (value === undefined) {
      throw new TypeError(
        `Cannot write ${name} to the env file: set it in mcp-run's environment first`,
      );
    }
    values[name] = value;
  }
  return values;
}
