/**
 * Denials: a permission check a server's grants refused, said the way a person fixes it — what
 * was asked, the exact manifest line or `-p` value that would allow it, or why it can never be
 * granted. Pure: reads and starts nothing (the log of a run is `denial_log.ts`, the wording of
 * mcp-run's own folders `denial_places.ts`).
 *
 * @module
 */
import { isReservedEnvName } from "../policy/env_policy.ts";
import { isPrivateGrant, parseNetGrant } from "../policy/net_policy.ts";
import { forbiddenPathReason, isWithin } from "../policy/path_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { DenialContext } from "./denial_places.ts";
import { cutText, escapeText, quoteText } from "./_escape.ts";
import { isGranted, netCheckTarget, type PermissionCheck } from "./permission_check.ts";

export type { DenialContext, NamedPlace } from "./denial_places.ts";

/** One refused access, explained. */
export interface Denial {
  /** `read`, `write`, `net`, `env`, `sys`, `run`, `ffi` or `import`. */
  permission: string;
  /** What was checked (a `net` URL is kept as `host:port`); null: everything of that kind. */
  value: string | null;
  /** What was asked, in words: `read /home/ada/.config/foo`, `net api.example.com:443`. */
  asked: string;
  /** The exact change that would allow it: a manifest line, or a `-p name=value` to pass. */
  allow?: string;
  /** Why it can never be granted (set when `allow` is not). */
  never?: string;
  /**
   * Why no exact change can be given (set when neither `allow` nor `never` is): a relative path
   * (Deno resolves it against a folder the server may have changed), or a report that may be
   * forged (see `unverified`).
   */
  unsure?: string;
  /** The report came from a channel the server's own programs can write (docker `--trust`). */
  unverified?: true;
  /** How many times it was refused. */
  count: number;
}

// A value the server chose is bounded (`cut`) and escaped (`quoted`): it must not forge a line.
const cut = (value: string): string => cutText(value);
const quoted = (value: string): string => quoteText(value);
const escaped = (value: string): string => escapeText(value);

/** `host:port` of a net check, or the value as written when it cannot be read. */
function netKey(value: string): string {
  const { host, port } = netCheckTarget(value);
  return port === undefined ? host : `${host}:${port}`;
}

/** The parameters whose `${name}` the manifest's grant of this kind uses. */
function grantParams(server: ResolvedServer, permission: "read" | "write" | "net"): string[] {
  const entries = server.manifest?.permissions[permission] ?? [];
  return Object.keys(server.params).filter((name) => entries.includes(`\${${name}}`));
}

/** `-p name=value` for a parameter the grant uses, saying whether it adds or replaces. */
function paramAllow(server: ResolvedServer, param: string, value: string): string {
  const list = server.manifest?.parameters[param]?.type.endsWith("[]") ?? false;
  const given = server.params[param] ?? [];
  if (given.length === 0) return `-p ${param}=${value}`;
  return list
    ? `-p ${param}=${value} (as well as the values given)`
    : `-p ${param}=${value} (in place of ${quoted(given[0])})`;
}

function pathAllow(server: ResolvedServer, permission: "read" | "write", path: string): string {
  // A list parameter can take one more path; a single path already given is the user's folder,
  // and replacing it is no way to allow another.
  const param = grantParams(server, permission).find((name) =>
    server.manifest?.parameters[name]?.type.endsWith("[]") ?? false
  );
  if (param !== undefined) return paramAllow(server, param, path);
  return `"${permission}": [${JSON.stringify(path)}]`;
}

/** Why a relative path gets no exact line: Deno resolves it against the current folder. */
function relativeNote(path: string, cwd: string | undefined): string {
  const from = cwd === undefined
    ? "the folder the server runs from, which is not known here"
    : `the folder the server runs from (${quoted(cwd)} at its start, unless it changed folder)`;
  return `a relative path: Deno resolves ${JSON.stringify(cut(path))} against ${from}; grant ` +
    "the absolute path it means";
}

