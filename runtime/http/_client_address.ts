/**
 * Who a client is, for the HTTP bridge's per-client limits: IP addresses and CIDR ranges parsed
 * strictly, trusted reverse proxies compiled once, and the client address taken from
 * `X-Forwarded-For` or `CF-Connecting-IP` only when the peer is one of those proxies.
 *
 * @module
 */

/** A parsed IP address: 4 bytes (IPv4, IPv4-mapped IPv6 included) or 16 (IPv6). */
type IpBytes = Uint8Array;

function parseIpv4(text: string): IpBytes | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i])) return undefined;
    const value = Number(parts[i]);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): IpBytes | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
        out.push(parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1 && head.length !== 8) return undefined;
  if (halves.length === 2 && head.length + tail.length > 7) return undefined;
  const all = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 address itself.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.slice(12);
  }
  return bytes;
}

/**
 * Parses an IP address written as a peer address or a forwarding header entry: dotted IPv4,
 * IPv6 (brackets allowed), IPv4-mapped IPv6 (returned as IPv4). Zone ids, shortened IPv4 forms
 * (`127.1`) and leading zeros are refused.
 */
function parseIp(text: string): IpBytes | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  return bare.includes(":") ? parseIpv6(bare) : parseIpv4(bare);
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
