/**
 * What a systemd deployment under gVisor adds to its units: the engine's unit and group, the
 * `--isolation gvisor` of serve and pull, the comments that say what the unit trades, and the
 * config file that names the engine's gVisor runtime when it is not the default. Pure.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import { checkRuntimeName } from "../sandbox/_container_hardening.ts";
import type { DeployServeOptions } from "./deploy_options.ts";

/** The engine's unit, which a gVisor deployment's units need running. */
export const ENGINE_UNIT = "docker.service";

/** The group whose members may command the engine through its socket. */
export const ENGINE_GROUP = "docker";

/**
 * ` docker.service` for a gVisor deployment (a dependency to add), else nothing.
 *
 * @param options The deployment's isolation.
 * @returns The text to append to `Requires=` and `After=`.
 * @example
 * ```ts ignore
 * engineUnit({ isolation: "gvisor" }); // " docker.service"
 * ```
 */
export function engineUnit(options: Pick<DeployServeOptions, "isolation">): string {
  return options.isolation === "gvisor" ? ` ${ENGINE_UNIT}` : "";
}

/**
 * The isolation serve and pull run with: gVisor's when asked, else the default (Deno's).
 *
 * @param options The deployment's isolation.
 * @returns The arguments to add to their command lines.
 * @example
 * ```ts ignore
 * isolationArgs({ isolation: "gvisor" }); // ["--isolation", "gvisor"]
 * ```
 */
export function isolationArgs(options: Pick<DeployServeOptions, "isolation">): string[] {
  return options.isolation === "gvisor" ? ["--isolation", "gvisor"] : [];
}

/**
 * What a gVisor unit trades, as comments at its head.
 *
 * @param options The deployment's isolation and runtime name.
 * @param server The server (its config file's path).
 * @returns The comment lines (none without gVisor).
 * @example
 * ```ts ignore
 * gvisorComments({ isolation: "deno" }, server); // []
 * ```
 */
export function gvisorComments(
  options: Pick<DeployServeOptions, "isolation" | "gvisorRuntime">,
  server: ResolvedServer,
): string[] {
  if (options.isolation !== "gvisor") return [];
  const config = systemdGvisorConfig(server, options);
  return [
    "# Servers run under gVisor (--isolation gvisor): serve starts each one's hardened container",
    "# through the host's Docker engine, under its gVisor runtime (runsc registered in",
    '# /etc/docker/daemon.json: see mcp-run\'s README, "Isolation tiers"). The unit joins the',
    `# ${ENGINE_GROUP} group to reach the engine's socket, and whoever commands the engine is as`,
    "# strong as root: the service's own sandbox no longer bounds what mcp-run itself could do;",
    "# the servers' code is bounded by gVisor's kernel, its container and Deno's permissions.",
    "# PrivateUsers= is off (the group must stay the socket's); MemoryMax=, CPUQuota= and",
    "# TasksMax= bound serve itself, each container has its own limits.",
    ...(config === undefined ? [] : [
      `# Before starting: ${config.path} (root's, mode 600) names the gVisor runtime`,
      `# "${options.gvisorRuntime}"; serve and pull read it as a credential (MCP_RUN_CONFIG).`,
    ]),
  ];
}

/**
 * The config file that names the engine's gVisor runtime for a systemd deployment's serve and
 * pull, when `gvisorRuntime` is given under gVisor: where the units read it (a root-owned file,
 * handed to them as the systemd credential `config`), and its text.
 *
 * @param server The server (the file is `/etc/mcp-run/<server>.config.json`).
 * @param options The deployment's isolation and runtime name.
 * @returns The file's path and text, or `undefined` when the units need none (no gVisor, or
 *   the default runtime).
 * @throws {RangeError} When the runtime's name is not a name docker takes.
 * @example
 * ```ts
 * import { systemdGvisorConfig } from "./_systemd_gvisor.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const config = systemdGvisorConfig(server, { isolation: "gvisor", gvisorRuntime: "gvisor" });
 * console.log(config?.path); // "/etc/mcp-run/time.config.json"
 * ```
 */
export function systemdGvisorConfig(
  server: ResolvedServer,
  options: Pick<DeployServeOptions, "isolation" | "gvisorRuntime">,
): { path: string; text: string } | undefined {
  if (options.isolation !== "gvisor" || options.gvisorRuntime === undefined) return undefined;
  const runtime = checkRuntimeName(options.gvisorRuntime);
  return {
    path: `/etc/mcp-run/${server.name}.config.json`,
    text: `${JSON.stringify({ gvisorRuntime: runtime })}\n`,
  };
}

/**
 * The unit lines that hand the runtime's config file to serve or pull: a credential, and
 * `MCP_RUN_CONFIG` pointing at it (systemd expands `%d` to the credentials folder).
 *
 * @param server The server.
 * @param options The deployment's isolation and runtime name.
 * @returns The lines (none when {@linkcode systemdGvisorConfig} gives no file).
 * @throws {RangeError} When the runtime's name is not a name docker takes.
 * @example
 * ```ts ignore
 * gvisorConfigLines(server, { isolation: "gvisor", gvisorRuntime: "gvisor" });
 * // ["LoadCredential=config:/etc/mcp-run/time.config.json", "Environment=MCP_RUN_CONFIG=%d/config"]
 * ```
 */
export function gvisorConfigLines(
  server: ResolvedServer,
  options: Pick<DeployServeOptions, "isolation" | "gvisorRuntime">,
): string[] {
  const config = systemdGvisorConfig(server, options);
  if (config === undefined) return [];
  return [`LoadCredential=config:${config.path}`, "Environment=MCP_RUN_CONFIG=%d/config"];
}