function explainPath(
  server: ResolvedServer,
  permission: "read" | "write",
  path: string,
  context: DenialContext,
): Pick<Denial, "asked" | "allow" | "never" | "unsure"> {
  if (!path.startsWith("/")) {
    return { asked: `${permission} ${quoted(path)}`, unsure: relativeNote(path, context.cwd) };
  }
  const place = (context.places ?? []).find((p) => isWithin(path, p.path));
  if (place) {
    const rest = path.slice(place.path.length).replace(/^\//, "");
    const asked = rest
      ? `${permission} ${quoted(rest)} in ${place.words}`
      : `${permission} ${place.words}`;
    if (place.allow && permission === "read") return { asked, allow: place.allow };
    return { asked, never: place.never ?? "mcp-run's own folders are never granted" };
  }
  const asked = `${permission} ${quoted(path)}`;
  const held = permission === "write"
    ? (context.protectedWrites ?? []).find((denied) => isWithin(path, denied))
    : undefined;
  if (held !== undefined) {
    // Denied inside a write grant: writing there makes code run elsewhere. A grant of the
    // protected path itself lifts the protection.
    return {
      asked: `${asked} (protected: writing there makes code run outside the sandbox)`,
      allow: `"write": [${JSON.stringify(cut(held))}]`,
    };
  }
  const reason = forbiddenPathReason(path, {
    home: context.home ?? "/nonexistent-home",
    cacheRoot: context.cacheRoot ?? "/nonexistent-cache",
  });
  if (reason) return { asked, never: reason };
  return { asked, allow: pathAllow(server, permission, cut(path)) };
}

function explainNet(server: ResolvedServer, value: string): Pick<Denial, "asked" | "allow"> {
  const key = cut(netKey(value));
  const asked = `net ${escaped(key)}`;
  const [param] = grantParams(server, "net");
  if (param !== undefined) return { asked, allow: paramAllow(server, param, key) };
  const line = `"net": [${JSON.stringify(key)}]`;
  let grant;
  try {
    grant = parseNetGrant(key);
  } catch {
    return { asked, allow: line };
  }
  const { host } = netCheckTarget(value);
  const private_ = server.denyNet.includes(host) || isPrivateGrant(grant) ||
    host === "localhost";
  return {
    asked,
    allow: private_
      ? `${line} (a private or loopback address: refused unless granted exactly like this)`
      : line,
  };
}

const NEVER_NATIVE = "only in a container with an explicit trust decision " +
  "(--isolation docker --trust or --isolation gvisor --trust), never in native mode";

function explainEnv(name: string): Pick<Denial, "asked" | "allow" | "never"> {
  const asked = `env ${quoted(name)}`;
  if (isReservedEnvName(name)) {
    return {
      asked,
      never: /PROXY$/i.test(name)
        ? "proxy variables are reserved to the launcher: a server never chooses its own proxy"
        : "DENO_*, NODE_*, NPM_CONFIG_*, LD_*, PATH, HOME and the like are reserved to the launcher",
    };
  }
  const secret = /TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH/i.test(name);
  const spec = `{ "description": "…", "required": false }`;
  return {
    asked,
    allow: `"${secret ? "secrets" : "env"}": { ${JSON.stringify(cut(name))}: ${spec} }`,
  };
}

/**
 * Explains one refused check: what was asked, and the exact change that would allow it (a
 * manifest line; when the manifest already grants that kind through a parameter, the `-p` value
 * to pass) or why it can never be granted (mcp-run's own folders, credential folders, `run` and
 * `ffi` in native mode, reserved variables, the whole environment or file system). Values the
 * server chose are quoted with control characters escaped, so they cannot forge output lines.
 *
 * @param server The resolved server whose grants refused it.
 * @param check The check.
 * @param context Home, cache root, isolation and mcp-run's folders, for the wording.
 * @returns The denial, with `count` 1.
 *
 * @example
 * ```ts
 * import { explainDenial } from "./denial.ts";
 * const server = {
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * };
 * const denial = explainDenial(server, { permission: "sys", value: "homedir" });
 * console.log(denial.asked, "→", denial.allow); // sys homedir → "sys": ["homedir"]
 * ```
 */
export function explainDenial(
  server: ResolvedServer,
  check: PermissionCheck,
  context: DenialContext = {},
): Denial {
  const denial = explainValue(server, check, context);
  if (context.trusted) {
    // Its programs inherit the audit variable: a line may be forged, so no change is advised.
    const { allow: _allow, never: _never, ...rest } = denial;
    return { ...rest, unsure: UNVERIFIED, unverified: true };
  }
  // The allowing line quotes the server's value too: escaped whole, like `asked`.
  return denial.allow === undefined ? denial : { ...denial, allow: escaped(denial.allow) };
}

/** Why a trusted server's reports come without advice. */
const UNVERIFIED = "the server may start programs (--trust), which can write and read Deno's " +
  "audit channel: this report may be forged, and others may be missing; check what the server " +
  "needs before granting anything";

/** Longest value kept in a denial's `value` (it is stored; `asked` is shorter still). */
const MAX_VALUE = 4096;

function explainValue(
  server: ResolvedServer,
  check: PermissionCheck,
  context: DenialContext,
): Denial {
  const { permission } = check;
  const value = check.value === null ? null : check.value.slice(0, MAX_VALUE);
  const base = { permission, value, count: 1 };
  if (value === null) {
    return {
      ...base,
      asked: `${permission} (all)`,
      never: `unscoped ${permission} access is never granted`,
    };
  }
  switch (permission) {
    case "read":
    case "write":
      return { ...base, ...explainPath(server, permission, value, context) };
    case "net":
      return { ...base, value: netKey(value), ...explainNet(server, value) };
    case "env":
      return { ...base, ...explainEnv(value) };
    case "sys":
      return {
        ...base,
        asked: `sys ${quoted(value)}`,
        allow: `"sys": [${JSON.stringify(cut(value))}]`,
      };
    case "run":
    case "ffi": {
      const asked = `${permission} ${quoted(value)}`;
      if (context.isolation === "docker" || context.isolation === "gvisor") {
        return {
          ...base,
          asked,
          allow: `"${permission}": [${JSON.stringify(cut(value))}] with --trust`,
        };
      }
      return { ...base, asked, never: `${permission} is allowed ${NEVER_NATIVE}` };
    }
    default:
      return {
        ...base,
        asked: `${quoted(permission)} ${quoted(value)}`,
        never: "code is imported only from the registries the server was pulled from",
      };
  }
}

/**
 * The one stderr line `run` writes for a denial.
 *
 * @param server The server's name.
 * @param denial The denial.
 * @returns `mcp-run: <server> was refused <asked>: to allow it, <allow>` (or `… it can never be
 *   granted: <never>`, or `… no exact change can be given: <unsure>`; an unverified report is
 *   marked `(unverified)` after what was asked).
 *
 * @example
 * ```ts
 * import { formatDenial } from "./denial.ts";
 * const denial = { permission: "sys", value: "homedir", asked: "sys homedir", allow: '"sys": ["homedir"]', count: 1 };
 * console.log(formatDenial("t", denial)); // mcp-run: t was refused sys homedir: to allow it, "sys": ["homedir"]
 * ```
 */
export function formatDenial(server: string, denial: Denial): string {
  const mark = denial.unverified ? " (unverified)" : "";
  return `mcp-run: ${server} was refused ${denial.asked}${mark}: ${denialAdvice(denial)}`;
}

/**
 * What a denial's line says after what was asked: the change that allows it, why it can never
 * be granted, or why no exact change can be given.
 *
 * @param denial The denial.
 * @returns `to allow it, …`, `it can never be granted: …` or `no exact change can be given: …`.
 *
 * @example
 * ```ts
 * import { denialAdvice } from "./denial.ts";
 * const denial = { permission: "read", value: "a.txt", asked: "read a.txt", unsure: "a relative path", count: 1 };
 * console.log(denialAdvice(denial)); // no exact change can be given: a relative path
 * ```
 */
export function denialAdvice(denial: Denial): string {
  if (denial.allow !== undefined) return `to allow it, ${denial.allow}`;
  if (denial.never === undefined && denial.unsure !== undefined) {
    return `no exact change can be given: ${denial.unsure}`;
  }
  return `it can never be granted: ${denial.never ?? "no grant allows it"}`;
}

/** A connection the egress proxy of a container refused (see `EgressRefusal`). */
export interface RefusedConnection {
  /** The host asked for. */
  host: string;
  /** The port (0 when none could be read). */
  port: number;
  /** The address a name resolved to, when that address is what was refused. */
  address?: string;
  /** The proxy's reason. */
  reason: string;
}

/**
 * Explains a connection a container's egress proxy refused, as a `net host:port` denial: a host
 * the manifest does not grant gets its manifest line; a name that resolved to a private address,
 * or a request the proxy could not read, can never be granted (the proxy's reason says why).
 *
 * @param server The resolved server.
 * @param refusal The refusal.
 * @returns The denial, with `count` 1.
 *
 * @example
 * ```ts
 * import { explainRefusal } from "./denial.ts";
 * const server = {
 *   name: "t", specifier: "pypi:x@1.0.0", args: [], read: [], write: [], net: [], denyNet: [],
 *   env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [], params: {},
 * };
 * const denial = explainRefusal(server, { host: "api.example.com", port: 443, reason: "not granted" });
 * console.log(denial.asked, "→", denial.allow); // net api.example.com:443 → "net": ["api.example.com:443"]
 * ```
 */
export function explainRefusal(server: ResolvedServer, refusal: RefusedConnection): Denial {
  const target = refusal.port > 0 ? `${refusal.host}:${refusal.port}` : refusal.host;
  if (refusal.port > 0 && refusal.address === undefined) {
    const explained = explainDenial(server, { permission: "net", value: target });
    if (!isGranted(server, { permission: "net", value: target })) return explained;
  }
  return {
    permission: "net",
    value: quoted(target),
    asked: `net ${quoted(target)}`,
    never: `the egress proxy refused it: ${quoted(refusal.reason)}`,
    count: 1,
  };
}
