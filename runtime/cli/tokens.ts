/**
 * The `tokens` command: the OAuth sign-ins of servers served with `serve --auth oauth`, listed
 * from each server's token store (`<state root>/serve/<server>/tokens.json`) and revoked there.
 * A running serve reads the store at each request, so a revocation applies at once. Token values
 * are never shown: the store holds only their hashes.
 *
 * @module
 */
import { join } from "node:path";
import { ClientStore } from "../auth/client_store.ts";
import { JsonFileTokenStore } from "../auth/token_file_store.ts";
import { type GrantSummary, TokenService } from "../auth/tokens.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { checkStatePrivacy, serveStatePaths, stateRoot, UnsafeStateError } from "./_serve_auth.ts";

/** The `tokens` command's flags, as parsed. */
export interface TokensFlags {
  /** `--state-dir DIR`. */
  "state-dir"?: string;
  /** `--all`: revoke every sign-in of the server. */
  all?: boolean;
}

/** One sign-in of one server, as listed. */
export interface SignInRow extends GrantSummary {
  /** The server it signed in to. */
  server: string;
  /**
   * The client's name: as it registered itself (unverified), or the host of its metadata
   * document URL; empty when unknown.
   */
  clientName: string;
}

/** Fewest characters of an ID that `revoke` accepts as its start. */
const MIN_PREFIX = 4;

/**
 * `mcp-run tokens list [<server>]` and `mcp-run tokens revoke <server> <ID>|--all`.
 *
 * Requires `--allow-read` (and for revoke `--allow-write`) on the state root.
 *
 * @param ctx CLI context.
 * @param line `list` or `revoke` and their arguments.
 * @param flags `--state-dir` and `--all`.
 * @returns The exit code: 0 done, 1 no such sign-in, 2 no such server (the servers with
 *   sign-ins are named) or a state folder or file open to other users.
 * @throws {UsageError} For a bad command line.
 * @example
 * ```ts ignore
 * await tokensCommand(ctx, { rest: ["list"], serverArgs: [] }, {});
 * ```
 */
export async function tokensCommand(
  ctx: CliContext,
  line: CommandLine,
  flags: TokensFlags,
): Promise<number> {
  const [action, ...rest] = line.rest;
  if (action !== "list" && action !== "revoke") {
    throw new UsageError(
      action === undefined
        ? "give list or revoke"
        : `unknown action "${action}": give list or revoke`,
    );
  }
  if (action === "list") expectArgs(rest, 0, 1, "list takes at most one server name");
  else expectArgs(rest, flags.all ? 1 : 2, flags.all ? 1 : 2, "give a server and an ID, or --all");
  if (action === "list" && flags.all) throw new UsageError("--all is for revoke");
  const root = stateRoot(ctx.env, flags["state-dir"]);
  let served: string[];
  try {
    await checkStatePrivacy(root);
    served = await servedServers(root);
    for (const server of rest.length > 0 ? rest.slice(0, 1) : served) {
      await checkStatePrivacy(root, server);
    }
  } catch (error) {
    if (!(error instanceof UnsafeStateError)) throw error;
    ctx.printError(`mcp-run tokens: ${error.message}`);
    return EXIT.usage;
  }
  if (rest.length > 0 && !served.includes(rest[0])) {
    serveStatePaths(root, rest[0]); // a name that cannot be a folder is told as such
    const known = served.length === 0
      ? `no server has sign-ins in ${root} yet`
      : `servers with sign-ins: ${served.join(", ")}`;
    ctx.printError(`mcp-run tokens: no sign-ins for "${rest[0]}" in ${root}; ${known}`);
    return EXIT.usage;
  }
  if (action === "list") {
    const rows: SignInRow[] = [];
    for (const server of rest.length === 1 ? rest : served) {
      const names = clientNames(root, server);
      for (const grant of await service(root, server).grants()) {
        rows.push({ server, ...grant, clientName: await names(grant.clientId) });
      }
    }
    if (ctx.json) ctx.print(JSON.stringify(rows.map(jsonRow), null, 2));
    else if (rows.length === 0) ctx.printError(`mcp-run tokens: no sign-ins in ${root}`);
    else ctx.print(formatSignIns(rows));
    return EXIT.ok;
  }
  const [server, id] = rest;
  const tokens = service(root, server);
  const grants = await tokens.grants();
  const chosen = flags.all ? grants : [findSignIn(grants, server, id)];
  if (typeof chosen[0] === "string") {
    ctx.printError(`mcp-run tokens: ${chosen[0]}`);
    return EXIT.error;
  }
  for (const grant of chosen as GrantSummary[]) await tokens.revokeFamily(grant.family);
  const what = chosen.length === 1 ? "1 sign-in" : `${chosen.length} sign-ins`;
  ctx.printError(
    `mcp-run tokens: revoked ${what} of ${server}; ` +
      (chosen.length === 0 ? "there was none" : "their clients must sign in again"),
  );
  return EXIT.ok;
}

