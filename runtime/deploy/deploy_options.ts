/**
 * What every deployment target reads besides the server: the `mcp-run serve` options the
 * deployed service runs with, and the `mcp-run serve` command line they become. Pure.
 *
 * @module
 */
import { authEndpoints } from "../auth/metadata.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { DEFAULT_LIMITS } from "../sandbox/resource_caps.ts";

/**
 * Sessions a deployment serves at once unless told (`--max-sessions`): each runs its own server
 * process, so the service's limits grow with it (see {@linkcode deployLimits}). Lower than
 * serve's own default (64), whose memory would be 64 processes' caps.
 */
export const DEPLOY_MAX_SESSIONS = 4;

/** A whole service's limits: every session's server process and serve itself. */
export interface DeployLimits {
  /** Memory in MiB: one process cap (`DEFAULT_LIMITS.memoryMb`) per session, plus serve's. */
  memoryMb: number;
  /** Tasks (threads and processes): 256 per session, plus serve's. */
  tasks: number;
}

/**
 * The default limits of a deployed service, scaled with its sessions: `(maxSessions + 1)` times
 * one process's memory cap and 256 tasks (warm processes count within `maxSessions`). A service
 * past its memory limit has its largest process killed by the kernel (systemd's default
 * `OOMPolicy=stop` then stops the unit and `Restart=on-failure` starts it again; a container or
 * pod is restarted by its engine).
 *
 * @param maxSessions Sessions at once (default {@linkcode DEPLOY_MAX_SESSIONS}).
 * @returns The memory in MiB and the task count.
 * @throws {RangeError} When `maxSessions` is not a positive whole number.
 *
 * @example
 * ```ts
 * import { deployLimits } from "./deploy_options.ts";
 * console.log(deployLimits(1)); // { memoryMb: 2048, tasks: 512 }
 * ```
 */
export function deployLimits(maxSessions: number = DEPLOY_MAX_SESSIONS): DeployLimits {
  if (!Number.isInteger(maxSessions) || maxSessions < 1) {
    throw new RangeError(
      `Cannot size a deployment for ${maxSessions} sessions: give --max-sessions a whole number ` +
        "from 1",
    );
  }
  return { memoryMb: (maxSessions + 1) * DEFAULT_LIMITS.memoryMb, tasks: (maxSessions + 1) * 256 };
}

/** The `mcp-run serve` options a deployment runs with. */
export interface DeployServeOptions {
  /** `--host`: the address serve binds (default `127.0.0.1`; containers bind `0.0.0.0`). */
  host?: string;
  /** `--port` (default 8808). */
  port?: number;
  /** `--allowed-host` values: the names clients reach the service by. */
  allowedHosts?: string[];
  /** `--allowed-origin` values. */
  allowedOrigins?: string[];
  /** `--trust-proxy` addresses or CIDR ranges: the reverse proxy or tunnel in front. */
  trustProxy?: string[];
  /** `--session-mode` (serve's default, `isolated`, when absent). */
  sessionMode?: "isolated" | "shared";
  /**
   * Addresses or CIDR ranges the operator vouches for, by granted host name: the egress that
   * address-based filters (systemd `IPAddressAllow`, a NetworkPolicy `ipBlock`) let through for
   * that name. Names resolve at run time and can change; these are checked by the caller, not
   * looked up here.
   */
  egressAddresses?: Record<string, string[]>;
  /**
   * `--auth`: `token` (a bearer token file), `oauth` (serve's own OAuth sign-in; needs
   * `publicUrl`) or `none` (loopback, or `public`). Default: `token` when the target has a token
   * file, else `none`.
   */
  auth?: DeployAuth;
  /** `--public-url`: the address clients reach the service by (the OAuth issuer and resource). */
  publicUrl?: string;
  /** `--public`: no authentication at all, for a server with a tool allowlist. */
  public?: boolean;
  /** `--tools` values: the only tools clients see and call. */
  tools?: string[];
  /** `--exclude-tools` values: tools never offered. */
  excludeTools?: string[];
  /** `--max-sessions N` (default {@linkcode DEPLOY_MAX_SESSIONS}). */
  maxSessions?: number;
  /** `--rate-limit N`: requests per minute per client. */
  rateLimit?: number;
  /** `--idle-timeout S` in seconds. */
  idleTimeout?: number;
  /** `--request-timeout S` in seconds. */
  requestTimeout?: number;
  /**
   * `--audit FILE`: the audit log's file name inside the service's state folder (a plain name
   * such as `audit.jsonl`: the service can write nowhere else).
   */
  audit?: string;
  /**
   * How the service names its server (default the registry name): the absolute path of a
   * manifest file, for a server that is not in the registry. The service must be able to read
   * it there (compose mounts its folder read-only).
   */
  serveTarget?: string;
  /**
   * Where the served servers run: `deno` (default: Deno's permissions in the service) or
   * `gvisor`, under gVisor's user-space kernel. systemd's serve and pull then run
   * `--isolation gvisor` (each server in a hardened container under the host engine's gVisor
   * runtime; the unit joins the `docker` group); Kubernetes runs the pod under the `gvisor`
   * RuntimeClass (`runtimeClassName:`); compose refuses it (the engine's gVisor runtime is
   * registered with `--network=none`, so the service could not listen). The pull step never runs
   * under gVisor: no server code runs in it.
   */
  isolation?: DeployIsolation;
  /**
   * systemd under gVisor: the engine runtime that is gVisor (default `runsc`), which the units'
   * serve and pull read from a config file written beside them.
   */
  gvisorRuntime?: string;
}

