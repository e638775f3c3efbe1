/**
 * Grant rules shared by launch-time resolution and the manifest check: where a private network
 * address may come from, when `run`/`ffi` may be granted, and when `net` may be under gVisor.
 *
 * @module
 */
import type { Manifest } from "./manifest.ts";
import { isPrivateGrant, type NetGrant, parseNetGrant } from "./net_policy.ts";
import { GrantError } from "./grant_error.ts";
import { packageKind } from "./package_kind.ts";

/**
 * Where a network entry's value came from: the user (`-p`), a parameter's default, or the
 * manifest's own text.
 */
export type NetSource = { kind: "user" } | { kind: "default"; param: string } | {
  kind: "manifest";
};

/**
 * Parses one network entry; a private or loopback address is refused unless the user gave it
 * (through a host parameter).
 */
export function netGrant(value: string, field: string, source: NetSource): NetGrant {
  let grant: NetGrant;
  try {
    grant = parseNetGrant(value);
  } catch (error) {
    throw new GrantError(field, (error as Error).message, { cause: error });
  }
  if (isPrivateGrant(grant) && source.kind === "manifest") {
    throw new GrantError(
      field,
      `Cannot grant network access to "${value}" from a manifest: private and loopback ` +
        "addresses are granted only by the user through a host parameter",
    );
  }
  if (isPrivateGrant(grant) && source.kind === "default") {
    throw new GrantError(
      field,
      `Cannot grant network access to "${value}" from the default of parameter ` +
        `"${source.param}": private and loopback addresses are granted only by the user. Pass ` +
        `-p ${source.param}=${value} to grant it yourself.`,
    );
  }
  return grant;
}

/** Why a manifest's `run` or `ffi` list is refused under this isolation, if it is. */
export function runFfiRefusal(
  manifest: Manifest,
  kind: "run" | "ffi",
  isolation: "deno" | "docker" | "gvisor",
  trust: boolean,
): GrantError | undefined {
  const list = manifest.permissions[kind];
  if (list.length === 0) return undefined;
  const what = kind === "run" ? "start programs" : "load native libraries";
  if (isolation === "deno") {
    return new GrantError(
      `permissions.${kind}`,
      `Cannot grant ${kind} access in native mode: a server that can ${what} escapes Deno's ` +
        "sandbox. Run it in a container with --isolation docker --trust (or --isolation gvisor " +
        "--trust) if you trust it.",
    );
  }
  if (!trust) {
    return new GrantError(
      `permissions.${kind}`,
      `"${manifest.name}" asks to ${what} (${list.join(", ")}): pass --trust to allow it ` +
        "inside the container",
    );
  }
  return undefined;
}

/**
 * Refuses an `oci:` server with `net` grants when its network would go through a forwarder
 * inside its container (`egressInside`, gVisor): an arbitrary image holds no runtime mcp-run can
 * run the forwarder with. Other servers pass.
 *
 * @param server The server.
 * @throws {GrantError} `permissions.net` for an `oci:` server with `net` grants.
 *
 * @example
 * ```ts
 * import { refuseInsideEgress } from "./_grant_rules.ts";
 * refuseInsideEgress({ name: "t", specifier: "pypi:t@1.0", net: ["a.test"] }); // passes
 * ```
 */
export function refuseInsideEgress(
  server: { name: string; specifier: string; net: readonly string[] },
): void {
  if (packageKind(server.specifier) === "oci" && server.net.length > 0) {
    throw new GrantError(
      "permissions.net",
      `Cannot give "${server.name}" (${server.specifier}) network access under gvisor ` +
        `isolation: its network goes through mcp-run's egress proxy from inside its own ` +
        `container, and an OCI image has no runtime mcp-run can run the proxy's forwarder with. ` +
        `Run it with --isolation docker (the proxy's sidecar serves it there), or without ` +
        `network grants (granted: ${server.net.join(", ")})`,
    );
  }
}
