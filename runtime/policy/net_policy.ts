/**
 * Network grants: parsing host entries and computing the always-on private-network deny list.
 *
 * Deno checks `--allow-net` against the name a program asks for, and checks `--deny-net` CIDR
 * ranges against the address a name resolves to. So every launch denies the loopback, private,
 * link-local, CGNAT and `0.0.0.0/8` ranges, minus exactly the addresses the user granted.
 *
 * @module
 */

/** IPv4 ranges that are never reachable unless the user grants an address inside them. */
export const PRIVATE_IPV4_RANGES: readonly string[] = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
];

/** IPv6 addresses always denied (Deno 2.9 accepts no IPv6 ranges in `--deny-net`). */
export const PRIVATE_IPV6_ADDRESSES: readonly string[] = ["[::1]", "[::]"];

/** A parsed `--allow-net` entry. */
export interface NetGrant {
  /** Host name, IPv4 address, IPv4 CIDR, `*.domain`, or bracketed IPv6 address. */
  host: string;
  /** Port, when the grant is limited to one. */
  port?: number;
  /** Kind of host. */
  kind: "name" | "wildcard" | "ipv4" | "cidr" | "ipv6";
}

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const NAME_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`, "i");
const WILDCARD_RE = new RegExp(`^\\*\\.${LABEL}(?:\\.${LABEL})+$`, "i");

/**
 * Parses one network grant: `host`, `host:port`, `*.domain`, `1.2.3.4`, `10.0.0.0/24`, `[::1]:80`.
 *
 * @param entry The grant as written.
 * @returns The parsed grant.
 * @throws {TypeError} When the entry is not a host, address or range, with what to write instead.
 *
 * @example
 * ```ts
 * import { parseNetGrant } from "./net_policy.ts";
 * console.log(parseNetGrant("api.github.com:443")); // { host: "api.github.com", port: 443, kind: "name" }
 * ```
 */
export function parseNetGrant(entry: string): NetGrant {
  const bad = (why: string) => new TypeError(`Cannot grant network access to "${entry}": ${why}`);
  if (/[\s,/]/.test(entry.replace(/\/\d{1,2}$/, "")) || entry.includes("://")) {
    throw bad("write a host name, host:port or address, not a URL or a list");
  }
  let host = entry;
  let port: number | undefined;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close < 0) throw bad("an IPv6 address needs a closing ]");
    host = entry.slice(0, close + 1);
    const rest = entry.slice(close + 1);
    if (rest) {
      if (!rest.startsWith(":")) throw bad("write [address]:port");
      port = parsePort(rest.slice(1), bad);
    }
    const inner = host.slice(1, -1);
    if (!parseIpv6(inner)) throw bad("not an IPv6 address");
    if (/^::ffff:/i.test(inner)) {
      throw bad("IPv4-mapped IPv6 addresses are not accepted; grant the IPv4 address itself");
    }
    return port === undefined ? { host, kind: "ipv6" } : { host, port, kind: "ipv6" };
  }
  const colon = entry.lastIndexOf(":");
  if (colon >= 0) {
    host = entry.slice(0, colon);
    port = parsePort(entry.slice(colon + 1), bad);
  }
  let kind: NetGrant["kind"];
  const cidr = /^(.+)\/(\d{1,2})$/.exec(host);
  if (cidr) {
    if (parseIpv4(cidr[1]) === undefined || Number(cidr[2]) > 32) throw bad("not an IPv4 range");
    if (Number(cidr[2]) === 0) throw bad("the whole address space is never granted");
    kind = "cidr";
  } else if (/^[\d.]+$/.test(host)) {
    if (parseIpv4(host) === undefined) {
      throw bad("not a dotted IPv4 address with four parts (short forms like 127.1 are refused)");
    }
    kind = "ipv4";
  } else if (WILDCARD_RE.test(host)) {
    kind = "wildcard";
  } else if (NAME_RE.test(host)) {
    if (/^(\d+|0x[0-9a-f]*)$/i.test(host.split(".").at(-1)!)) {
      throw bad("a name ending in a number is read as an IPv4 address by URL parsers");
    }
    kind = "name";
    host = host.toLowerCase();
  } else {
    throw bad("not a valid host name");
  }
  return port === undefined ? { host, kind } : { host, port, kind };
}

function parsePort(text: string, bad: (why: string) => TypeError): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw bad(`"${text}" is not a port from 1 to 65535`);
  }
  return port;
}

/**
 * Parses a dotted IPv4 address with exactly four decimal parts.
 *
 * @param text The address.
 * @returns The address as an unsigned 32-bit number, or `undefined` when it is not one.
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/**
 * Parses an IPv6 address (no brackets, no zone), including `::` and a dotted IPv4 tail.
 *
 * @param text The address.
 * @returns Its eight 16-bit groups, or `undefined` when it is not an IPv6 address.
 *
 * @example
 * ```ts
 * import { parseIpv6 } from "./net_policy.ts";
 * console.log(parseIpv6("::ffff:127.0.0.1")); // [0, 0, 0, 0, 0, 65535, 32512, 1]
 * ```
 */
export function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(":")) return undefined;
  let body = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIpv4(dotted[2]);
    if (v4 === undefined) return undefined;
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
    body = dotted[1].endsWith("::") ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  const head = part(halves[0]);
  const rest = halves.length === 2 ? part(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const zeros = new Array(8 - known).fill(0);
  return [...head, ...(halves.length === 2 ? zeros : []), ...rest].map((g) =>
    typeof g === "number" ? g : parseInt(g, 16)
  ).concat(tail);
}

/**
 * Tells whether an IPv6 address is unique-local (`fc00::/7`), link-local (`fe80::/10`) or the
 * deprecated site-local (`fec0::/10`): addresses of the local network, never of the internet.
 *
 * @param groups The address as eight 16-bit groups (see {@linkcode parseIpv6}).
 * @returns `true` for local-network addresses.
 */
export function isPrivateIpv6(groups: readonly number[]): boolean {
  return (groups[0] & 0xfe00) === 0xfc00 || (groups[0] & 0xffc0) === 0xfe80 ||
    (groups[0] & 0xffc0) === 0xfec0;
}

/**
 * Writes an IPv4 address held as a 32-bit number in dotted form, the reverse of
 * {@linkcode parseIpv4}.
 *
 * @param value The address as an unsigned 32-bit number.
 * @returns The dotted address, like `10.0.0.1`.
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "./net_policy.ts";
 * console.log(formatIpv4(0x7f000001)); // "127.0.0.1"
 * ```
 */
