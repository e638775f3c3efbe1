/**
 * A systemd service unit that runs `mcp-run serve <server>` under systemd's sandbox: a dynamic
 * user, a read-only system, no home, private `/tmp` and devices, no new privileges, a system
 * call filter, and `IPAddressDeny=any` with only the listen side and the granted egress
 * allowed. Pure: it returns the unit's text.
 *
 * @module
 */
import type { ResolvedServer } from "../policy/resolve.ts";
import {
  authArgs,
  deployAuth,
  deployLimits,
  type DeployServeOptions,
  pullArgs,
  serveArgs,
} from "./deploy_options.ts";
import { egressTargets, isLoopbackHost } from "./_egress.ts";
import {
  ENGINE_GROUP,
  ENGINE_UNIT,
  engineUnit,
  gvisorComments,
  gvisorConfigLines,
  isolationArgs,
} from "./_systemd_gvisor.ts";

/** Options for {@linkcode systemdUnit}. */
export interface SystemdUnitOptions extends DeployServeOptions {
  /** Absolute path of the `mcp-run` program (default `/usr/local/bin/mcp-run`). */
  program?: string;
  /**
   * Host path of the bearer token file, handed to the service as a systemd credential (read by
   * systemd as root, so it stays mode 600, and copied to a file the service user owns). Required
   * when `host` is not a loopback address.
   */
  tokenFile?: string;
  /**
   * Addresses or CIDR ranges clients may connect from when `host` is not a loopback address
   * (the reverse proxy, a LAN); `trustProxy` ranges are always allowed. `["any"]` accepts every
   * address, which also opens every egress address: the unit then relies on Deno's own network
   * grants alone.
   */
  clientAddresses?: string[];
  /**
   * Host path of the owner's passphrase file (`mcp-run serve --set-passphrase` writes it), for
   * `auth: "oauth"`: handed to the service as a systemd credential and copied into its state
   * root, so a new passphrase applies on the next restart.
   */
  passphraseFile?: string;
  /** Host file with the server's secrets as `NAME=value` lines (default `/etc/mcp-run/<name>.env`). */
  environmentFile?: string;
  /** `MemoryMax=` (default one process cap per session plus serve's: `5120M` for four). */
  memoryMax?: string;
  /** `CPUQuota=` (default `100%`). */
  cpuQuota?: string;
  /** `TasksMax=` (default 256 per session plus serve's: 1280 for four). */
  tasksMax?: number;
}

const UNIT_VALUE_RE = /^[^\0\n\r]*$/;
const SIZE_RE = /^[0-9]+[KMGT]?$/;
const QUOTA_RE = /^[0-9]+%$/;

/**
 * The unit file (`mcp-run-<server>.service`) that serves a server. It runs as a dynamic user
 * with `StateDirectory=` (OAuth data, the server's home) and `CacheDirectory=` (mcp-run's
 * cache); write grants under the read-only system become `ReadWritePaths=`, grants under
 * `/home`, `/root` or `/run/user` are bound into an otherwise empty home (`ProtectHome=tmpfs`;
 * the dynamic user must be able to read them).
 *
 * Network: `IPAddressDeny=any`, then `IPAddressAllow=` for loopback (the listen address when it
 * is loopback, and systemd-resolved at 127.0.0.53 for name lookups), the client addresses, and
 * every granted destination. Literal addresses pass as they are; a granted host name needs the
 * addresses the operator vouches for (`egressAddresses`) because systemd filters addresses and
 * names resolve only at run time. Deno's own `--allow-net` still checks every name.
 *
 * `MemoryDenyWriteExecute=` is left off: V8's JIT compiler writes and then runs code, so the
 * server would not start.
 *
 * With `isolation: "gvisor"`, serve runs `--isolation gvisor`: each server in a hardened
 * container under the host engine's gVisor runtime. The unit then needs `docker.service` and
 * joins the `docker` group (which can command the engine: its comments say so), without
 * `PrivateUsers=`. A `gvisorRuntime` reaches serve through a config file the unit hands it as
 * a credential (see `deploymentFiles`, which writes it).
 *
 * @param server The resolved server.
 * @param options Serve options, program path, token file, limits.
 * @returns The unit file's text.
 * @throws {RangeError} When a granted host name has no vouched addresses, a non-loopback host
 *   has no token file or client addresses, or a value cannot be written into a unit (the message
 *   names it and what to give).
 *
 * @example
 * ```ts
 * import { systemdUnit } from "./systemd.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const unit = systemdUnit(server, {});
 * console.log(unit.includes("IPAddressDeny=any")); // true
 * ```
 */
