/**
 * The egress a server's network grants need, as address-based filters see it: literal
 * addresses and ranges pass as they are, host names through the addresses the operator
 * vouches for (names resolve at run time, so nothing here resolves them). Pure.
 *
 * @module
 */
import { parseIpv4, parseNetGrant } from "../policy/net_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

/** One granted destination. */
export interface EgressTarget {
  /** The grant as the manifest resolved it. */
  grant: string;
  /** Addresses or CIDR ranges, when known (literal, or vouched for); empty for an unknown name. */
  addresses: string[];
  /** Whether the grant names a host (resolved at run time) rather than an address. */
  byName: boolean;
  /** The port, when the grant is limited to one. */
  port?: number;
}

const CIDR_RE = /^[0-9a-fA-F:.]+(\/[0-9]{1,3})?$/;

/**
 * The destinations of a server's network grants.
 *
 * @param server The server (its `net` grants).
 * @param vouched Addresses by host name (`DeployServeOptions.egressAddresses`).
 * @returns One target per grant, in grant order.
 * @throws {TypeError} When a grant cannot be parsed.
 * @throws {RangeError} When a vouched address is not an address or CIDR range.
 */
export function egressTargets(
  server: Pick<ResolvedServer, "net">,
  vouched: Record<string, string[]> = {},
): EgressTarget[] {
  return server.net.map((entry) => {
    const grant = parseNetGrant(entry);
    const host = grant.host.replace(/^\[|\]$/g, "");
    const literal = grant.kind === "ipv4" || grant.kind === "cidr" || grant.kind === "ipv6";
    const addresses = literal ? [host] : vouched[grant.host] ?? [];
    for (const address of addresses) {
      if (!CIDR_RE.test(address)) {
        throw new RangeError(
          `Cannot allow egress to "${address}" for "${grant.host}": give an IP address or ` +
            `CIDR range such as 140.82.112.0/20`,
        );
      }
    }
    return {
      grant: entry,
      addresses,
      byName: !literal,
      ...(grant.port !== undefined ? { port: grant.port } : {}),
    };
  });
}

/**
 * Whether a bind address is loopback (`localhost`, `127.0.0.0/8`, `::1`), as serve decides it
 * (kept here so that writing a deployment does not load the HTTP bridge).
 *
 * @param host The address.
 * @returns True for loopback.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  const value = parseIpv4(bare);
  return value !== undefined && value >>> 24 === 127;
}