export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

type Range = [start: number, end: number];

function cidrRange(cidr: string): Range {
  const [addr, bits = "32"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(parseIpv4(addr)! / size) * size;
  return [start, start + size - 1];
}

/**
 * Tells whether a grant names an address inside the private deny list (a literal address or
 * range, or `localhost`).
 *
 * @param grant A parsed grant.
 * @returns `true` for loopback, private, link-local, CGNAT and unspecified addresses, and for
 *   unique-local and link-local IPv6 addresses.
 */
export function isPrivateGrant(grant: NetGrant): boolean {
  if (grant.kind === "name") return grant.host === "localhost" || grant.host.endsWith(".localhost");
  if (grant.kind === "ipv6") {
    const groups = parseIpv6(grant.host.slice(1, -1));
    if (!groups) return true;
    const loopbackOrAny = groups.slice(0, 7).every((g) => g === 0) && groups[7] <= 1;
    return loopbackOrAny || isPrivateIpv6(groups);
  }
  if (grant.kind === "ipv4" || grant.kind === "cidr") {
    const [s, e] = cidrRange(grant.host);
    return PRIVATE_IPV4_RANGES.some((r) => {
      const [rs, re] = cidrRange(r);
      return s <= re && e >= rs;
    });
  }
  return false;
}

/**
 * Computes the `--deny-net` entries: the private ranges minus the user's private grants.
 *
 * A granted address (or range) is cut out of the deny list exactly, so granting `127.0.0.1`
 * still denies `127.0.0.2`; `localhost` cuts out `127.0.0.1` and `[::1]`.
 *
 * @param granted User-granted private entries (already parsed).
 * @returns Sorted, de-duplicated deny entries.
 *
 * @example
 * ```ts
 * import { denyNetList, parseNetGrant } from "./net_policy.ts";
 * const deny = denyNetList([parseNetGrant("127.0.0.1:5432")]);
 * console.log(deny.includes("127.0.0.0/8"), deny.includes("127.0.0.2/31")); // false true
 * ```
 */
export function denyNetList(granted: readonly NetGrant[]): string[] {
  const holes: Range[] = [];
  const v6Holes = new Set<string>();
  for (const g of granted) {
    if (g.kind === "ipv4" || g.kind === "cidr") holes.push(cidrRange(g.host));
    if (g.kind === "ipv6") v6Holes.add(g.host);
    if (g.kind === "name" && isPrivateGrant(g)) {
      holes.push(cidrRange("127.0.0.1"));
      v6Holes.add("[::1]");
    }
  }
  let ranges: Range[] = PRIVATE_IPV4_RANGES.map(cidrRange);
  for (const [hs, he] of holes) {
    ranges = ranges.flatMap(([s, e]): Range[] => {
      if (he < s || hs > e) return [[s, e]];
      const out: Range[] = [];
      if (hs > s) out.push([s, hs - 1]);
      if (he < e) out.push([he + 1, e]);
      return out;
    });
  }
  const cidrs = ranges.flatMap(rangeToCidrs);
  const v6 = PRIVATE_IPV6_ADDRESSES.filter((a) => !v6Holes.has(a));
  return [...cidrs, ...v6];
}

function rangeToCidrs([start, end]: Range): string[] {
  const out: string[] = [];
  let s = start;
  while (s <= end) {
    let bits = 32;
    while (bits > 0) {
      const size = 2 ** (33 - bits);
      if (s % size !== 0 || s + size - 1 > end) break;
      bits--;
    }
    out.push(bits === 32 ? `${formatIpv4(s)}/32` : `${formatIpv4(s)}/${bits}`);
    s += 2 ** (32 - bits);
  }
  return out;
}

/**
 * Formats a grant back into Deno's `--allow-net` syntax.
 *
 * @param grant A parsed grant.
 * @returns `host` or `host:port`.
 */
export function formatNetGrant(grant: NetGrant): string {
  return grant.port === undefined ? grant.host : `${grant.host}:${grant.port}`;
}
