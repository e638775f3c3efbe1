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
import { toolMatches } from "../guard/tool_filter.ts";
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
 * The start-up warning of a public URL served through a proxy or tunnel without
 * `--trust-proxy`: every client then seems to come from the proxy, so sign-in lockout and the
 * per-client limits see one client, and a stranger's wrong passphrases lock the owner out. The
 * public URL is taken as proxied when it is https or its host is not the bound address. Pure.
 *
 * @param choice The authentication chosen.
 * @param hostname The bound address.
 * @param trustProxy The `--trust-proxy` values.
 * @returns The warning, or `undefined` when there is nothing to warn of.
 * @example
 * ```ts
 * import { proxyWarning } from "./_serve_auth.ts";
 * const choice = { mode: "oauth" as const, publicUrl: "https://mcp.example.com/mcp" };
 * console.log(proxyWarning(choice, "127.0.0.1", [])); // warning: ... --trust-proxy 127.0.0.1
 * ```
 */
export function proxyWarning(
  choice: ServeAuthChoice,
  hostname: string,
  trustProxy: readonly string[],
): string | undefined {
  if (choice.publicUrl === undefined || trustProxy.length > 0) return undefined;
  const url = new URL(choice.publicUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (url.protocol !== "https:" && host === hostname.replace(/^\[|\]$/g, "")) return undefined;
  return `warning: ${choice.publicUrl} is reached through a proxy or tunnel, yet no ` +
    "--trust-proxy is given: every client seems to come from the proxy, so sign-in lockout and " +
    "per-client limits see one client (a stranger's wrong passphrases lock the owner out); " +
    "pass --trust-proxy with the proxy's address, such as --trust-proxy 127.0.0.1";
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
 * The start-up warning of a `--public` allowlist that its exclusions cancel: every pattern it
 * allows is also excluded (by `--exclude-tools` or the manifest's `tools.deny`), so clients see
 * no tool at all. A glob allowed counts as cancelled only when excluded as written, or by `*`.
 * Pure.
 *
 * @param allowed The allowlist ({@linkcode publicToolAllowlist}).
 * @param excluded The exclusions: the manifest's `tools.deny` and the `--exclude-tools` values
 *   (comma-separated lists).
 * @returns The warning, or `undefined` when some allowed tool may get through.
 * @example
 * ```ts
 * import { cancelledAllowlistWarning } from "./_serve_auth.ts";
 * console.log(cancelledAllowlistWarning(["search"], ["search,write"])); // warning: ...
 * console.log(cancelledAllowlistWarning(["search", "read"], ["search"])); // undefined
 * ```
 */
export function cancelledAllowlistWarning(
  allowed: readonly string[],
  excluded: readonly string[],
): string | undefined {
  const denied = excluded.flatMap((list) => list.split(",")).map((p) => p.trim())
    .filter((p) => p !== "");
  const cancelled = (pattern: string) =>
    denied.some((deny) =>
      deny === pattern || /^\*+$/.test(deny) ||
      (!pattern.includes("*") && toolMatches(pattern, deny))
    );
  if (allowed.length === 0 || !allowed.every(cancelled)) return undefined;
  return `warning: every tool allowed (${allowed.join(", ")}) is also excluded ` +
    "(--exclude-tools or the manifest's tools.deny), so clients see no tool; drop the exclusion " +
    "or allow other tools with --tools";
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
  /** This server's registered clients. */
  clients: string;
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
    clients: join(serverDir, "clients.json"),
  };
}

/** A state folder or file others could read or replace: serving or signing in would be unsafe. */
export class UnsafeStateError extends Error {
  /**
   * @param message What is unsafe, and the command that fixes it.
   */
  constructor(message: string) {
    super(message);
    this.name = "UnsafeStateError";
  }
}

/**
 * Checks that the state root, and a server's folder in it, are private to this user: each
 * folder that exists is a folder owned by the user (or root) and not writable by group or others
 * (who could replace the files in it); each file (passphrase, TOTP secret and step, tokens.json,
 * clients.json) is owned by the user (or root) and neither readable nor writable by group or
 * others. The group may have access when it is the user's own private group (its gid is the
 * user's uid, as with user private groups and the pod group `mcp-run deploy --target kubernetes`
 * sets, whose volumes are made group-writable). What does not exist yet is fine: it is created
 * private. Skipped where modes do not exist (Windows).
 *
 * Requires `--allow-read` on the state root.
 *
 * @param root The state root ({@linkcode stateRoot}).
 * @param server The server whose folder is checked too, if any.
 * @returns Once checked.
 * @throws {UnsafeStateError} With the exact `chmod` (or `chown`) that fixes the first problem,
 *   or, when a folder is a file, the `--state-dir` to pass instead.
 * @example
 * ```ts ignore
 * await checkStatePrivacy("/home/ada/.local/state/mcp-run", "docs");
 * ```
 */
export async function checkStatePrivacy(root: string, server?: string): Promise<void> {
  const folders = [root];
  const files = [join(root, "passphrase"), join(root, "totp"), join(root, "totp-step")];
  if (server !== undefined) {
    const paths = serveStatePaths(root, server);
    folders.push(join(root, "serve"), paths.serverDir);
    files.push(paths.tokens, paths.clients);
  }
  const uid = Deno.uid();
  const gid = Deno.gid();
  // The user's own private group: no one else is in it.
  const ownGroup = (info: Deno.FileInfo) => uid !== null && info.gid === gid && gid === uid;
  const owned = (path: string, info: Deno.FileInfo) => {
    if (uid === null || info.uid === null || info.uid === uid || info.uid === 0) return;
    throw new UnsafeStateError(
      `Cannot use "${path}": it belongs to another user (uid ${info.uid}), who could change ` +
        `the sign-in state; run \`chown ${uid} ${path}\` as root, or pass --state-dir DIR`,
    );
  };
  for (const folder of folders) {
    const info = await statOrNull(folder);
    if (info === null) continue;
    if (!info.isDirectory) {
      throw new UnsafeStateError(
        `Cannot use the state folder "${folder}": it is a file, not a folder; pass ` +
          "--state-dir DIR naming a folder (created if missing)",
      );
    }
    owned(folder, info);
    if (info.mode !== null && (info.mode & (ownGroup(info) ? 0o002 : 0o022)) !== 0) {
      throw new UnsafeStateError(
        `Cannot use the state folder "${folder}": it is writable by other users, who could ` +
          `replace the sign-in files; run \`chmod 700 ${folder}\``,
      );
    }
  }
  for (const file of files) {
    const info = await statOrNull(file);
    if (info === null) continue;
    if (!info.isFile) {
      throw new UnsafeStateError(
        `Cannot use "${file}": it is not a file; remove it, or pass --state-dir DIR`,
      );
    }
    owned(file, info);
    if (info.mode !== null && (info.mode & (ownGroup(info) ? 0o007 : 0o077)) !== 0) {
      throw new UnsafeStateError(
        `Cannot use "${file}": it is readable or writable by other users; run ` +
          `\`chmod 600 ${file}\``,
      );
    }
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
}

/** An authorizer that holds files or timers until closed. */
export type ClosableAuthorizer = RequestAuthorizer & { close(): Promise<void> };

/** Options for {@linkcode openServeAuthorizer}. */
export interface OpenServeAuthorizerOptions {
  /** Told of failures no client sees (an unreadable state file). */
  onError?: (error: Error) => void;
}

/**
 * Opens the OAuth authorizer of one server: checks the state is private to this user, creates
 * the server's folder (0700), reads the owner's TOTP file at each sign-in when there is one, and loads the authorization server (on use: the other modes do
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
 * @throws {UnsafeStateError} If a state folder or file is open to other users.
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
  await checkStatePrivacy(root, serverName);
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  await Deno.mkdir(paths.serverDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(paths.serverDir, 0o700);
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
    // Read at each sign-in: a TOTP secret added or removed while serving applies at once.
    totpFile: paths.totp,
    totpStateFile: paths.totpStep,
  });
}