/** Where a deployment's servers run (see {@linkcode DeployServeOptions.isolation}). */
export type DeployIsolation = "deno" | "gvisor";

/** The RuntimeClass a gVisor deployment's pod names on Kubernetes (its handler is `runsc`). */
export const GVISOR_RUNTIME_CLASS = "gvisor";

/** How a deployed service authenticates its clients (serve's `--auth`). */
export type DeployAuth = "token" | "oauth" | "none";

/** Where a target puts the files serve's authentication reads. */
export interface DeployAuthPaths {
  /** The token file as the service sees it (token mode). */
  tokenFile: string;
  /** The state root as the service sees it (OAuth mode: the passphrase and per-server data). */
  stateDir: string;
}

/** The port serve listens on unless told otherwise. */
export const DEFAULT_SERVE_PORT = 8808;

const SAFE_PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * The arguments after `mcp-run` that start the server's service: `serve <name>`, its
 * parameters as `-p name=value` (one per value, as resolved), then the serve options.
 *
 * @param server The resolved server (its name and parameters).
 * @param options The serve options.
 * @param extra More serve arguments the target adds (a token file, say).
 * @param stateDir The state folder as the service sees it (the audit log is kept there).
 * @returns The argv, without the program.
 * @throws {RangeError} When the server name, a parameter, or an option cannot be passed safely
 *   (a leading `-`, a newline or NUL), or the port is not 1–65535.
 *
 * @example
 * ```ts
 * import { serveArgs } from "./deploy_options.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const args = serveArgs(server, { port: 9000 });
 * console.log(args.join(" ")); // serve time --host 127.0.0.1 --port 9000
 * ```
 */
export function serveArgs(
  server: ResolvedServer,
  options: DeployServeOptions,
  extra: string[] = [],
  stateDir = "/state",
): string[] {
  const port = options.port ?? DEFAULT_SERVE_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot deploy on port ${port}: give a port from 1 to 65535`);
  }
  const args = ["serve", ...targetArgs(server, options.serveTarget)];
  args.push("--host", checkArg(options.host ?? "127.0.0.1", "--host"), "--port", String(port));
  const repeat = (flag: string, values: string[] = []) => {
    for (const value of values) args.push(flag, checkArg(value, flag));
  };
  repeat("--allowed-host", options.allowedHosts);
  repeat("--allowed-origin", options.allowedOrigins);
  repeat("--trust-proxy", options.trustProxy);
  if (options.sessionMode) args.push("--session-mode", options.sessionMode);
  repeat("--tools", options.tools);
  repeat("--exclude-tools", options.excludeTools);
  const number = (flag: string, value: number | undefined) => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`Cannot deploy with ${flag} ${value}: give a positive number`);
    }
    args.push(flag, String(value));
  };
  number("--max-sessions", options.maxSessions ?? DEPLOY_MAX_SESSIONS);
  number("--rate-limit", options.rateLimit);
  number("--idle-timeout", options.idleTimeout);
  number("--request-timeout", options.requestTimeout);
  if (options.audit !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.audit)) {
      throw new RangeError(
        `Cannot write the audit log to "${options.audit}": give a file name such as ` +
          `audit.jsonl, kept in the service's state folder (the only place it may write)`,
      );
    }
    args.push("--audit", `${stateDir}/${options.audit}`);
  }
  return [...args, ...extra];
}

/**
 * The arguments after `mcp-run` that cache the server's code: `pull <name>` and its parameters,
 * as {@linkcode serveArgs} passes them.
 *
 * @param server The resolved server (its name and parameters).
 * @param options `serveTarget`: the manifest path the service names it by, if not its name.
 * @returns The argv, without the program.
 * @throws {RangeError} When the name or a parameter cannot be passed safely.
 *
 * @example
 * ```ts
 * import { pullArgs } from "./deploy_options.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * console.log(pullArgs(server).join(" ")); // pull time
 * ```
 */
