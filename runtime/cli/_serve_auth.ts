/**
 * How `mcp-run serve` authenticates: the choice among `--auth oauth|token|none` and `--public`
 * (checked from the flags alone), where the OAuth state lives (the state root), and the OAuth
 * authorizer itself, loaded only when `--auth oauth` is used.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { onUse } from "../_on_use.ts";
import { authEndpoints } from "../auth/metadata.ts";
import type { RequestAuthorizer } from "../http/_authorizer.ts";
import { UsageError } from "./context.ts";

/** How serve authenticates: OAuth, bearer tokens, nobody (loopback), or nobody on purpose. */
export type ServeAuthMode = "oauth" | "token" | "none" | "public";

/** The serve flags that choose the authentication, as parsed. */
export interface ServeAuthFlags {
  /** `--auth oauth|token|none`. */
  auth?: string;
  /** `--public-url URL`. */
  "public-url"?: string;
  /** `--token-file F`. */
  "token-file"?: string;
  /** `--public`. */
  public?: boolean;
}

/** The authentication serve uses, checked. */
export interface ServeAuthChoice {
  /** The mode. */
  mode: ServeAuthMode;
  /** For `oauth`: the URL clients reach the MCP endpoint at (the tokens' audience). */
  publicUrl?: string;
  /** For `token`: the token file. */
  tokenFile?: string;
}

/**
 * Chooses serve's authentication from its flags: `--auth` when given, else `public` with
 * `--public`, `token` with `--token-file`, and none otherwise (loopback only, which the bind
 * check enforces). Pure.
 *
 * @param flags The flags as parsed.
 * @param path The MCP endpoint path the public URL must end with. Default `/mcp`.
 * @returns The mode and what it needs.
 * @throws {UsageError} When flags contradict each other or one is missing or malformed.
 * @example
 * ```ts
 * import { serveAuthChoice } from "./_serve_auth.ts";
 * const choice = serveAuthChoice({ auth: "oauth", "public-url": "https://mcp.example.com/mcp" });
 * console.log(choice.mode); // oauth
 * ```
 */
export function serveAuthChoice(flags: ServeAuthFlags, path = "/mcp"): ServeAuthChoice {
  const { auth, public: open } = flags;
  const tokenFile = flags["token-file"];
  const publicUrl = flags["public-url"];
  if (open && (auth !== undefined || tokenFile !== undefined)) {
    throw new UsageError(
      "--public serves without authentication: it cannot be combined with --auth or " +
        "--token-file; drop --public to require sign-in",
    );
  }
  if (auth !== undefined && auth !== "oauth" && auth !== "token" && auth !== "none") {
    throw new UsageError(`--auth must be oauth, token or none, got "${auth}"`);
  }
  const mode: ServeAuthMode = auth ?? (open ? "public" : tokenFile ? "token" : "none");
  if (mode === "token" && tokenFile === undefined) {
    throw new UsageError(
      "--auth token needs --token-file F; make one with (umask 077; openssl rand -hex 32 > F)",
    );
  }
  if (mode !== "token" && tokenFile !== undefined) {
    throw new UsageError(`--token-file is for --auth token, not --auth ${mode}`);
  }
  if (mode !== "oauth") {
    if (publicUrl !== undefined) {
      throw new UsageError("--public-url is for --auth oauth: add --auth oauth, or drop it");
    }
    return tokenFile === undefined ? { mode } : { mode, tokenFile };
  }
  if (publicUrl === undefined) {
    throw new UsageError(
      "--auth oauth needs --public-url URL: the address clients reach the MCP endpoint at, " +
        `such as https://mcp.example.com${path} (behind a tunnel or proxy, its public address)`,
    );
  }
  try {
    authEndpoints(publicUrl);
  } catch (error) {
    throw new UsageError(`--public-url: ${(error as Error).message}`, { cause: error });
  }
  if (!new URL(publicUrl).pathname.endsWith(path)) {
    throw new UsageError(
      `--public-url must end with the MCP path ${path}, got "${publicUrl}": clients use it ` +
        "as the endpoint and tokens are bound to it",
    );
  }
  return { mode, publicUrl };
}

/**
 * The tool allowlist that makes `--public` acceptable: the manifest's `tools.allow` and
 * `--tools`, each a list of names or globs. A lone `*` allows every tool, so it does not count.
 * Pure.
 *
 * @param manifestAllow The manifest's `tools.allow`, if any.
 * @param toolsFlag The `--tools` values, if any (comma-separated lists).
 * @returns The patterns in force (possibly from both).
 * @throws {UsageError} When neither gives a real allowlist.
 * @example
 * ```ts
 * import { publicToolAllowlist } from "./_serve_auth.ts";
 * console.log(publicToolAllowlist(undefined, ["search,read_doc"])); // ["search", "read_doc"]
 * ```
 */
