/**
 * Secrets for clients without a secret mechanism: a Docker `--env-file` only you can read.
 *
 * @module
 */
import { updateFile } from "./_atomic_file.ts";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Write `values` as a Docker env file (`NAME=value` lines) readable and writable only by the
 * owner (mode 0600, forced even if the file existed with another mode), atomically and with
 * no backup copy of old secrets. This is what mcp-run offers instead of writing a secret into
 * a client (Claude Desktop, Zed) that has no way to reference one: the entry passes
 * `--env-file <file>` to `docker run`. Requires write access to the file's folder.
 *
 * @param file The env file.
 * @param values Secret names and values.
 * @returns The path written (symlinks resolved).
 * @throws {TypeError} If a name is not a valid variable name, or a value holds a line break or
 *   NUL (the env-file format cannot carry them).
 * @example
 * ```ts ignore
 * import { writeSecretEnvFile } from "./secret_env_file.ts";
 * await writeSecretEnvFile("/home/a/.config/mcp-run/github.env", { GITHUB_TOKEN: "ghp_…" });
 * ```
 */
export async function writeSecretEnvFile(
  file: string,
  values: Record<string, string>,
): Promise<string> {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (!ENV_NAME.test(name)) {
      throw new TypeError(`Cannot use "${name}" as an environment variable name`);
    }
    if (/[\r\n\0]/.test(value)) {
      throw new TypeError(
        `Cannot write ${name} to an env file: its value holds a line break or NUL, which ` +
          `the env-file format cannot carry`,
      );
    }
    lines.push(`${name}=${value}`);
  }
  const content = lines.map((l) => l + "\n").join("");
  const result = await updateFile(file, () => content, {
    mode: 0o600,
    forceMode: true,
    backup: false,
  });
  if (!result.changed && Deno.build.os !== "windows") await Deno.chmod(result.file, 0o600);
  return result.file;
}