export function systemdUnit(server: ResolvedServer, options: SystemdUnitOptions): string {
  const host = options.host ?? "127.0.0.1";
  const loopback = isLoopbackHost(host);
  const program = programPath(options);
  const auth = deployAuth(options, options.tokenFile !== undefined);
  if (!loopback && auth === "none" && !options.public) {
    throw new RangeError(
      `Cannot serve on ${host} without authentication: give a token file (--token-file) or ` +
        `--auth oauth, as serve requires when bound beyond loopback`,
    );
  }
  if (auth === "oauth" && options.passphraseFile === undefined) {
    throw new RangeError(
      `Cannot deploy with --auth oauth without the owner's passphrase: set one with ` +
        `mcp-run serve --set-passphrase and give its file`,
    );
  }
  const clients = [...(options.clientAddresses ?? []), ...(options.trustProxy ?? [])];
  if (!loopback && clients.length === 0) {
    throw new RangeError(
      `Cannot tell which clients may connect to ${host}: give --client-address ADDR (repeatable: ` +
        `the reverse proxy's address, a LAN range such as 192.168.1.0/24, or "any")`,
    );
  }
  const allow = new Set<string>(["localhost"]);
  for (const address of clients) allow.add(address);
  const targets = egressTargets(server, options.egressAddresses);
  const unknown = targets.filter((t) => t.addresses.length === 0).map((t) => t.grant);
  if (unknown.length > 0 && !allow.has("any")) {
    throw new RangeError(
      `Cannot allow egress to ${unknown.map((g) => `"${g}"`).join(", ")} in a systemd unit: ` +
        `IPAddressAllow= takes addresses and names resolve only at run time. Give the addresses ` +
        `you trust for each name with --egress-address NAME=CIDR (repeatable), e.g. ` +
        `--egress-address api.github.com=140.82.112.0/20`,
    );
  }
  for (const target of targets) for (const address of target.addresses) allow.add(address);

  const name = unitName(server.name);
  const state = name;
  const stateDir = `/var/lib/${state}`;
  // systemd ≥ 255 keeps credentials root-owned (0400 plus an ACL for the service user), which
  // serve refuses as not private; each start copies them, as the service user, to files it owns.
  const runtimeDir = `/run/${name}`;
  const token = auth === "token" ? ` --token-file ${runtimeDir}/token` : "";
  // Not escaped: systemd expands the credentials folder when it starts the service.
  const copy = (credential: string, to: string): string =>
    `ExecStartPre=/usr/bin/install -m 600 \${CREDENTIALS_DIRECTORY}/${credential} ${to}`;
  const args = [
    ...serveArgs(server, options, [], stateDir),
    // The pull unit fills the cache: the service itself never reaches a registry.
    "--offline",
    ...isolationArgs(options),
    ...(auth === "token" ? [] : authArgs(auth, options, { tokenFile: "", stateDir })),
  ];
  const lines = [
    `# ${name}.service: mcp-run serve for "${server.name}", written by mcp-run deploy.`,
    "# MemoryDenyWriteExecute= is deliberately absent: V8's JIT writes code and then runs it.",
    ...setupComments(server, name, options),
    ...gvisorComments(options, server),
    "[Unit]",
    `Description=mcp-run serve ${server.name} (sandboxed MCP server over HTTP)`,
    "Wants=network-online.target",
    `Requires=${name}-pull.service${engineUnit(options)}`,
    `After=network-online.target ${name}-pull.service${engineUnit(options)}`,
    "",
    "[Service]",
    "Type=exec",
    `ExecStart=${[program, ...args].map(execArg).join(" ")}${token}`,
    ...(auth === "token"
      ? [
        `LoadCredential=token:${value(options.tokenFile ?? "")}`,
        `RuntimeDirectory=${name}`,
        "RuntimeDirectoryMode=0700",
        copy("token", `${runtimeDir}/token`),
      ]
      : []),
    ...(auth === "oauth"
      ? [
        `LoadCredential=passphrase:${value(options.passphraseFile ?? "")}`,
        // The passphrase is read where serve's state root has it; systemd reloads the
        // credential from the host file on each start, and the copy follows it.
        copy("passphrase", `${stateDir}/passphrase`),
      ]
      : []),
    "Restart=on-failure",
    ...serviceBasics(server, state, options),
    "",
    "# Who and what it may touch",
    ...hardening(options),
    // An empty home when grants must be bound into it, else none at all.
    `ProtectHome=${grantPaths(server).some((l) => l.startsWith("Bind")) ? "tmpfs" : "yes"}`,
    ...grantPaths(server),
    "",
    "# Network: nothing but the listen side and the granted egress. Name lookups: localhost",
    "# admits only a resolver on loopback (systemd-resolved's 127.0.0.53); a resolver elsewhere",
    "# needs its address allowed too (mcp-run deploy --client-address RESOLVER_IP). No egress rate",
    "# cap: systemd has none per unit (tc on the host's interface would cap every program).",
    "IPAddressDeny=any",
    `IPAddressAllow=${[...allow].map(value).join(" ")}`,
    "",
    ...limits(options),
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}

/**
 * The oneshot unit (`mcp-run-<server>-pull.service`) that caches the server's code before the
 * service starts. The service denies every address but its clients and granted egress, so it
 * cannot reach a package registry; this unit can, and runs no server code (`mcp-run pull`
 * only fetches and checks). It runs as the service's user with its state and cache folders and
 * the same sandbox, except the address filter: registry addresses change. The service
 * `Requires=` it, so each start checks the cache first (an intact cache is left as it is).
 *
 * @param server The resolved server.
 * @param options The program path, environment file and limits (as for the service).
 * @returns The unit file's text.
 * @throws {RangeError} When a value cannot be written into a unit.
 *
 * @example
 * ```ts
 * import { systemdPullUnit } from "./systemd.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * console.log(systemdPullUnit(server, {}).includes("Type=oneshot")); // true
 * ```
 */
export function systemdPullUnit(server: ResolvedServer, options: SystemdUnitOptions): string {
  const program = programPath(options);
  const name = unitName(server.name);
  return [
    `# ${name}-pull.service: caches "${server.name}" for ${name}.service, written by mcp-run deploy.`,
    "# It reaches the package registries, which the service cannot; no server code runs here,",
    "# and it does not load the service's EnvironmentFile= (the server's secrets).",
    "[Unit]",
    `Description=mcp-run pull ${server.name} (caches its code for ${name}.service)`,
    "Wants=network-online.target",
    ...(options.isolation === "gvisor" ? [`Requires=${ENGINE_UNIT}`] : []),
    `After=network-online.target${engineUnit(options)}`,
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${
      [program, ...pullArgs(server, options), ...isolationArgs(options)].map(execArg).join(" ")
    }`,
    // No EnvironmentFile=: the server's secrets never reach the pull.
    ...serviceBasics(server, name, options).filter((l) => !l.startsWith("EnvironmentFile=")),
    "",
    "# Who and what it may touch",
    ...hardening(options),
    "ProtectHome=yes",
    "",
    ...limits(options),
    "",
  ].join("\n");
}

/** What the operator must set up before the first start, as unit comments. */
function setupComments(
  server: ResolvedServer,
  name: string,
  options: SystemdUnitOptions,
): string[] {
  const lines: string[] = [];
  const required = server.requiredEnv;
  if (required.length > 0) {
    lines.push(
      `# Before starting: ${environmentFile(server, options)} (root's, mode 600) holds ` +
        `${required.join(", ")} as NAME=value lines; the pull unit does not load it.`,
    );
  }
  if (server.write.length > 0) {
    lines.push(
      `# Write grants: a static user "${name}" (DynamicUser= uses it when it exists) owns ` +
        `${server.write.join(", ")}; a dynamic user could not write a folder it does not own.`,
    );
  }
  return lines;
}

