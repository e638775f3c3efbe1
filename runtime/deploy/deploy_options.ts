/**
 * What every deployment target reads besides the server: the `mcp-run serve` options the
 * deployed service runs with, and the `mcp-run serve` command line they become. Pure.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";

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
): string[] {
  const port = options.port ?? DEFAULT_SERVE_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Cannot deploy on port ${port}: give a port from 1 to 65535`);
  }
  const args = ["serve", checkArg(server.name, "the server name")];
  for (const name of Object.keys(server.params).sort()) {
    if (!SAFE_PARAM_NAME.test(name)) {
      throw new RangeError(`Cannot pass the parameter "${name}": its name is not a plain word`);
    }
    for (const value of server.params[name]) {
      args.push("-p", checkArg(`${name}=${value}`, `the parameter "${name}"`));
    }
  }
  args.push("--host", checkArg(options.host ?? "127.0.0.1", "--host"), "--port", String(port));
  const repeat = (flag: string, values: string[] = []) => {
    for (const value of values) args.push(flag, checkArg(value, flag));
  };
  repeat("--allowed-host", options.allowedHosts);
  repeat("--allowed-origin", options.allowedOrigins);
  repeat("--trust-proxy", options.trustProxy);
  if (options.sessionMode) args.push("--session-mode", options.sessionMode);
  return [...args, ...extra];
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
