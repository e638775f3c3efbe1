/**
 * Shared types of the client-config layer: which MCP clients exist, where their files live,
 * the entry mcp-run writes into them, and the `LaunchCommand` that entry is made from: the command
 * a client spawns, independent of any client (built by `directCommand()` or `launcherCommand()`,
 * shaped for one client by `clientEntry()`).
 *
 * @module
 */

/** Identifier of an MCP client whose configuration mcp-run can edit. */
export type ClientId =
  | "claude-desktop"
  | "vscode"
  | "cursor"
  | "claude-code"
  | "windsurf"
  | "zed"
  | "goose"
  | "continue";

/** Which configuration file of a client: the user's own, or the project's (in the cwd). */
export type ConfigScope = "user" | "project";

/** Operating system a configuration path is computed for. */
export type TargetOs = "linux" | "darwin" | "windows";

/**
 * The facts a configuration path depends on. Paths are pure functions of this record, so
 * the paths of every OS can be computed (and tested) on any OS.
 */
export interface ClientEnvironment {
  /** Operating system the client runs on. */
  os: TargetOs;
  /** The user's home folder (`$HOME`, `%USERPROFILE%` on Windows). */
  home: string;
  /** Windows `%APPDATA%` (Roaming); defaults to `<home>\AppData\Roaming`. */
  appData?: string;
  /** Linux `$XDG_CONFIG_HOME`; defaults to `<home>/.config`. */
  configHome?: string;
  /** The project folder that project-scope files live in. */
  cwd: string;
}

/** A VS Code `inputs` item: the user is prompted once and the value kept in VS Code's secret store. */
export interface PromptInput {
  /** Always `"promptString"`. */
  type: "promptString";
  /** Referenced as `${input:<id>}`. */
  id: string;
  /** Prompt text. */
  description: string;
  /** Masks typing and keeps the value out of settings. */
  password: true;
}

/** How a client lets a configuration refer to a secret without containing it. */
export type SecretMechanism =
  /** VS Code: `inputs` prompted once, referenced as `${input:id}`. */
  | "input"
  /** The value is taken from the client's environment via a template string. */
  | "template"
  /** goose: `env_keys` names resolved from its keyring or environment. */
  | "env-keys"
  /** No mechanism: the value can only be written in plain text, so it is not written. */
  | "none";

/** Static description of one client: its file format, locations, and entry shape. */
export interface ClientSpec {
  /** Identifier used on the command line (`--client`). */
  id: ClientId;
  /** Human name for messages. */
  displayName: string;
  /** File syntax: JSON with comments, or YAML. */
  format: "jsonc" | "yaml";
  /** Scopes the client reads, the first being the default. */
  scopes: readonly ConfigScope[];
  /**
   * Where entries live: `"map"` — an object under {@link ClientSpec.containerKey} keyed by
   * entry name; `"file-list"` — one file per entry holding a list under the key (Continue).
   */
  layout: "map" | "file-list";
  /** Top-level key holding the entries (`mcpServers`, `servers`, `context_servers`, …). */
  containerKey: string;
  /** Key of the environment map inside an entry (`env`, or goose's `envs`). */
  envKey: "env" | "envs";
  /** The client's secret mechanism. */
  secrets: SecretMechanism;
  /**
   * Whether the client expands `${…}` inside values, so a literal `${` cannot be written
   * safely.
   */
  expands: boolean;
  /**
   * Path of the configuration file.
   * @param scope User or project file.
   * @param env Facts the path depends on.
   * @param name Entry name (used by clients with one file per entry).
   */
  configPath(scope: ConfigScope, env: ClientEnvironment, name: string): string;
  /** Folder whose existence shows the client is set up for the scope. */
  presenceDir(scope: ConfigScope, env: ClientEnvironment): string;
  /**
   * Template referencing secret `name` in an env value (for `"template"` and `"input"`).
   * @param name Secret (environment variable) name.
   * @param entryName The entry the secret belongs to.
   */
  secretReference?(name: string, entryName: string): string;
  /**
   * Build the entry object the client stores.
   * @param name Entry name.
   * @param parts Command, arguments and the final environment map (secrets already
   *   referenced), plus the secret names for clients that list them separately.
   */
  buildEntry(name: string, parts: EntryParts): Record<string, unknown>;
  /** One sentence telling the user how to provide the named secrets to this client. */
  secretHint(names: string[]): string;
}

/** What {@link ClientSpec.buildEntry} assembles an entry from. */
export interface EntryParts {
  /** Executable. */
  command: string;
  /** Arguments. */
  args: string[];
  /** Environment, including the mcp-run marker and secret references. */
  env: Record<string, string>;
  /** Secret names the client resolves itself (goose `env_keys`). */
  secretNames: string[];
  /** Optional description (goose shows it). */
  description: string;
}

/** A credential the client supplies by name; its value is never part of an entry. */
export interface EntrySecret {
  /** Environment variable name. */
  name: string;
  /** What it is, for the user (empty when unknown). */
  description: string;
}

/** The command a client spawns, independent of any client's file format. */
export interface LaunchCommand {
  /** The program: the absolute Deno path, or `docker`. */
  command: string;
  /** Its arguments, verbatim. */
  args: string[];
  /** Plain (non-secret) environment values the entry sets. */
  env: Record<string, string>;
  /** Secrets (and other declared variables without a value) the client must provide by name. */
  secrets: EntrySecret[];
}
