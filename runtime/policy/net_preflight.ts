/**
 * The pre-launch check of granted host names: each one is resolved, and a name that leads to a
 * private address the user did not grant is refused before the server starts.
 *
 * Deno checks `--deny-net` against the address a name resolves to, but only for the forms it
 * can express: IPv4 ranges and single IPv6 addresses. A name that resolves to an IPv4-mapped
 * IPv6 address (`::ffff:127.0.0.1`), to a unique-local (`fd00::/8`) or link-local (`fe80::/10`)
 * IPv6 address slips through it. This check closes that gap for names as they resolve at launch;
 * a name whose answer changes afterwards (DNS rebinding) is still caught by Deno's deny list for
 * IPv4 and `[::1]`, but not for the IPv6 forms above.
 *
 * @module
 */
import { formatIpv4, isPrivateIpv6, parseIpv4, parseIpv6, parseNetGrant } from "./net_policy.ts";
import { GrantError, type ResolvedServer } from "./resolve.ts";

/** Options for {@linkcode checkHostAddresses}. */
export interface CheckHostAddressesOptions {
  /**
   * Resolves a name to its addresses. Default: the system resolver (`getaddrinfo`, so
   * `/etc/hosts` counts), through `node:dns`.
   */
  lookup?: (host: string) => Promise<string[]>;
  /** Longest wait for one name, in milliseconds (default 3000). */
  timeoutMs?: number;
}

/**
 * Explains why a server may not reach an address, or returns `undefined` when it may.
 *
 * An IPv4 address is refused when it lies in one of the server's `--deny-net` ranges. An IPv6
 * address is refused when it is in the deny list itself (`[::1]`, `[::]`), when it embeds an
 * IPv4 address that would be refused (IPv4-mapped `::ffff:0:0/96`, IPv4-compatible `::/96`,
 * NAT64 `64:ff9b::/96`), or when it is unique-local or link-local and the user did not grant
 * that exact address.
 *
 * @param address An IPv4 or IPv6 address as a resolver returns it (no brackets).
 * @param server The server's grants and deny list.
 * @returns Why the address is private, or `undefined`.
 *
 * @example
 * ```ts
 * import { privateAddressReason } from "./net_preflight.ts";
 * const server = { net: [], denyNet: ["127.0.0.0/8", "[::1]"] };
 * console.log(privateAddressReason("::ffff:127.0.0.1", server)); // "it maps to 127.0.0.1, a private or loopback address"
 * console.log(privateAddressReason("93.184.215.14", server)); // undefined
 * ```
 */
export function privateAddressReason(
  address: string,
  server: Pick<ResolvedServer, "net" | "denyNet">,
): string | undefined {
  const v4 = parseIpv4(address);
  if (v4 !== undefined) {
    return deniedIpv4(v4, server.denyNet) ? "it is a private or loopback address" : undefined;
  }
  const groups = parseIpv6(address.replace(/%.*$/, ""));
  if (!groups) return undefined;
  const embedded = embeddedIpv4(groups);
  if (embedded !== undefined) {
    if (!deniedIpv4(embedded, server.denyNet)) return undefined;
    return `it maps to ${formatIpv4(embedded)}, a private or loopback address`;
  }
  const zero = groups.slice(0, 7).every((g) => g === 0);
  if (zero && groups[7] <= 1) {
    return server.denyNet.includes(groups[7] === 1 ? "[::1]" : "[::]")
      ? "it is a loopback or unspecified address"
      : undefined;
  }
  if (!isPrivateIpv6(groups)) return undefined;
  const granted = server.net.some((entry) => {
    const inner = /^\[([^\]]+)\]/.exec(entry)?.[1];
    const other = inner === undefined ? undefined : parseIpv6(inner);
    return other !== undefined && other.every((g, i) => g === groups[i]);
  });
  return granted ? undefined : "it is a unique-local or link-local IPv6 address";
}

/**
 * Resolves every host name the server may reach and refuses the launch when one leads to a
 * private address the user did not grant (see {@linkcode privateAddressReason}).
 *
 * Wildcard grants cannot be resolved and are left to Deno's deny list; `localhost` is granted
 * only by the user. A name that does not resolve (offline, unknown) or not within the timeout
 * is skipped: the server could not reach it either. Requires `--allow-net` (name resolution).
 *
 * @param server A resolved server.
 * @param options The resolver and its timeout.
 * @throws {GrantError} Naming the host and the address it resolves to.
 *
 * @example
 * ```ts ignore
 * import { checkHostAddresses } from "jsr:@sandboxed/mcp-run";
 * await checkHostAddresses(server); // throws when a granted name resolves to 127.0.0.1
 * ```
 */
export async function checkHostAddresses(
  server: ResolvedServer,
  options: CheckHostAddressesOptions = {},
): Promise<void> {
  const resolve = options.lookup ?? systemLookup;
  const timeoutMs = options.timeoutMs ?? 3000;
  const names = new Set<string>();
  for (const entry of server.net) {
    const grant = parseNetGrant(entry);
    if (grant.kind !== "name") continue;
    if (grant.host === "localhost" || grant.host.endsWith(".localhost")) continue;
    names.add(grant.host);
  }
  const answers = await Promise.all([...names].map(async (name) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const addresses = await Promise.race([
        resolve(name),
        new Promise<string[]>((r) => timer = setTimeout(() => r([]), timeoutMs)),
      ]);
      return [name, addresses] as const;
    } catch {
      return [name, []] as const;
    } finally {
      clearTimeout(timer);
    }
  }));
  for (const [name, addresses] of answers) {
    for (const address of addresses) {
      const reason = privateAddressReason(address, server);
      if (!reason) continue;
      throw new GrantError(
        "permissions.net",
        `Cannot grant network access to "${name}": it resolves to ${address} and ${reason}. ` +
          "Private addresses are reached only when you grant the address itself (-p HOST=ADDRESS).",
      );
    }
  }
}

async function systemLookup(host: string): Promise<string[]> {
  // Loaded on use: most servers grant no host name, and node:dns costs every start to load.
  const { lookup } = await import("node:dns/promises");
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

function deniedIpv4(address: number, denyNet: readonly string[]): boolean {
  return denyNet.some((entry) => {
    const [base, bits = "32"] = entry.split("/");
    const start = parseIpv4(base);
    if (start === undefined) return false;
    const size = 2 ** (32 - Number(bits));
    return address >= start && address < start + size;
  });
}

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address. */
function embeddedIpv4(groups: number[]): number | undefined {
  const low = groups[6] * 65536 + groups[7];
  const first5Zero = groups.slice(0, 5).every((g) => g === 0);
  if (first5Zero && groups[5] === 0xffff) return low;
  if (first5Zero && groups[5] === 0 && low > 1) return low;
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) {
    return low;
  }
  return undefined;
}
