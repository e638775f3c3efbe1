/**
 * The `serve` command of the CLI: its options, validated, and the bridge it starts. Loaded only
 * for `serve`, so the other commands start without the HTTP bridge and its SDK transport.
 *
 * @module
 */
import { compileTrustedProxies } from "../http/_client_address.ts";
import { readTokenFile } from "../http/bearer_token.ts";
import { checkBindAddress } from "../http/serve.ts";
import { serveServer, type ServeServerOptions } from "../http/serve_server.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { formatPlan, resolveFor } from "./launch.ts";
import { launchDenialLog, openAudit, storeDenials } from "./denials.ts";
import { type GuardFlags, guardSetup } from "./guard_flags.ts";
import { openAuditFlags } from "./_audit_flags.ts";

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

/** The `serve` command's own options, validated: the bridge's, and where its tokens are. */
interface ServeCommandOptions {
  bridge: ServeFlagOptions;
  tokenFile?: string;
}

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
      | "warm",
      string
    >
  >
  & {
    "allowed-host"?: string[];
    "allowed-origin"?: string[];
    "json-response"?: boolean;
    "trust-proxy"?: string[];
  }
  & GuardFlags;

function serveOptions(values: ServeFlags): ServeCommandOptions | string {
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
  const warm = numbers.warm ?? 0;
  const maxSessions = numbers["max-sessions"] ?? 64;
  if (!Number.isInteger(warm) || warm > maxSessions) {
    return `--warm must be a whole number from 0 to --max-sessions (${maxSessions}), got "${values.warm}"`;
  }
  if (warm > 0 && sessionMode === "shared") {
    return "--warm needs --session-mode isolated: in shared mode one process serves every session";
  }
  const trustProxy = values["trust-proxy"] ?? [];
  try {
    compileTrustedProxies(trustProxy);
  } catch (error) {
    return `--trust-proxy ${(error as Error).message.replace(/^Cannot trust proxy /, "")}`;
  }
  const ratePerSecond = rate === 0 ? Infinity : rate;
  return {
    tokenFile: values["token-file"],
    bridge: {
      hostname: values.host ?? "127.0.0.1",
      port,
      allowedHosts: values["allowed-host"] ?? [],
      allowedOrigins: values["allowed-origin"] ?? [],
      sessionMode,
      maxSessions: numbers["max-sessions"],
      maxSessionsPerClient: numbers["max-sessions-per-client"],
      ratePerSecond,
      rateBurst: ratePerSecond && ratePerSecond * 2,
      maxConcurrentPerClient: numbers["max-concurrent"],
      idleTimeoutMs: numbers["idle-timeout"] && numbers["idle-timeout"] * 1000,
      requestTimeoutMs: numbers["request-timeout"] && numbers["request-timeout"] * 1000,
      jsonResponse: values["json-response"] ?? false,
      trustProxy,
      maxConnections: numbers["max-connections"],
      maxConnectionsPerClient: numbers["max-connections-per-client"],
      warm: numbers.warm,
    },
  };
}

/**
 * `mcp-run serve <server>`: serves the server over MCP Streamable HTTP, each session (or all of
 * them) in its own sandboxed process, until SIGINT or SIGTERM.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @param flags The serve flags and `--dry-run`.
 * @returns The exit code.
 * @throws {UsageError} When not given one target, or a bad serve option.
 * @throws {RangeError} When listening beyond loopback without a token.
 */
export async function serveCommand(
  ctx: CliContext,
  line: CommandLine,
  flags: ServeFlags & { "dry-run"?: boolean },
): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const options = serveOptions(flags);
  if (typeof options === "string") throw new UsageError(options);
  let tokens: string[] = [];
  try {
    if (options.tokenFile !== undefined) tokens = await readTokenFile(options.tokenFile);
  } catch (error) {
    // A token file that is missing or unusable is a bad --token-file.
    ctx.printError(`mcp-run: ${(error as Error).message}`);
    return EXIT.usage;
  }
  const { hostname, port, sessionMode } = options.bridge;
  checkBindAddress(hostname, tokens.length > 0);
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  // Read before anything starts: a bad guard option is a usage error.
  guardSetup(ctx, server, flags, { target: line.rest[0] });
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  if (flags["dry-run"]) {
    ctx.print(formatPlan(sandbox.plan(server), server, ctx.json));
    if (!ctx.json) ctx.print(`listen: http://${host}:${port}/mcp`);
    return EXIT.ok;
  }
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
      tokens,
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
    if (tokens.length === 0) ctx.printError("mcp-run serve: no token: loopback clients only");
    await served.finished;
    ctx.printError("mcp-run serve: stopped");
    return EXIT.ok;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
    await audit?.close();
  }
}
