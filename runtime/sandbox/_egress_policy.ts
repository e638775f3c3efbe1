/**
 * The egress proxy's decisions: what a request names as its target, whether the grants allow
 * it (with the semantics Deno's `--allow-net` gives the same entries), and whether an address a
 * name resolved to may be reached. Pure.
 *
 * @module
 */
import {
  formatIpv4,
  type NetGrant,
  parseIpv4,
  parseIpv6,
  parseNetGrant,
} from "../policy/net_policy.ts";
import { privateAddressReason } from "../policy/net_preflight.ts";

/** A checked target: a lower-case name, a dotted IPv4 address, or a bracketed IPv6 address. */
export interface EgressTarget {
  /** The host as it is matched and logged: `example.com`, `10.0.0.1` or `[::1]`. */
  host: string;
  /** The port, 1 to 65535. */
  port: number;
  /** What the host is. */
  kind: "name" | "ipv4" | "ipv6";
}

/** The grants and deny list, parsed once per proxy. */
export interface EgressPolicy {
  /** The grants, parsed. */
  grants: NetGrant[];
  /** The grants as written (for the IPv6 exceptions of {@linkcode privateAddressReason}). */
  net: string[];
  /** CIDRs and addresses refused after resolution. */
  denyNet: string[];
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const NAME_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, "i");

/**
 * Parses the grants of a proxy; an entry Deno would not accept is refused here too.
 *
 * @param allow Grants as `ResolvedServer.net` holds them.
 * @param deny `ResolvedServer.denyNet`.
 * @returns The policy.
 * @throws {TypeError} When a grant is not a host, address or range.
 */
export function egressPolicy(allow: readonly string[], deny: readonly string[]): EgressPolicy {
  return { grants: allow.map(parseNetGrant), net: [...allow], denyNet: [...deny] };
}

/**
 * Parses a host and port as a client wrote them (`host:port`, `[v6]:port`), strictly: the
 * shortened or numeric forms URL parsers read as addresses (`127.1`, `2130706433`, `0x7f.1`)
 * and anything that is not a plain name or address are refused, so what is checked is exactly
 * what is reached.
 *
 * @param authority The text, without userinfo.
 * @param defaultPort The port when none is written (`undefined`: a port is required).
 * @returns The target, or why it cannot be one.
 */
export function parseTarget(authority: string, defaultPort?: number): EgressTarget | string {
  let host = authority;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return "an IPv6 address needs a closing ]";
    host = authority.slice(0, close + 1);
    const rest = authority.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) return "write [address]:port";
    if (rest !== "") portText = rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0) [host, portText] = [authority.slice(0, colon), authority.slice(colon + 1)];
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) return "the port is not a number";
  if (port === undefined) return "a port is required (host:port)";
  if (port < 1 || port > 65535) return "the port is not from 1 to 65535";
  if (host.startsWith("[")) {
    const groups = parseIpv6(host.slice(1, -1));
    if (!groups) return "not an IPv6 address";
    return { host: `[${formatIpv6(groups)}]`, port, kind: "ipv6" };
  }
  if (parseIpv4(host) !== undefined) return { host, port, kind: "ipv4" };
  if (/^[\d.]+$/.test(host) || /^(\d+|0x[0-9a-f]*)$/i.test(host.split(".").at(-1) ?? "")) {
    return "a host ending in a number is read as an address: write four-part dotted IPv4";
  }
  if (!NAME_RE.test(host)) return "not a host name or address";
  return { host: host.toLowerCase(), port, kind: "name" };
}

/**
 * Finds the grant that allows a target, matching as Deno's `--allow-net` does: a name grant
 * allows that exact name, `*.domain` the domain and every name under it, an address or range
 * only targets written as an address inside it (never a name that resolves there); a grant with
 * a port allows only that port.
 *
 * @param policy The proxy's policy.
 * @param target The target.
 * @returns The grant, or `undefined` when none allows the target.
 */
export function grantFor(policy: EgressPolicy, target: EgressTarget): NetGrant | undefined {
  return policy.grants.find((grant) => {
    if (grant.port !== undefined && grant.port !== target.port) return false;
    if (target.kind === "name") {
      if (grant.kind === "name") return grant.host === target.host;
      if (grant.kind !== "wildcard") return false;
      const domain = grant.host.slice(2).toLowerCase();
      return target.host === domain || target.host.endsWith(`.${domain}`);
    }
    return addressInGrant(target.kind === "ipv6" ? target.host.slice(1, -1) : target.host, grant);
  });
}

/**
 * Explains why a resolved (or literal) address may not be reached on a port, or returns
 * `undefined` when it may: an address inside the deny list, or a private IPv6 form (see
 * {@linkcode privateAddressReason}), is refused unless an address or range grant names it
 * explicitly.
 *
 * @param policy The proxy's policy.
 * @param address The address, IPv6 without brackets.
 * @param port The port to be reached.
 * @returns The reason, or `undefined`.
 */
export function addressRefusal(
  policy: EgressPolicy,
  address: string,
  port: number,
): string | undefined {
  const explicit = policy.grants.some((grant) =>
    (grant.port === undefined || grant.port === port) && addressInGrant(address, grant)
  );
  if (explicit) return undefined;
  return privateAddressReason(address, { net: policy.net, denyNet: policy.denyNet });
}

function addressInGrant(address: string, grant: NetGrant): boolean {
  if (grant.kind === "ipv6") {
    const a = parseIpv6(address);
    const b = parseIpv6(grant.host.slice(1, -1));
    return a !== undefined && b !== undefined && a.every((g, i) => g === b[i]);
  }
  if (grant.kind !== "ipv4" && grant.kind !== "cidr") return false;
  const value = parseIpv4(address);
  if (value === undefined) return false;
  const [base, bits = "32"] = grant.host.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(parseIpv4(base)! / size) * size;
  return value >= start && value < start + size;
}

/** Writes IPv6 groups in one canonical form, so two spellings of an address log alike. */
function formatIpv6(groups: readonly number[]): string {
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `::ffff:${formatIpv4(groups[6] * 65536 + groups[7])}`;
  return groups.map((g) => g.toString(16)).join(":");
}
