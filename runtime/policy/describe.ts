/**
 * Plain-language descriptions of what a resolved server may do.
 *
 * @module
 */
import { isContainerOnly } from "./package_kind.ts";
import { isPrivateGrant, parseNetGrant } from "./net_policy.ts";
import type { ResolvedServer } from "./resolve.ts";

/**
 * Describes a server's grants in plain words, one line per kind, most dangerous first.
 *
 * @param server A resolved server.
 * @returns Lines such as `Read files in: /home/ada/notes` or `No network access`.
 *
 * @example
 * ```ts
 * import { describePermissions } from "./describe.ts";
 * const lines = describePermissions({
 *   name: "t", specifier: "npm:x@1.0.0", args: [], read: ["/data"], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [], ffi: [],
 *   params: {},
 * });
 * console.log(lines[0]); // "Read files in: /data"
 * ```
 */
export function describePermissions(server: ResolvedServer): string[] {
  const list = (items: string[]) => items.join(", ");
  const lines: string[] = [];
  if (isContainerOnly(server.specifier)) {
    lines.push(
      server.net.length
        ? "Run in a hardened container; reach the network only through mcp-run's egress proxy"
        : "Run in a hardened container with no network",
    );
  }
  if (server.run.length) {
    lines.push(`START PROGRAMS (trusted, in a container): ${list(server.run)}`);
  }
  if (server.ffi.length) lines.push(`LOAD NATIVE LIBRARIES (trusted): ${list(server.ffi)}`);
  lines.push(server.read.length ? `Read files in: ${list(server.read)}` : "Read no files");
  lines.push(server.write.length ? `Write files in: ${list(server.write)}` : "Write no files");
  if (server.net.length) {
    lines.push(`Reach network hosts: ${list(server.net)}`);
  } else {
    lines.push("No network access");
  }
  const plain = server.env.filter((n) => !server.secrets.includes(n));
  if (plain.length) lines.push(`Read environment variables: ${list(plain)}`);
  if (server.secrets.length) lines.push(`Receive secrets: ${list(server.secrets)}`);
  if (!server.env.length) lines.push("Read no environment variables");
  if (server.sys.length) lines.push(`Read system information: ${list(server.sys)}`);
  const granted = server.net.filter((h) => isPrivateGrant(parseNetGrant(h)));
  lines.push(
    granted.length
      ? `Private and loopback addresses blocked, except ${list(granted)}`
      : "Private and loopback addresses blocked",
  );
  return lines;
}
