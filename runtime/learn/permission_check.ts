/**
 * Permission checks as Deno records them: one line per check in the file named by
 * `DENO_AUDIT_PERMISSIONS` (written before the decision, so refused checks are there too) or one
 * question to the permission broker. A check carries no verdict: {@linkcode isGranted} compares
 * it with a server's grants the way its `--allow-*` flags decide.
 *
 * @module
 */
import { parseNetGrant } from "../policy/net_policy.ts";
import { isWithin } from "../policy/path_policy.ts";
import { posixPath } from "../_path.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** One permission check a server made. */
export interface PermissionCheck {
  /** `read`, `write`, `net`, `env`, `sys`, `run`, `ffi` or `import`. */
  permission: string;
  /** What was checked: a path, `host:port` or URL, a variable or sys API name; null: all. */
  value: string | null;
}

/** Longest audit line read, in bytes; a longer one is not a check Deno wrote. */
export const MAX_CHECK_LINE_BYTES = 16_384;

const PERMISSIONS = new Set(["read", "write", "net", "env", "sys", "run", "ffi", "import"]);

/**
 * Reads one line of Deno's permission audit (or one broker question).
 *
 * @param line One JSON line.
 * @returns The check, or `undefined` when the line is not one (malformed, too long, unknown).
 *
 * @example
 * ```ts
 * import { parseCheckLine } from "./permission_check.ts";
 * const line = '{"v":1,"datetime":"2026-11-30T05:29:42Z","permission":"sys","value":"homedir"}';
 * console.log(parseCheckLine(line)); // { permission: "sys", value: "homedir" }
 * ```
 */
export function parseCheckLine(line: string): PermissionCheck | undefined {
  if (line.length > MAX_CHECK_LINE_BYTES) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== "object") return undefined;
  const { permission, value } = parsed as { permission?: unknown; value?: unknown };
  if (typeof permission !== "string" || !PERMISSIONS.has(permission)) return undefined;
  if (value !== null && value !== undefined && typeof value !== "string") return undefined;
  return { permission, value: value ?? null };
}

/**
 * Splits a `net` check's value (`host:port`, `[v6]:port` or a URL) into host and port.
 *
 * @param value The checked value.
 * @returns The host (lower case, IPv6 in brackets) and the port when one is known.
 *
 * @example
 * ```ts
 * import { netCheckTarget } from "./permission_check.ts";
 * console.log(netCheckTarget("https://API.example.com/x")); // { host: "api.example.com", port: 443 }
 * ```
 */
export function netCheckTarget(value: string): { host: string; port?: number } {
  if (value.includes("://")) {
    try {
      const url = new URL(value);
      const port = url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
      return { host: url.hostname.toLowerCase(), port };
    } catch {
      return { host: value };
    }
  }
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!match) return { host: value };
  return { host: match[1].toLowerCase(), port: match[2] ? Number(match[2]) : undefined };
}

function netGranted(server: ResolvedServer, value: string): boolean {
  const { host, port } = netCheckTarget(value);
  if (server.denyNet.includes(host)) return false;
  return server.net.some((entry) => {
    const grant = parseNetGrant(entry);
    const hostOk = grant.kind === "wildcard"
      ? host.endsWith(grant.host.slice(1))
      : grant.host.toLowerCase() === host;
    return hostOk && (grant.port === undefined || grant.port === port);
  });
}

/** Options for {@linkcode isGranted}. */
export interface IsGrantedOptions {
  /**
   * The folder the server was started in, when known: Deno records a relative path as given
   * and resolves it against the current folder. Without it, a relative path is never granted.
   */
  cwd?: string;
  /** Paths denied inside the write grants (`--deny-write`), which no write grant covers. */
  deniedWrites?: readonly string[];
}

/** A `read`/`write` value as an absolute path, or `undefined` when it cannot be resolved. */
function absolutePath(value: string, cwd: string | undefined): string | undefined {
  if (value.startsWith("/")) return value;
  return cwd === undefined ? undefined : posixPath.join(cwd, value);
}

/**
 * Tells whether a server's grants allow one check, as its `--allow-*` flags decide.
 *
 * @param server The resolved server.
 * @param check One check.
 * @param options The server's working folder, against which a relative path is resolved.
 * @returns `true` when granted.
 *
 * @example
 * ```ts ignore
 * import { isGranted } from "./permission_check.ts";
 * isGranted(server, { permission: "sys", value: "homedir" }); // server.sys.includes("homedir")
 * ```
 */
export function isGranted(
  server: ResolvedServer,
  check: PermissionCheck,
  options: IsGrantedOptions = {},
): boolean {
  const value = check.value;
  if (value === null) return false;
  switch (check.permission) {
    case "read":
    case "write": {
      const path = absolutePath(value, options.cwd);
      const grants = check.permission === "read" ? server.read : server.write;
      if (path === undefined || !grants.some((p) => isWithin(path, p))) return false;
      return check.permission === "read" ||
        !(options.deniedWrites ?? []).some((denied) => isWithin(path, denied));
    }
    case "net":
      return netGranted(server, value);
    case "env":
      return server.env.some((name) =>
        name.endsWith("*") ? value.startsWith(name.slice(0, -1)) : name === value
      );
    case "sys":
      return server.sys.includes(value);
    case "run":
      return server.run.includes(value);
    case "ffi":
      return server.ffi.some((p) => isWithin(value, p));
    default:
      return false;
  }
}