export function publicToolAllowlist(
  manifestAllow: readonly string[] | undefined,
  toolsFlag: readonly string[] | undefined,
): string[] {
  const split = (lists: readonly string[]) =>
    lists.flatMap((list) => list.split(",")).map((p) => p.trim()).filter((p) => p !== "");
  const patterns = [...split(manifestAllow ?? []), ...split(toolsFlag ?? [])];
  if (patterns.length === 0 || patterns.some((pattern) => /^\*+$/.test(pattern))) {
    throw new UsageError(
      "--public needs a tool allowlist, so that strangers reach only tools chosen as safe: " +
        'give --tools NAME,NAME (or set "tools": {"allow": [...]} in the manifest); "*" does ' +
        "not count",
    );
  }
  return patterns;
}

/**
 * The state root: `--state-dir`, else `$XDG_STATE_HOME/mcp-run`, else
 * `$HOME/.local/state/mcp-run`. Pure.
 *
 * @param env The environment.
 * @param given The `--state-dir` value, if any.
 * @returns The absolute folder.
 * @throws {UsageError} When neither the option nor `HOME` says where.
 * @example
 * ```ts
 * import { stateRoot } from "./_serve_auth.ts";
 * console.log(stateRoot({ HOME: "/home/ada" })); // /home/ada/.local/state/mcp-run
 * ```
 */
export function stateRoot(env: Record<string, string>, given?: string): string {
  if (given !== undefined) {
    if (given.trim() === "") throw new UsageError("--state-dir must name a folder");
    return resolve(given);
  }
  if (env.XDG_STATE_HOME?.startsWith("/")) return join(env.XDG_STATE_HOME, "mcp-run");
  if (env.HOME?.startsWith("/")) return join(env.HOME, ".local", "state", "mcp-run");
  throw new UsageError("Cannot find the state folder: HOME is not set; pass --state-dir DIR");
}

/** Where the OAuth state of one served server lives. */
export interface ServeStatePaths {
  /** The owner's passphrase (one for every server). */
  passphrase: string;
  /** The owner's TOTP secret; when present, sign-in asks for a code too. */
  totp: string;
  /** The last TOTP step used, shared by every server so a code is spent once for all. */
  totpStep: string;
  /** This server's folder (0700): tokens.json, clients.json. */
  serverDir: string;
  /** This server's token store. */
  tokens: string;
}

/**
 * The files of the state root that one server's OAuth uses. Pure.
 *
 * @param root The state root ({@linkcode stateRoot}).
 * @param server The server's name.
 * @returns The paths.
 * @throws {UsageError} When the name cannot be a folder name.
 * @example
 * ```ts
 * import { serveStatePaths } from "./_serve_auth.ts";
 * console.log(serveStatePaths("/var/lib/mcp-run", "docs").tokens);
 * // /var/lib/mcp-run/serve/docs/tokens.json
 * ```
 */
export function serveStatePaths(root: string, server: string): ServeStatePaths {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(server) || server.includes("..")) {
    throw new UsageError(
      `Cannot keep sign-ins for a server named "${server}": use a name of letters, digits, ` +
        "dots, dashes and underscores",
    );
  }
  const serverDir = join(root, "serve", server);
  return {
    passphrase: join(root, "passphrase"),
    totp: join(root, "totp"),
    totpStep: join(root, "totp-step"),
    serverDir,
    tokens: join(serverDir, "tokens.json"),
  };
}

/** An authorizer that holds files or timers until closed. */
export type ClosableAuthorizer = RequestAuthorizer & { close(): Promise<void> };

/** Options for {@linkcode openServeAuthorizer}. */
export interface OpenServeAuthorizerOptions {
  /** Told of failures no client sees (an unreadable state file). */
  onError?: (error: Error) => void;
}

/**
 * Opens the OAuth authorizer of one server: creates its state folder (0700), finds the owner's
 * TOTP file if there is one, and loads the authorization server (on use: the other modes do
 * without it).
 *
 * Requires `--allow-read` and `--allow-write` on the state root.
 *
 * @param root The state root.
 * @param serverName The server's name.
 * @param publicUrl The MCP endpoint's public URL (checked by {@linkcode serveAuthChoice}).
 * @param options Where unexpected failures are told.
 * @returns The authorizer; close it when serving ends.
 * @throws {SyntaxError} If the passphrase or TOTP file, or a state file, is malformed.
 * @example
 * ```ts ignore
 * const authorizer = await openServeAuthorizer(root, "docs", "https://mcp.example.com/mcp");
 * ```
 */
export async function openServeAuthorizer(
  root: string,
  serverName: string,
  publicUrl: string,
  options: OpenServeAuthorizerOptions = {},
): Promise<ClosableAuthorizer> {
  const paths = serveStatePaths(root, serverName);
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  await Deno.mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(paths.serverDir, 0o700);
  let totpFile: string | undefined;
  try {
    if ((await Deno.stat(paths.totp)).isFile) totpFile = paths.totp;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const { openOAuthAuthorizer } =
    await (import(onUse("../auth/authorization_server.ts", import.meta.url)) as Promise<
      typeof import("../auth/authorization_server.ts")
    >);
  return await openOAuthAuthorizer({
    publicUrl,
    stateDir: paths.serverDir,
    passphraseFile: paths.passphrase,
    serverName,
    onError: options.onError,
    ...(totpFile === undefined ? {} : { totpFile, totpStateFile: paths.totpStep }),
  });
}