function environmentFile(server: ResolvedServer, options: SystemdUnitOptions): string {
  return value(options.environmentFile ?? `/etc/mcp-run/${server.name}.env`);
}

/** The user, environment and folders the service and its pull unit share. */
function serviceBasics(
  server: ResolvedServer,
  state: string,
  options: SystemdUnitOptions,
): string[] {
  return [
    `EnvironmentFile=-${environmentFile(server, options)}`,
    `Environment=HOME=%S/${state} MCP_RUN_CACHE=%C/${state}`,
    ...gvisorConfigLines(server, options),
    `StateDirectory=${state}`,
    "StateDirectoryMode=0700",
    `CacheDirectory=${state}`,
    "CacheDirectoryMode=0700",
    // One name, so the pull unit and the service are the same dynamic user.
    `User=${state}`,
  ];
}

/**
 * The program a unit runs: `options.program`, by default `/usr/local/bin/mcp-run` (what
 * `tools/install.sh /usr/local` installs).
 *
 * @param options The unit options.
 * @returns The absolute path.
 * @throws {RangeError} When the path is not absolute.
 */
export function programPath(options: Pick<SystemdUnitOptions, "program">): string {
  const program = options.program ?? "/usr/local/bin/mcp-run";
  if (!program.startsWith("/")) {
    throw new RangeError(`Cannot run "${program}" from a unit: give the absolute path of mcp-run`);
  }
  return program;
}

