/**
 * The `serve` command of the CLI: its options, validated, and the bridge it starts. Loaded only
 * for `serve`, so the other commands start without the HTTP bridge and its SDK transport.
 *
 * @module
 */
import { join } from "node:path";
import { compileTrustedProxies, tooWideProxyRange } from "../http/_client_address.ts";
import type { RequestAuthorizer } from "../http/_authorizer.ts";
import { BearerTokenAuthorizer, readTokenFile } from "../http/bearer_token.ts";
import { checkBindAddress } from "../http/serve.ts";
import { compileHostCheck, compileOriginCheck } from "../http/_host_origin.ts";
import { readPassphraseFile } from "../auth/passphrase.ts";
import { checkWarm, serveServer, type ServeServerOptions } from "../http/serve_server.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { formatPlan, resolveFor } from "./launch.ts";
import { launchDenialLog, openAudit, storeDenials } from "./denials.ts";
import { type GuardFlags, guardSetup } from "./guard_flags.ts";
import { openAuditFlags } from "./_audit_flags.ts";
import {
  cancelledAllowlistWarning,
  checkStatePrivacy,
  type ClosableAuthorizer,
  openServeAuthorizer,
  proxyWarning,
  publicToolAllowlist,
  type ServeAuthChoice,
  serveAuthChoice,
  type ServeAuthFlags,
  serveStatePaths,
  stateRoot,
  UnsafeStateError,
} from "./_serve_auth.ts";
import { setPassphraseCommand } from "./_set_passphrase.ts";

/** The bridge options the serve flags set; the address is always known. */
type ServeFlagOptions =
  & Required<Pick<ServeServerOptions, "hostname" | "port">>
  & Pick<
    ServeServerOptions,
    | "allowedHosts"
    | "allowedOrigins"
    | "sessionMode"
    | "maxSessions"
    | "maxSessionsPerClient"
    | "ratePerSecond"
    | "rateBurst"
    | "maxConcurrentPerClient"
    | "idleTimeoutMs"
    | "requestTimeoutMs"
    | "jsonResponse"
    | "trustProxy"
    | "maxConnections"
    | "maxConnectionsPerClient"
    | "warm"
  >;

/** The `serve` command's own options, validated: the bridge's, and its authentication. */
interface ServeCommandOptions {
  bridge: ServeFlagOptions;
  auth: ServeAuthChoice;
}

/**
 * Default limits of `--public`, stricter than for signed-in clients; a flag given explicitly
 * still decides.
 */
const PUBLIC_LIMITS = {
  maxSessions: 16,
  maxSessionsPerClient: 2,
  ratePerSecond: 10,
  requestTimeoutMs: 30_000,
} as const;

/** The `serve` command's flags, as parsed. */
export type ServeFlags =
  & Partial<
    Record<
      | "host"
      | "port"
      | "token-file"
      | "session-mode"
      | "max-sessions"
      | "max-sessions-per-client"
      | "rate-limit"
      | "max-concurrent"
      | "idle-timeout"
      | "request-timeout"
      | "max-connections"
      | "max-connections-per-client"
      | "warm"
      | "state-dir",
      string
    >
  >
  & {
    "allowed-host"?: string[];
    "allowed-origin"?: string[];
    "json-response"?: boolean;
    "trust-proxy"?: string[];
    "set-passphrase"?: boolean;
  }
  & ServeAuthFlags
  & GuardFlags;

/** The public URL's host and origin: the bridge accepts them as Host and Origin. */
function publicAddress(publicUrl: string | undefined): { hosts: string[]; origins: string[] } {
  if (publicUrl === undefined) return { hosts: [], origins: [] };
  const url = new URL(publicUrl);
  return { hosts: [url.host], origins: [url.origin] };
}