export function pullArgs(
  server: ResolvedServer,
  options: Pick<DeployServeOptions, "serveTarget"> = {},
): string[] {
  return ["pull", ...targetArgs(server, options.serveTarget)];
}

function targetArgs(server: ResolvedServer, serveTarget?: string): string[] {
  if (serveTarget !== undefined && !serveTarget.startsWith("/")) {
    throw new RangeError(
      `Cannot name the server by "${serveTarget}" in a deployment: give the manifest's ` +
        `absolute path`,
    );
  }
  const args = [checkArg(serveTarget ?? server.name, "the server name")];
  for (const name of Object.keys(server.params).sort()) {
    if (!SAFE_PARAM_NAME.test(name)) {
      throw new RangeError(`Cannot pass the parameter "${name}": its name is not a plain word`);
    }
    for (const value of server.params[name]) {
      args.push("-p", checkArg(`${name}=${value}`, `the parameter "${name}"`));
    }
  }
  return args;
}

/**
 * The authentication a deployment runs with: `options.auth`, else `token` when the target has a
 * token file, else `none`; checked against `public` and `publicUrl`.
 *
 * @param options The serve options.
 * @param hasTokenFile Whether the target was given a token file.
 * @returns The mode.
 * @throws {RangeError} When `public` is combined with another mode or a token file, OAuth has no
 *   public URL (or one serve refuses: not https beyond loopback, not ending in `/mcp`), or a
 *   token mode has no token file.
 *
 * @example
 * ```ts
 * import { deployAuth } from "./deploy_options.ts";
 * const options = { auth: "oauth" as const, publicUrl: "https://mcp.example.com/mcp" };
 * console.log(deployAuth(options, false)); // oauth
 * ```
 */
export function deployAuth(options: DeployServeOptions, hasTokenFile: boolean): DeployAuth {
  const mode = options.auth ?? (hasTokenFile ? "token" : "none");
  if (options.public && (mode !== "none" || hasTokenFile)) {
    throw new RangeError(
      `Cannot deploy with --public and ${hasTokenFile ? "a token file" : `--auth ${mode}`}: ` +
        `--public serves without authentication; drop one of them`,
    );
  }
  if (mode !== "token" && hasTokenFile) {
    throw new RangeError(
      `Cannot deploy with a token file and --auth ${mode}: the token file is for --auth token`,
    );
  }
  if (mode === "token" && !hasTokenFile) {
    throw new RangeError(`Cannot deploy with --auth token without a token: give --token-file`);
  }
  if (mode === "oauth") {
    if (options.publicUrl === undefined) {
      throw new RangeError(
        `Cannot deploy with --auth oauth without --public-url: give the https address of the ` +
          `MCP endpoint clients reach (such as https://mcp.example.com/mcp)`,
      );
    }
    try {
      authEndpoints(options.publicUrl);
    } catch (error) {
      throw new RangeError((error as Error).message, { cause: error });
    }
    // serve binds its tokens to the MCP endpoint itself.
    if (!new URL(options.publicUrl).pathname.endsWith("/mcp")) {
      throw new RangeError(
        `Cannot use "${options.publicUrl}" as --public-url: it must end with the MCP path /mcp, ` +
          `such as https://mcp.example.com/mcp`,
      );
    }
  }
  return mode;
}

/**
 * The serve arguments of an authentication mode, with the target's paths: `--token-file`,
 * `--auth oauth --public-url … --state-dir …`, `--public`, or nothing.
 *
 * @param mode The mode ({@linkcode deployAuth}).
 * @param options The serve options (the public URL, `public`).
 * @param paths Where the service finds its token file and state root.
 * @returns The arguments.
 * @throws {RangeError} When a value cannot be passed safely.
 *
 * @example
 * ```ts
 * import { authArgs } from "./deploy_options.ts";
 * const args = authArgs("token", {}, { tokenFile: "/run/token", stateDir: "/state" });
 * console.log(args.join(" ")); // --token-file /run/token
 * ```
 */
export function authArgs(
  mode: DeployAuth,
  options: DeployServeOptions,
  paths: DeployAuthPaths,
): string[] {
  if (mode === "token") return ["--token-file", paths.tokenFile];
  if (mode === "oauth") {
    return [
      "--auth",
      "oauth",
      "--public-url",
      checkArg(options.publicUrl ?? "", "--public-url"),
      "--state-dir",
      checkArg(paths.stateDir, "--state-dir"),
    ];
  }
  return options.public ? ["--public"] : [];
}

function checkArg(value: string, what: string): string {
  if (value === "" || value.startsWith("-") || /[\0\n\r]/.test(value)) {
    throw new RangeError(
      `Cannot write ${what} "${value}" into a deployment: it is empty, starts with "-" or ` +
        `spans lines; give a plain value`,
    );
  }
  return value;
}
