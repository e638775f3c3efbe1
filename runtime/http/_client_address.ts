/**
 * Who a client is, for the HTTP bridge's per-client limits: IP addresses and CIDR ranges parsed
 * strictly, trusted reverse proxies compiled once, and the client address taken from
 * `X-Forwarded-For` or `CF-Connecting-IP` only when the peer is one of those proxies.
 *
 * @module
 */
import { parseIpv4, parseIpv6 } from "../policy/net_policy.ts";

/** A parsed IP address: 4 bytes (IPv4, IPv4-mapped IPv6 included) or 16 (IPv6). */
type IpBytes = Uint8Array;

/**
 * Parses an IP address written as a peer address or a forwarding header entry: dotted IPv4,
 * IPv6 (brackets allowed), IPv4-mapped IPv6 (returned as IPv4). Zone ids, shortened IPv4 forms
 * (`127.1`) and leading zeros are refused.
 */
function parseIp(text: string): IpBytes | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (!bare.includes(":")) {
    const v4 = parseIpv4(bare);
    return v4 === undefined ? undefined : ipv4Bytes(v4);
  }
  const groups = parseIpv6(bare);
  if (groups === undefined) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address itself.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return ipv4Bytes(groups[6] * 0x10000 + groups[7]);
  }
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

function ipv4Bytes(value: number): IpBytes {
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

/**
 * The key per-client limits count under: an IPv4 address, or the /64 network of an IPv6
 * address (one host usually holds a whole /64, so counting single IPv6 addresses would give it
 * billions of budgets). Text that is not an IP address is its own key.
 *
 * @param address The client address.
 * @returns The key.
 * @example
 * ```ts
 * clientKey("::ffff:192.0.2.7"); // "192.0.2.7"
 * clientKey("2001:db8:1:2:aaaa::1"); // "2001:db8:1:2::/64"
 * ```
 */
export function clientKey(address: string): string {
  const bytes = parseIp(address);
  if (bytes === undefined) return address;
  if (bytes.length === 4) return formatIp(bytes);
  const network = new Uint8Array(16);
  network.set(bytes.subarray(0, 8));
  return `${formatIp(network.subarray(0, 16)).replace(/(:0){4}$/, "")}::/64`;
}

/** A compiled list of trusted proxies: returns whether a peer address is one of them. */
export type ProxyCheck = (address: string) => boolean;

/**
 * Compiles the trusted reverse proxies, each an IP address or a CIDR range (`10.0.0.0/8`,
 * `::1`, `fd00::/8`).
 *
 * @param entries The addresses and ranges.
 * @returns A check for peer addresses; with no entry, it is always false.
 * @throws {TypeError} If an entry is not an IP address or CIDR range.
 * @example
 * ```ts
 * const trusted = compileTrustedProxies(["127.0.0.1", "10.0.0.0/8"]);
 * trusted("10.1.2.3"); // true
 * trusted("192.0.2.7"); // false
 * ```
 */
export function compileTrustedProxies(entries: readonly string[]): ProxyCheck {
  const ranges: { bytes: IpBytes; bits: number }[] = [];
  for (const entry of entries) {
    const [address, prefix, extra] = entry.trim().split("/");
    const bytes = parseIp(address);
    const max = bytes === undefined ? 0 : bytes.length * 8;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (bytes === undefined || extra !== undefined || !(bits >= 0 && bits <= max)) {
      throw new TypeError(
        `Cannot trust proxy "${entry}": expected an IP address or a CIDR range such as ` +
          `"127.0.0.1" or "10.0.0.0/8"`,
      );
    }
    // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range.
    ranges.push({ bytes, bits: address.includes(":") && bytes.length === 4 ? bits - 96 : bits });
  }
  if (ranges.length === 0) return () => false;
  return (address: string): boolean => {
    const bytes = parseIp(address);
    if (bytes === undefined) return false;
    return ranges.some((range) => {
      if (range.bytes.length !== bytes.length || range.bits < 0) return false;
      const whole = range.bits >> 3;
      for (let i = 0; i < whole; i++) if (range.bytes[i] !== bytes[i]) return false;
      const rest = range.bits & 7;
      if (rest === 0) return true;
      const mask = (0xff << (8 - rest)) & 0xff;
      return (range.bytes[whole] & mask) === (bytes[whole] & mask);
    });
  };
}

/**
 * Finds a trusted proxy range too wide to be one's own proxies: an IPv4 range wider than a /8,
 * or an IPv6 range wider than a /32 (a unique local range, inside `fc00::/7`, may be as wide as
 * that). Trusting `0.0.0.0/0` would let any client name itself in `X-Forwarded-For`, escaping
 * its limits and pinning sign-in lockouts on others. Entries that do not parse are left to
 * {@linkcode compileTrustedProxies}. Pure.
 *
 * @param entries The addresses and ranges.
 * @returns The first entry too wide, or `undefined`.
 * @example
 * ```ts
 * tooWideProxyRange(["127.0.0.1", "10.0.0.0/8"]); // undefined
 * tooWideProxyRange(["0.0.0.0/0"]); // "0.0.0.0/0"
 * ```
 */
export function tooWideProxyRange(entries: readonly string[]): string | undefined {
  for (const entry of entries) {
    const [address, prefix] = entry.trim().split("/");
    const bytes = parseIp(address);
    if (bytes === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) continue;
    let bits = Number(prefix);
    if (address.includes(":") && bytes.length === 4) bits -= 96; // IPv4-mapped
    const uniqueLocal = bytes.length === 16 && (bytes[0] & 0xfe) === 0xfc;
    const narrowest = bytes.length === 4 ? 8 : uniqueLocal ? 7 : 32;
    if (bits < narrowest) return entry;
  }
  return undefined;
}

/** An address in a forwarding header: bare, bracketed IPv6, or with a port. */
function forwardedAddress(entry: string): string | undefined {
  const text = entry.trim();
  if (parseIp(text) !== undefined) return text;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed !== null && parseIp(bracketed[1]) !== undefined) return bracketed[1];
  const v4Port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(text);
  if (v4Port !== null && parseIp(v4Port[1]) !== undefined) return v4Port[1];
  return undefined;
}

/**
 * The address of the client behind a request. From a trusted proxy: the right-most
 * `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left are whatever
 * the client sent, so they are never used), else `CF-Connecting-IP`; an entry that is not an IP
 * address leaves the peer as the client. From any other peer: the peer, whatever it sent.
 *
 * @param peer The address of the TCP peer.
 * @param headers The request headers.
 * @param trusted The trusted proxies.
 * @returns The client address.
 * @example
 * ```ts
 * const trusted = compileTrustedProxies(["127.0.0.1"]);
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.9, 198.51.100.4" });
 * clientAddress("127.0.0.1", headers, trusted); // "198.51.100.4"
 * clientAddress("192.0.2.7", headers, trusted); // "192.0.2.7"
 * ```
 */
export function clientAddress(peer: string, headers: Headers, trusted: ProxyCheck): string {
  if (!trusted(peer)) return peer;
  const forwarded = headers.get("x-forwarded-for");
  if (forwarded !== null) {
    const entries = forwarded.split(",");
    for (let i = entries.length - 1; i >= 0; i--) {
      const address = forwardedAddress(entries[i]);
      if (address === undefined) return peer;
      if (!trusted(address)) return address;
      if (i === 0) return address; // every hop is trusted: the first one is the client
    }
  }
  const cloudflare = headers.get("cf-connecting-ip");
  if (cloudflare !== null) return forwardedAddress(cloudflare) ?? peer;
  return peer;
}