function limits(options: SystemdUnitOptions): string[] {
  const scaled = deployLimits(options.maxSessions);
  return [
    "# Limits: the whole service, each session's server process and serve itself. Past",
    "# MemoryMax= the kernel kills the largest process; OOMPolicy=stop then stops the unit and",
    "# Restart=on-failure starts it again.",
    `MemoryMax=${
      checked(options.memoryMax ?? `${scaled.memoryMb}M`, SIZE_RE, "MemoryMax", "1024M")
    }`,
    "MemorySwapMax=0",
    "OOMPolicy=stop",
    `CPUQuota=${checked(options.cpuQuota ?? "100%", QUOTA_RE, "CPUQuota", "50%")}`,
    `TasksMax=${options.tasksMax ?? scaled.tasks}`,
  ];
}

/** The sandbox both units run in (the service adds its home, paths and address filter). */
function hardening(options: SystemdUnitOptions): string[] {
  const gvisor = options.isolation === "gvisor";
  return [
    "DynamicUser=yes",
    ...(gvisor ? [`SupplementaryGroups=${ENGINE_GROUP}`] : []),
    "UMask=0077",
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "ProtectSystem=strict",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "DevicePolicy=closed",
    ...(gvisor ? [] : ["PrivateUsers=yes"]),
    "PrivateIPC=yes",
    "PrivateMounts=yes",
    "ProtectHostname=yes",
    "ProtectClock=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectProc=invisible",
    "ProcSubset=pid",
    "KeyringMode=private",
    "LockPersonality=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "RestrictNamespaces=yes",
    "RemoveIPC=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @mount @obsolete @debug @cpu-emulation @clock",
    "SystemCallErrorNumber=EPERM",
  ];
}

/**
 * The unit's name for a server: `mcp-run-<server>`.
 *
 * @param serverName The registry name.
 * @returns The name, without `.service`.
 * @throws {RangeError} When the name has characters a unit name cannot carry.
 */
export function unitName(serverName: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(serverName)) {
    throw new RangeError(
      `Cannot name a unit after "${serverName}": use letters, digits, ".", "_" and "-"`,
    );
  }
  return `mcp-run-${serverName}`;
}

const HOME_ROOTS = ["/home", "/root", "/run/user"];

function grantPaths(server: ResolvedServer): string[] {
  const inHome = (p: string) => HOME_ROOTS.some((r) => p === r || p.startsWith(`${r}/`));
  const writable = new Set(server.write);
  const lines: string[] = [];
  for (const path of server.write) {
    lines.push(inHome(path) ? `BindPaths=${value(path)}` : `ReadWritePaths=${value(path)}`);
  }
  for (const path of new Set(server.read)) {
    if (!writable.has(path) && inHome(path)) lines.push(`BindReadOnlyPaths=${value(path)}`);
  }
  return lines;
}

function value(text: string): string {
  if (!UNIT_VALUE_RE.test(text) || /\s/.test(text) || text.includes("%")) {
    throw new RangeError(
      `Cannot write "${text}" into a systemd unit: it holds a space, "%" or a line break`,
    );
  }
  return text;
}

function execArg(arg: string): string {
  if (!UNIT_VALUE_RE.test(arg)) {
    throw new RangeError(`Cannot write "${arg}" into ExecStart=: it spans lines`);
  }
  const escaped = arg.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (/^[A-Za-z0-9_@+=:,./%$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function checked(text: string, re: RegExp, key: string, example: string): string {
  if (!re.test(text)) {
    throw new RangeError(`Cannot use "${text}" as ${key}=: give a value such as ${example}`);
  }
  return text;
}