function serveOptions(values: ServeFlags): ServeCommandOptions | string {
  let auth: ServeAuthChoice;
  try {
    auth = serveAuthChoice(values);
  } catch (error) {
    return (error as Error).message;
  }
  const port = Number(values.port ?? "8808");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return `--port must be a port number, got "${values.port}"`;
  }
  const sessionMode = values["session-mode"] ?? "isolated";
  if (sessionMode !== "isolated" && sessionMode !== "shared") {
    return `--session-mode must be isolated or shared, got "${sessionMode}"`;
  }
  const numbers: Record<string, number | undefined> = {};
  const positive = [
    "max-sessions",
    "max-sessions-per-client",
    "max-concurrent",
    "idle-timeout",
    "request-timeout",
    "rate-limit",
    "max-connections",
    "max-connections-per-client",
    "warm",
  ] as const;
  for (const flag of positive) {
    const text = values[flag];
    if (text === undefined) continue;
    const value = Number(text);
    const zeroAllowed = flag === "rate-limit" || flag === "warm";
    if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
      return `--${flag} must be a positive number, got "${text}"`;
    }
    numbers[flag] = value;
  }
  const rate = numbers["rate-limit"];
  const open = auth.mode === "public";
  const maxSessions = numbers["max-sessions"] ?? (open ? PUBLIC_LIMITS.maxSessions : 64);
  try {
    checkWarm({ warm: numbers.warm, maxSessions, sessionMode });
  } catch (error) {
    return `--warm ${values.warm}: ${(error as Error).message}`;
  }
  const trustProxy = values["trust-proxy"] ?? [];
  try {
    compileTrustedProxies(trustProxy);
  } catch (error) {
    return `--trust-proxy ${(error as Error).message.replace(/^Cannot trust proxy /, "")}`;
  }
  const wide = tooWideProxyRange(trustProxy);
  if (wide !== undefined) {
    return `--trust-proxy ${wide} is too wide: any client in it could name itself in ` +
      "X-Forwarded-For, escape its limits and lock the owner out of sign-in; give your proxy's " +
      "own address (such as 127.0.0.1), or a range no wider than /8 (IPv4) or /32 (IPv6)";
  }
  try {
    // Checked now, so that --dry-run refuses them too.
    compileHostCheck(values["allowed-host"] ?? []);
    compileOriginCheck(values["allowed-origin"] ?? []);
  } catch (error) {
    const message = (error as Error).message;
    const flag = message.startsWith("Cannot allow host") ? "--allowed-host" : "--allowed-origin";
    return `${flag}: ${message}`;
  }
  const ratePerSecond = rate === 0
    ? Infinity
    : rate ?? (open ? PUBLIC_LIMITS.ratePerSecond : undefined);
  const requestTimeout = numbers["request-timeout"];
  const own = publicAddress(auth.publicUrl);
  return {
    auth,
    bridge: {
      hostname: values.host ?? "127.0.0.1",
      port,
      allowedHosts: [...own.hosts, ...values["allowed-host"] ?? []],
      allowedOrigins: [...own.origins, ...values["allowed-origin"] ?? []],
      sessionMode,
      maxSessions: numbers["max-sessions"] ?? (open ? PUBLIC_LIMITS.maxSessions : undefined),
      maxSessionsPerClient: numbers["max-sessions-per-client"] ??
        (open ? PUBLIC_LIMITS.maxSessionsPerClient : undefined),
      ratePerSecond,
      rateBurst: ratePerSecond && ratePerSecond * 2,
      maxConcurrentPerClient: numbers["max-concurrent"],
      idleTimeoutMs: numbers["idle-timeout"] && numbers["idle-timeout"] * 1000,
      requestTimeoutMs: requestTimeout === undefined
        ? (open ? PUBLIC_LIMITS.requestTimeoutMs : undefined)
        : requestTimeout * 1000,
      jsonResponse: values["json-response"] ?? false,
      trustProxy,
      maxConnections: numbers["max-connections"],
      maxConnectionsPerClient: numbers["max-connections-per-client"],
      warm: numbers.warm,
    },
  };
}

/** The authorizer of the mode chosen, opened; what the start-up line says of it. */
interface ServeAuthorizer {
  authorizer?: RequestAuthorizer;
  close?: () => Promise<void>;
  /** The start-up line's words about authentication. */
  description: string;
}

/**
 * Checks, before the server is resolved, the files the chosen mode needs: reads the token file,
 * or makes sure the owner has set a passphrase (else the exact command to set one). Answers an
 * exit code instead when a file is missing or bad; OAuth is opened later, for the server.
 */
