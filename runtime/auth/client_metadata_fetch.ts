// Fetching a client ID metadata document without letting the client ID steer the server into
// its own network (SSRF): https only, public addresses only, pinned, small, quick.
import { parseIpv4, parseIpv6 } from "../policy/net_policy.ts";
import { http1Get } from "./_http1_get.ts";
import { MAX_CLIENT_METADATA_BYTES } from "./registration.ts";

/** Options for {@link fetchClientMetadata}. */
export interface FetchClientMetadataOptions {
  /** The whole exchange's time limit, in ms (default 5000). */
  timeoutMs?: number;
  /** The largest document accepted, in bytes (default {@linkcode MAX_CLIENT_METADATA_BYTES}). */
  maxBytes?: number;
  /**
   * Resolves a host name to its addresses (default: `Deno.resolveDns`, A and AAAA). Every
   * address is checked, so a name with one private address is refused as a whole.
   */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Opens the TCP connection to a checked address (default `Deno.connect`). */
  connect?: (address: string, port: number) => Promise<Deno.TcpConn>;
  /** Certificate authorities to trust, PEM (default: the system's). */
  caCerts?: string[];
}

/**
 * Fetch a client ID metadata document. The URL must be https; its host name is resolved
 * once and refused if any address is loopback, private, link-local, unique-local, shared,
 * multicast, documentation or otherwise reserved (IPv4, IPv6, IPv4-mapped and NAT64 alike);
 * the TCP connection then goes to the checked address, with TLS verified for the host name, so
 * a second lookup cannot swap in another address. No credentials or cookies are sent,
 * redirects are not followed, the answer must be 200 and at most `maxBytes`.
 *
 * Requires `--allow-net` for the document's host (and name resolution).
 *
 * @param url The client ID, an https URL.
 * @param options Time limit, size cap, resolver, connector and trusted authorities.
 * @returns The document's text.
 * @throws {Error} If the URL is not https, its host resolves to a refused address or to
 *   none, or the exchange fails, times out, or answers other than 200 within the size cap.
 * @example
 * ```ts ignore
 * import { fetchClientMetadata } from "./client_metadata_fetch.ts";
 * const text = await fetchClientMetadata(new URL("https://claude.ai/oauth/mcp-oauth-client-metadata"));
 * ```
 */