/** One sign-in as `--format json` lists it: its ID under `id`, as the table's ID column. */
function jsonRow({ server, family, ...row }: SignInRow): Record<string, unknown> {
  return { server, id: family, ...row };
}

/** The token service of one server's store. */
function service(root: string, server: string): TokenService {
  return new TokenService(new JsonFileTokenStore(serveStatePaths(root, server).tokens));
}

/** The name of each client of one server, from its clients.json (nothing is fetched). */
function clientNames(root: string, server: string): (clientId: string) => Promise<string> {
  const clients = new ClientStore(join(serveStatePaths(root, server).serverDir, "clients.json"), {
    fetchDocument: () => Promise.reject(new Error("not fetched when listing")),
  });
  return async (clientId) => {
    if (clientId.startsWith("https:")) return URL.canParse(clientId) ? new URL(clientId).host : "";
    try {
      return (await clients.find(clientId))?.metadata.client_name ?? "";
    } catch {
      return ""; // an unreadable clients.json hides names, not sign-ins
    }
  };
}

/** The servers with a state folder under `<root>/serve`, sorted. */
async function servedServers(root: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(root, "serve"))) {
      if (entry.isDirectory) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    if (error instanceof Deno.errors.NotADirectory) {
      throw new UnsafeStateError(
        `Cannot use the state folder "${root}": it is a file, not a folder; pass --state-dir DIR ` +
          "naming the folder serve keeps its sign-ins in",
      );
    }
    throw error;
  }
  return names.sort();
}

/**
 * Finds the sign-in an ID names: exactly, or as the unique start of one (at least
 * {@linkcode MIN_PREFIX} characters). Pure.
 *
 * @param grants The server's sign-ins.
 * @param server The server, for messages.
 * @param id The ID typed.
 * @returns The sign-in, or what is wrong.
 */
function findSignIn(grants: GrantSummary[], server: string, id: string): GrantSummary | string {
  const exact = grants.find((grant) => grant.family === id);
  if (exact !== undefined) return exact;
  const matches = id.length >= MIN_PREFIX
    ? grants.filter((grant) => grant.family.startsWith(id))
    : [];
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    return `"${id}" starts ${matches.length} sign-ins of ${server}; give more of the ID`;
  }
  return `no sign-in "${id}" for ${server}; see mcp-run tokens list ${server}`;
}

/**
 * The sign-ins as an aligned table: server, ID, client and its name, when the owner signed in
 * and the client last refreshed, and when the access token and the sign-in (its refresh token)
 * expire. Pure.
 *
 * @param rows The sign-ins.
 * @returns The table, with a header line.
 * @example
 * ```ts
 * import { formatSignIns } from "./tokens.ts";
 * console.log(formatSignIns([{
 *   server: "docs", family: "f1", clientId: "c1", clientName: "Claude",
 *   resource: "https://x.example/mcp", scope: "mcp", accessExpiresAt: 0,
 *   refreshExpiresAt: Date.UTC(2030, 0, 1), signedInAt: Date.UTC(2029, 11, 1), refreshedAt: 0,
 * }]));
 * ```
 */
export function formatSignIns(rows: readonly SignInRow[]): string {
  const time = (ms: number) => ms === 0 ? "-" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
  // A client chose its own ID (a metadata document URL): no terminal control characters.
  // deno-lint-ignore no-control-regex
  const plain = (text: string) => text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
  const table = [
    [
      "SERVER",
      "ID",
      "CLIENT",
      "NAME",
      "SIGNED IN",
      "REFRESHED",
      "ACCESS EXPIRES",
      "SIGN-IN EXPIRES",
    ],
    ...rows.map((row) => [
      row.server,
      row.family,
      plain(row.clientId),
      plain(row.clientName) || "-",
      time(row.signedInAt),
      time(row.refreshedAt),
      time(row.accessExpiresAt),
      time(row.refreshExpiresAt),
    ]),
  ];
  const widths = table[0].map((_, column) => Math.max(...table.map((r) => r[column].length)));
  return table.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
}