async function checkAuthFiles(
  ctx: CliContext,
  auth: ServeAuthChoice,
  stateDir: string | undefined,
): Promise<ServeAuthorizer | number> {
  if (auth.mode === "token") {
    try {
      const tokens = await readTokenFile(auth.tokenFile!);
      const count = tokens.length === 1 ? "1 token" : `${tokens.length} tokens`;
      return {
        authorizer: new BearerTokenAuthorizer(tokens),
        description: `auth: bearer token (${count})`,
      };
    } catch (error) {
      // A token file that is missing or unusable is a bad --token-file.
      ctx.printError(`mcp-run: ${(error as Error).message}`);
      return EXIT.usage;
    }
  }
  if (auth.mode === "none") return { description: "auth: none: loopback clients only" };
  if (auth.mode === "public") {
    return { description: "auth: none, public: anyone may call the allowed tools" };
  }
  const root = stateRoot(ctx.env, stateDir);
  const passphrase = join(root, "passphrase");
  try {
    await checkStatePrivacy(root);
  } catch (error) {
    return unsafeState(ctx, error);
  }
  const dir = stateDir === undefined ? "" : ` --state-dir ${root}`;
  let record;
  try {
    record = await readPassphraseFile(passphrase);
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof RangeError)) throw error;
    ctx.printError(
      `mcp-run serve: Cannot serve with --auth oauth: ${passphrase} is not a passphrase file ` +
        `(${error.message}). It holds the hash that mcp-run serve --set-passphrase writes, not ` +
        `the passphrase itself: set it with mcp-run serve --set-passphrase${dir}`,
    );
    return EXIT.usage;
  }
  if (record === null) {
    ctx.printError(
      `mcp-run serve: Cannot serve with --auth oauth: no owner passphrase is set ` +
        `(${passphrase}); set one with: mcp-run serve --set-passphrase${dir}`,
    );
    return EXIT.usage;
  }
  return { description: `auth: oauth, public URL ${auth.publicUrl}` };
}

/** Tells a state folder or file open to other users, as a usage error; rethrows the rest. */
function unsafeState(ctx: CliContext, error: unknown): number {
  if (!(error instanceof UnsafeStateError)) throw error;
  ctx.printError(`mcp-run serve: ${error.message}`);
  return EXIT.usage;
}

/** Opens the OAuth authorizer of the server (other modes are ready after the file check). */
async function openAuthorizer(
  ctx: CliContext,
  auth: ServeAuthChoice,
  checked: ServeAuthorizer,
  serverName: string,
  stateDir: string | undefined,
): Promise<ServeAuthorizer | number> {
  if (auth.mode !== "oauth") return checked;
  const root = stateRoot(ctx.env, stateDir);
  let authorizer: ClosableAuthorizer;
  try {
    authorizer = await openServeAuthorizer(
      root,
      serverName,
      auth.publicUrl!,
      { onError: (error) => ctx.printError(`mcp-run serve: ${error.message}`) },
    );
  } catch (error) {
    return unsafeState(ctx, error);
  }
  const { serverDir, totp } = serveStatePaths(root, serverName);
  const code = await Deno.stat(totp).then(() => ", with a TOTP code", () => "");
  return {
    authorizer,
    close: () => authorizer.close(),
    description: `${checked.description} (owner sign-in by passphrase${code}; sign-ins kept in ` +
      `${serverDir})`,
  };
}

/**
 * `mcp-run serve <server>`: serves the server over MCP Streamable HTTP, each session (or all of
 * them) in its own sandboxed process, until SIGINT or SIGTERM. `mcp-run serve --set-passphrase`
 * sets the owner's sign-in passphrase for `--auth oauth` instead.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @param flags The serve flags and `--dry-run`.
 * @returns The exit code.
 * @throws {UsageError} When not given one target, or a bad serve option (listening beyond
 *   loopback without authentication included).
 */
export async function serveCommand(
  ctx: CliContext,
  line: CommandLine,
  flags: ServeFlags & { "dry-run"?: boolean },
): Promise<number> {
  if (flags["set-passphrase"]) {
    expectArgs(
      line.rest,
      0,
      0,
      "--set-passphrase takes no server: the owner's passphrase signs in to every server",
    );
    return await setPassphraseCommand(ctx, stateRoot(ctx.env, flags["state-dir"]));
  }
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const options = serveOptions(flags);
  if (typeof options === "string") throw new UsageError(options);
  const { auth } = options;
  const { hostname, port } = options.bridge;
  // Refused before any file is read: the bind must not go beyond loopback unauthenticated.
  try {
    checkBindAddress(hostname, auth.mode === "token" || auth.mode === "oauth", {
      public: auth.mode === "public",
    });
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(error.message.replace(/^Cannot listen/, "--host: cannot listen"));
  }
  const checked = await checkAuthFiles(ctx, auth, flags["state-dir"]);
  if (typeof checked === "number") return checked;
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  // Read before anything starts: a bad guard option is a usage error.
  guardSetup(ctx, server, flags, { target: line.rest[0] });
  const allowed = auth.mode === "public"
    ? publicToolAllowlist(server.manifest?.tools?.allow, flags.tools)
    : undefined;
  const cancelled = allowed && cancelledAllowlistWarning(allowed, [
    ...server.manifest?.tools?.deny ?? [],
    ...flags["exclude-tools"] ?? [],
  ]);
  if (cancelled) ctx.printError(`mcp-run serve: ${cancelled}`);
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  if (flags["dry-run"]) {
    ctx.print(formatPlan(sandbox.plan(server), server, ctx.json));
    if (!ctx.json) {
      ctx.print(`listen: http://${host}:${port}/mcp`);
      ctx.print(checked.description);
      if (allowed !== undefined) ctx.print(`tools allowed: ${allowed.join(", ")}`);
    }
    printProxyWarning(ctx, options);
    return EXIT.ok;
  }
  const opened = await openAuthorizer(ctx, auth, checked, server.name, flags["state-dir"]);
  if (typeof opened === "number") return opened;
  try {
    return await serveOpened(ctx, line, flags, options, { server, sandbox, opened, allowed });
  } finally {
    await opened.close?.();
  }
}