export async function fetchClientMetadata(
  url: URL,
  options: FetchClientMetadataOptions = {},
): Promise<string> {
  if (url.protocol !== "https:") {
    throw new Error(`Cannot fetch "${url.href}": client metadata documents must be https`);
  }
  const signal = AbortSignal.timeout(options.timeoutMs ?? 5000);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const literal = isIpAddress(host);
  const addresses = literal
    ? [host]
    : await (options.resolve ?? ((name: string) => resolveAll(name, signal)))(host);
  if (addresses.length === 0) {
    throw new Error(`Cannot fetch "${url.href}": "${host}" has no address`);
  }
  for (const address of addresses) {
    if (!isPublicAddress(address)) {
      throw new Error(
        `Cannot fetch "${url.href}": "${host}" resolves to ${address}, which is not a public address; client metadata documents must be on the public internet`,
      );
    }
  }
  if (url.port !== "" && url.port !== "443") {
    throw new Error(`Cannot fetch "${url.href}": client metadata documents must be on port 443`);
  }
  const port = 443;
  const tcp = await connectBefore(signal, addresses[0], port, options.connect);
  let tls: Deno.TlsConn | undefined;
  try {
    tls = await Deno.startTls(tcp, { hostname: host, caCerts: options.caCerts });
    await tls.handshake(); // the certificate is checked now, not at the first read
  } catch (e) {
    try {
      (tls ?? tcp).close();
    } catch { /* already closed */ }
    throw new Error(`Cannot fetch "${url.href}": TLS failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const conn = tls;
  try {
    return await http1Get(conn, url, {
      maxBodyBytes: options.maxBytes ?? MAX_CLIENT_METADATA_BYTES,
      signal,
    });
  } catch (e) {
    throw new Error(`Cannot fetch "${url.href}": ${(e as Error).message}`, { cause: e });
  }
}

async function connectBefore(
  signal: AbortSignal,
  hostname: string,
  port: number,
  connect = (address: string, port: number) => Deno.connect({ hostname: address, port }),
): Promise<Deno.TcpConn> {
  const pending = connect(hostname, port);
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error(`connecting to ${hostname} timed out`));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([pending, aborted]);
  } catch (e) {
    pending.then((c) => c.close(), () => {});
    throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

async function resolveAll(hostname: string, signal: AbortSignal): Promise<string[]> {
  const settle = async (type: "A" | "AAAA"): Promise<string[]> => {
    try {
      return await Deno.resolveDns(hostname, type, { signal });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return [];
      throw e;
    }
  };
  const [v4, v6] = await Promise.all([settle("A"), settle("AAAA")]);
  return [...v4, ...v6];
}

function isIpAddress(host: string): boolean {
  return parseIpv4(host) !== undefined || parseIpv6(host) !== undefined;
}

/**
 * Whether an IP address is a public unicast address a server may fetch from: not loopback,
 * private (RFC 1918), shared (100.64/10), link-local, unique-local (fc00::/7), multicast,
 * documentation, benchmarking, 6to4/Teredo, or otherwise reserved. IPv4-mapped (::ffff:a.b.c.d)
 * and NAT64 (64:ff9b::/96) addresses are judged by their IPv4 address. Anything that does not
 * parse as an address is not public.
 *
 * @param address An IPv4 or IPv6 address (brackets and a zone allowed).
 * @returns True only for a public unicast address.
 * @example
 * ```ts
 * import { isPublicAddress } from "./client_metadata_fetch.ts";
 * console.log(isPublicAddress("1.1.1.1"), isPublicAddress("::ffff:127.0.0.1")); // true false
 * ```
 */
export function isPublicAddress(address: string): boolean {
  const text = address.trim().replace(/^\[|\]$/g, "");
  if (text.includes("%")) return false; // a zone means a link-local scope
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return isPublicV4(ipv4Bytes(v4));
  const groups = parseIpv6(text);
  if (groups === undefined) return false;
  const v6 = Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
  const zeros = (from: number, to: number) => v6.slice(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64 well-known prefix): the IPv4 address.
  if (zeros(0, 10) && v6[10] === 0xff && v6[11] === 0xff) return isPublicV4(v6.slice(12));
  if (v6[0] === 0 && v6[1] === 0x64 && v6[2] === 0xff && v6[3] === 0x9b && zeros(4, 12)) {
    return isPublicV4(v6.slice(12));
  }
  if ((v6[0] & 0xe0) !== 0x20) return false; // only 2000::/3 is global unicast
  const word = (i: number) => (v6[i] << 8) | v6[i + 1];
  if (word(0) === 0x2001 && v6[2] < 0x02) return false; // 2001::/23 IETF protocol assignments
  if (word(0) === 0x2001 && word(2) === 0x0db8) return false; // documentation
  if (word(0) === 0x2002) return false; // 6to4
  if (word(0) === 0x3fff && v6[2] < 0x10) return false; // documentation (3fff::/20)
  return true;
}

function isPublicV4(b: Uint8Array | number[]): boolean {
  const [a, c] = [b[0], b[1]];
  const in24 = (x: number, y: number, z: number) => a === x && c === y && b[2] === z;
  return !(
    a === 0 || a === 10 || a === 127 || a >= 224 || // this, private, loopback, multicast+reserved
    (a === 100 && c >= 64 && c < 128) || // shared address space
    (a === 169 && c === 254) || // link-local
    (a === 172 && c >= 16 && c < 32) ||
    (a === 192 && c === 168) ||
    (a === 198 && (c === 18 || c === 19)) || // benchmarking
    in24(192, 0, 0) || in24(192, 0, 2) || in24(192, 88, 99) || // IETF, TEST-NET-1, 6to4 relay
    in24(198, 51, 100) || in24(203, 0, 113) // TEST-NET-2 and -3
  );
}

function ipv4Bytes(value: number): number[] {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
}
