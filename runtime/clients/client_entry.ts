/**
 * Turn a launch command into the entry a given client stores, with its secrets referenced
 * through the client's own mechanism.
 *
 * @module
 */
import { MANAGED_ENV, MANAGED_VALUE } from "./_marker.ts";
import { getClient } from "./registry.ts";
import type { ClientId, ClientSpec, LaunchCommand, PromptInput } from "./types.ts";
import { inputId } from "./vscode.ts";

/** Options for {@link clientEntry}. */
export interface ClientEntryOptions {
  /** Entry name, the key the client lists the server under. */
  name: string;
  /** Description shown by clients that have one (goose). */
  description?: string;
}

/** An entry ready to be written into one client's configuration. */
export interface ClientEntry {
  /** Client the entry is shaped for. */
  client: ClientId;
  /** Entry name. */
  name: string;
  /** The entry object exactly as the client stores it. */
  value: Record<string, unknown>;
  /** VS Code `inputs` the entry references (empty for other clients). */
  inputs: PromptInput[];
  /** Secrets left out because the client has no way to reference them. */
  omittedSecrets: string[];
  /** Sentences for the user: how to provide the secrets. */
  notices: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Build the entry `client` stores for `command`. Pure: no file is read or written.
 *
 * Secrets are referenced, never written: VS Code gets `inputs` and `${input:…}`, Cursor and
 * Windsurf `${env:…}`, Claude Code `${…}`, Continue `${{ secrets.… }}`, goose `env_keys`. For
 * Claude Desktop and Zed, which have no mechanism, the secret is left out and a notice says
 * so. Every entry carries `MCP_RUN_MANAGED=1` in its environment map, which is how mcp-run
 * later recognises its own entries.
 *
 * @param client Client id or spec.
 * @param command The command, arguments, plain environment and secret names.
 * @param options The entry name (and an optional description).
 * @returns The client-shaped entry, its inputs and notices.
 * @throws {RangeError} If the name is not 1–64 letters, digits, `.`, `_` or `-` (starting
 *   with a letter or digit), or the client is unknown.
 * @throws {TypeError} If a variable name is invalid, a secret is also a plain variable, or a
 *   value contains `${` for a client that would expand it.
 * @example
 * ```ts
 * import { clientEntry } from "./client_entry.ts";
 * const e = clientEntry("cursor", {
 *   command: "deno",
 *   args: ["run", "npm:@modelcontextprotocol/server-github@2025.4.8"],
 *   env: {},
 *   secrets: [{ name: "GITHUB_TOKEN", description: "Personal access token" }],
 * }, { name: "github" });
 * console.assert((e.value.env as Record<string, string>).GITHUB_TOKEN === "${env:GITHUB_TOKEN}");
 * ```
 */
export function clientEntry(
  client: ClientId | ClientSpec,
  command: LaunchCommand,
  options: ClientEntryOptions,
): ClientEntry {
  const spec = typeof client === "string" ? getClient(client) : client;
  const { name } = options;
  if (!NAME.test(name)) {
    throw new RangeError(
      `Cannot use "${name}" as an entry name: use 1 to 64 letters, digits, ".", "_" or "-", ` +
        `starting with a letter or digit`,
    );
  }
  for (const key of [...Object.keys(command.env), ...command.secrets.map((s) => s.name)]) {
    if (!ENV_NAME.test(key)) {
      throw new TypeError(`Cannot use "${key}" as an environment variable name`);
    }
  }
  for (const secret of command.secrets) {
    if (secret.name in command.env) {
      throw new TypeError(
        `Cannot pass "${secret.name}" both as a secret and as a plain value; drop one`,
      );
    }
  }
  if (MANAGED_ENV in command.env || command.secrets.some((s) => s.name === MANAGED_ENV)) {
    throw new TypeError(`Cannot set "${MANAGED_ENV}": mcp-run uses it to mark its entries`);
  }
  if (spec.expands) {
    for (const value of [command.command, ...command.args, ...Object.values(command.env)]) {
      if (value.includes("${")) {
        throw new TypeError(
          `Cannot write "${value}" for ${spec.displayName}: it expands "\${…}" in values, ` +
            `so the server would not receive this text as written`,
        );
      }
    }
  }

  const env: Record<string, string> = { ...command.env };
  const inputs: PromptInput[] = [];
  const secretNames = command.secrets.map((s) => s.name);
  const omittedSecrets: string[] = [];
  for (const secret of command.secrets) {
    switch (spec.secrets) {
      case "input":
        inputs.push({
          type: "promptString",
          id: inputId(name, secret.name),
          description: secret.description,
          password: true,
        });
        env[secret.name] = spec.secretReference!(secret.name, name);
        break;
      case "template":
        env[secret.name] = spec.secretReference!(secret.name, name);
        break;
      case "env-keys":
        break;
      case "none":
        omittedSecrets.push(secret.name);
        break;
    }
  }
  env[MANAGED_ENV] = MANAGED_VALUE;
  const value = spec.buildEntry(name, {
    command: command.command,
    args: [...command.args],
    env,
    secretNames: spec.secrets === "env-keys" ? secretNames : [],
    description: options.description ?? "",
  });
  const notices = secretNames.length > 0 ? [spec.secretHint(secretNames)] : [];
  return { client: spec.id, name, value, inputs, omittedSecrets, notices };
}