/**
 * What `serve --public` says when its servers do not run under gVisor: anyone may reach them,
 * so a kernel bug is within a stranger's reach.
 *
 * @param isolation The isolation in use (`deno` or `docker`).
 * @returns The advice, one line.
 */
function publicIsolationAdvice(isolation: string): string {
  const wall = isolation === "docker"
    ? "a container shares the host's kernel"
    : "Deno's permissions share the host's kernel";
  return `anyone can reach this server and ${wall}: --isolation gvisor runs each server under ` +
    "gVisor's user-space kernel instead (needs runsc registered with docker; see the README's " +
    '"Isolation tiers")';
}

/** Warns when a proxied public URL has no --trust-proxy (sign-in lockout sees one client). */
function printProxyWarning(ctx: CliContext, options: ServeCommandOptions): void {
  const { hostname, trustProxy } = options.bridge;
  const warning = proxyWarning(options.auth, hostname, trustProxy ?? []);
  if (warning !== undefined) ctx.printError(`mcp-run serve: ${warning}`);
}

/** What serve has resolved and opened before it listens. */
interface Prepared {
  server: Awaited<ReturnType<typeof resolveFor>>["server"];
  sandbox: Awaited<ReturnType<typeof resolveFor>>["sandbox"];
  opened: ServeAuthorizer;
  allowed: string[] | undefined;
}

async function serveOpened(
  ctx: CliContext,
  line: CommandLine,
  flags: ServeFlags,
  options: ServeCommandOptions,
  { server, sandbox, opened, allowed }: Prepared,
): Promise<number> {
  const { sessionMode } = options.bridge;
  // One log for every session, opened before any starts: a bad --audit path is a usage error.
  const audit = await openAuditFlags(ctx, server, flags, "tcp");
  const onStderr = (line: string) => ctx.printError(`[${server.name}] ${line}`);
  const shutdown = new AbortController();
  const stop = () => shutdown.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    const served = await serveServer(server, {
      ...options.bridge,
      authorizer: opened.authorizer,
      public: options.auth.mode === "public",
      cacheRoot: ctx.target.cacheRoot,
      // Each process gets a fresh plan: in docker, its own container name.
      sandbox,
      onStderr,
      signal: shutdown.signal,
      guardStages: () => guardSetup(ctx, server, flags, { audit, target: line.rest[0] }).stages,
      guardLog: (line) => ctx.printError(line),
      // Each session's refused accesses: on stderr as they happen, the last one's stored.
      openAudit: () =>
        openAudit(
          ctx,
          launchDenialLog(ctx, server, sandbox, { live: true }),
          (log) => storeDenials(ctx, server, log, "serve"),
        ),
    }).catch((error) => {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      throw new Deno.errors.AddrInUse(
        `${error.message}; stop the program using it, or choose another port with --port ` +
          "(--port 0 picks a free one)",
        { cause: error },
      );
    });
    const unit = sandbox.unit;
    const ahead = options.bridge.warm ? `, ${options.bridge.warm} started ahead` : "";
    const mode = sessionMode === "isolated"
      ? `one sandboxed ${unit} per session${ahead}`
      : `one sandboxed ${unit} shared by every session`;
    ctx.printError(`mcp-run serve: ${server.name} on ${served.url} (${mode})`);
    ctx.printError(`mcp-run serve: ${opened.description}`);
    if (options.auth.mode === "public" && sandbox.isolation !== "gvisor") {
      ctx.printError(`mcp-run serve: ${publicIsolationAdvice(sandbox.isolation)}`);
    }
    if (allowed !== undefined) {
      ctx.printError(`mcp-run serve: tools allowed: ${allowed.join(", ")}`);
    }
    printProxyWarning(ctx, options);
    await served.finished;
    ctx.printError("mcp-run serve: stopped");
    return EXIT.ok;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    await audit?.close();
  }
}
