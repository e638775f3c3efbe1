/**
 * A Docker Compose file that runs `mcp-run serve <server>` in a container with exactly the
 * hardening of mcp-run's docker mode: the compose keys are translated from the same lock-down
 * flags `docker run` gets, so the two cannot drift apart. Pure: it returns the file's text.
 *
 * @module
 */
import { dirname } from "node:path";
import { stringify } from "yaml";
import { parseIpv4, parseIpv6 } from "../policy/net_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { bindMount, lockdownArgs } from "../sandbox/_container_hardening.ts";
import { checkImageReference, DOCKER_LIMITS, type DockerLimits } from "../sandbox/docker_checks.ts";
import { CONTAINER_USER, DOCKER_LABEL } from "../sandbox/docker_names.ts";
import {
  authArgs,
  DEFAULT_SERVE_PORT,
  deployAuth,
  deployLimits,
  type DeployServeOptions,
  pullArgs,
  serveArgs,
} from "./deploy_options.ts";

/** Options for {@linkcode composeFile}. */
export interface ComposeFileOptions extends DeployServeOptions, Partial<DockerLimits> {
  /** A pinned image holding `mcp-run` and Deno (a version tag or a digest, never `latest`). */
  image: string;
  /**
   * Host path of the bearer token file, mounted as a compose secret (serve binds `0.0.0.0`):
   * required unless `auth` is `oauth` or `public` is set. Outside swarm a secret is the file
   * itself, bind-mounted with its owner and mode: the container's user (`user`) must be able to
   * read it (`mcp-run deploy` points it at a copy in the deployment's folder, made that user's).
   */
  tokenFile?: string;
  /**
   * Host path of the owner's passphrase file, for `auth: "oauth"`: mounted as a compose secret
   * at `/state/passphrase`, where serve's state root has it.
   */
  passphraseFile?: string;
  /** Host address the port is published on (default `127.0.0.1`, for a proxy or tunnel). */
  publishAddress?: string;
  /** `uid:gid` the container runs as (default mcp-run's container user); root is refused. */
  user?: string;
}

/** Where the state volume (OAuth data, mcp-run's cache) is mounted in the container. */
export const COMPOSE_STATE_DIR = "/state";

const TOKEN_SECRET = "mcp-run-token";
const PASSPHRASE_SECRET = "mcp-run-passphrase";

const VALUE_FLAGS = new Set([
  "--cap-drop",
  "--security-opt",
  "--tmpfs",
  "--user",
  "--pids-limit",
  "--memory",
  "--memory-swap",
  "--cpus",
  "--ulimit",
]);

/**
 * The compose file (`compose.yaml`) that serves a server. A `pull` service (same image and
 * hardening, the state volume only) caches the server; then the `mcp-run` service, which
 * `depends_on` it completing, runs `mcp-run serve --offline` bound to `0.0.0.0` inside the container with its token from a compose secret
 * (or, with OAuth, the owner's passphrase as a secret in its state root; or `--public`),
 * published on `publishAddress` only. Its hardening is mcp-run's docker-mode lock-down
 * (read-only root, all capabilities dropped, no new privileges, a non-root user, process,
 * memory, CPU and file limits, a `noexec` tmpfs at `/tmp`). A named volume at `/state` holds
 * OAuth data and the cache; grants are bind mounts at the same paths (reads read-only). The
 * server's secrets pass by name from the environment `docker compose` runs in: no value is ever
 * written into the file, and every `$` is doubled so compose substitutes nothing. Egress is not filtered by compose: Deno's network grants are.
 * `isolation: "gvisor"` is refused: the engine's gVisor runtime, registered with
 * `--network=none` as run and serve need it, would leave the service no network to listen on.
 *
 * @param server The resolved server.
 * @param options Image, token file, serve options, limits.
 * @returns The YAML text.
 * @throws {RangeError} When the image is not pinned, the user is root, a limit, mount or option
 *   cannot be written safely, there is no authentication (no token, OAuth or `public`),
 *   `isolation` is `gvisor`, or the hardening gained a flag this translation does not know.
 *
 * @example
 * ```ts
 * import { composeFile } from "./compose.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const text = composeFile(server, { image: "example/mcp-run:0.1.0", tokenFile: "/etc/token" });
 * console.log(text.includes("read_only: true")); // true
 * ```
 */
export function composeFile(server: ResolvedServer, options: ComposeFileOptions): string {
  if (options.isolation === "gvisor") throw new RangeError(COMPOSE_GVISOR_REFUSAL);
  const port = options.port ?? DEFAULT_SERVE_PORT;
  const scaled = deployLimits(options.maxSessions);
  const limits: DockerLimits = {
    // The whole container: each session's server process and serve itself.
    memory: options.memory ?? `${scaled.memoryMb}m`,
    cpus: options.cpus ?? DOCKER_LIMITS.cpus,
    pidsLimit: options.pidsLimit ?? scaled.tasks,
    tmpfsSize: options.tmpfsSize ?? DOCKER_LIMITS.tmpfsSize,
    nofile: options.nofile ?? DOCKER_LIMITS.nofile,
  };
  const publish = options.publishAddress ?? "127.0.0.1";
  if (parseIpv4(publish) === undefined && parseIpv6(publish) === undefined) {
    throw new RangeError(`Cannot publish on "${publish}": give an IP address such as 127.0.0.1`);
  }
  const auth = deployAuth(options, options.tokenFile !== undefined);
  if (auth === "none" && !options.public) {
    throw new RangeError(
      `Cannot serve from a container without authentication: give a token file ` +
        `(--token-file), --auth oauth, or --public for a server with a tool allowlist`,
    );
  }
  const secrets: Record<string, { file: string }> = {};
  const serviceSecrets: unknown[] = [];
  const secret = (name: string, file: string | undefined, what: string, target?: string) => {
    if (file === undefined || file === "" || /[\0\n\r]/.test(file)) {
      throw new RangeError(`Cannot use "${file ?? ""}" as ${what}: give the file's path`);
    }
    secrets[name] = { file };
    serviceSecrets.push(target === undefined ? name : { source: name, target });
  };
  if (auth === "token") secret(TOKEN_SECRET, options.tokenFile, "the token file");
  if (auth === "oauth") {
    // serve reads the passphrase from its state root: the secret is mounted there.
    secret(
      PASSPHRASE_SECRET,
      options.passphraseFile,
      "the passphrase file (mcp-run serve --set-passphrase writes it)",
      `${COMPOSE_STATE_DIR}/passphrase`,
    );
  }
  const command = serveArgs(
    server,
    { ...options, host: "0.0.0.0", port },
    [
      // The pull service fills the cache first: serve never reaches a registry.
      "--offline",
      ...authArgs(auth, options, {
        tokenFile: `/run/secrets/${TOKEN_SECRET}`,
        stateDir: COMPOSE_STATE_DIR,
      }),
    ],
  );
  const hardening = composeHardening(lockdownArgs(options.user ?? CONTAINER_USER, limits));
  const manifest = options.serveTarget !== undefined ? [manifestVolume(options.serveTarget)] : [];
  const pull: Record<string, unknown> = {
    image: checkImageReference(options.image),
    entrypoint: ["mcp-run"],
    command: pullArgs(server, options),
    ...hardening,
    labels: { [DOCKER_LABEL]: "1", [`${DOCKER_LABEL}.server`]: server.name },
    environment: [`HOME=${COMPOSE_STATE_DIR}`, `MCP_RUN_CACHE=${COMPOSE_STATE_DIR}/cache`],
    volumes: [{ type: "volume", source: "state", target: COMPOSE_STATE_DIR }, ...manifest],
    // No restart: key, compose's default is never; a bare `no` would read as false in YAML 1.1.
  };
  const service: Record<string, unknown> = {
    image: checkImageReference(options.image),
    entrypoint: ["mcp-run"],
    command,
    // docker-compose 1.29 knows this condition too.
    depends_on: { pull: { condition: "service_completed_successfully" } },
    ...hardening,
    labels: { [DOCKER_LABEL]: "1", [`${DOCKER_LABEL}.server`]: server.name },
    environment: [
      `HOME=${COMPOSE_STATE_DIR}`,
      `MCP_RUN_CACHE=${COMPOSE_STATE_DIR}/cache`,
      ...passedNames(server),
    ],
    ports: [`${publish.includes(":") ? `[${publish}]` : publish}:${port}:${port}`],
    ...(serviceSecrets.length > 0 ? { secrets: serviceSecrets } : {}),
    volumes: [
      { type: "volume", source: "state", target: COMPOSE_STATE_DIR },
      ...grantVolumes(server),
      // A manifest file and the package files beside it, where the service names them.
      ...manifest,
    ],
    restart: "unless-stopped",
  };
  const file = {
    services: { pull, "mcp-run": service },
    ...(serviceSecrets.length > 0 ? { secrets } : {}),
    volumes: { state: {} },
  };
  // No top-level `name:`: docker-compose 1.x refuses it; the project is named on the command.
  return `# compose.yaml: mcp-run serve for "${server.name}", written by mcp-run deploy.\n` +
    `# Start it: docker compose -p ${composeProject(server.name)} -f compose.yaml up -d\n` +
    `# Secrets are passed by name from the environment docker compose runs in.\n` +
    `# The pull service caches the server, then serve starts --offline. Compose cannot filter a\n` +
    `# container's egress by address nor cap its rate: Deno's --allow-net grants are the limit.\n` +
    stringify(escapeInterpolation(file), { lineWidth: 0 });
}

/**
 * Why a compose deployment cannot run under gVisor, and what does. The gVisor runtime that
 * `run` and `serve` use is registered with `--network=none` (with a network Debian's runsc does
 * not start, and the servers need none: their egress goes through mcp-run's proxy), so a service
 * container under it has no network to listen on; a second runtime registered with a network
 * would run serve itself, with its token and every server's secrets, in one shared sandbox.
 */
const COMPOSE_GVISOR_REFUSAL = "Cannot deploy to compose under gVisor: the compose " +
  "service listens on a port, and the engine's gVisor runtime is registered with " +
  "--network=none (as run and serve need it), so the service would have no network. Use " +
  "--target systemd --isolation gvisor (serve on the host starts each server in its own gVisor " +
  "sandbox), or --target kubernetes --isolation gvisor (the pod runs under the gvisor " +
  "RuntimeClass); or deploy to compose without --isolation gvisor (Deno's permissions inside " +
  "a hardened container)";

/**
 * The compose project a server's deployment runs as: `mcp-run-<server>` in the characters a
 * project name allows (named with `-p`, which every compose version takes).
 *
 * @param serverName The server's name.
 * @returns The project name.
 *
 * @example
 * ```ts
 * import { composeProject } from "./compose.ts";
 * console.log(composeProject("My.Server")); // mcp-run-my-server
 * ```
 */
export function composeProject(serverName: string): string {
  return `mcp-run-${serverName.toLowerCase().replace(/[^a-z0-9_-]/g, "-")}`;
}

/** Doubles every `$`, so compose never substitutes variables into a value. */
function escapeInterpolation(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll("$", "$$$$");
  if (Array.isArray(value)) return value.map(escapeInterpolation);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, escapeInterpolation(v)]),
    );
  }
  return value;
}

/**
 * The compose keys of docker-mode lock-down flags (`lockdownArgs`), flag by flag.
 *
 * @param args The flags.
 * @returns The service keys.
 * @throws {RangeError} For a flag with no translation, so a new hardening flag is never
 *   silently dropped.
 */
export function composeHardening(args: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const list = (key: string, value: string) => {
    out[key] = [...(out[key] as string[] | undefined ?? []), value];
  };
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === "--read-only") {
      out.read_only = true;
      continue;
    }
    const value = args[i + 1];
    if (!VALUE_FLAGS.has(flag) || value === undefined) {
      throw new RangeError(
        `Cannot translate the container flag "${flag}" into compose: teach composeHardening it`,
      );
    }
    i++;
    if (flag === "--cap-drop") list("cap_drop", value);
    else if (flag === "--security-opt") list("security_opt", value);
    else if (flag === "--tmpfs") list("tmpfs", value);
    else if (flag === "--user") out.user = value;
    else if (flag === "--pids-limit") out.pids_limit = Number(value);
    else if (flag === "--memory") out.mem_limit = value;
    else if (flag === "--memory-swap") out.memswap_limit = value;
    else if (flag === "--cpus") out.cpus = value;
    else {
      const match = /^([a-z]+)=([0-9]+):([0-9]+)$/.exec(value);
      if (!match) throw new RangeError(`Cannot translate "--ulimit ${value}" into compose`);
      out.ulimits = {
        ...out.ulimits as object,
        [match[1]]: { soft: Number(match[2]), hard: Number(match[3]) },
      };
    }
  }
  return out;
}

function passedNames(server: ResolvedServer): string[] {
  const names = server.env.filter((name) => !name.endsWith("*"));
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RangeError(`Cannot pass "${name}" to the container: not a valid variable name`);
    }
  }
  // Values the manifest fixes are set by mcp-run inside the container, as on the host.
  return names.filter((name) => !(name in server.envValues));
}

function manifestVolume(file: string): Record<string, unknown> {
  const dir = dirname(file);
  bindMount(dir, true, [COMPOSE_STATE_DIR]);
  return { type: "bind", source: dir, target: dir, read_only: true };
}

function grantVolumes(server: ResolvedServer): Record<string, unknown>[] {
  const writable = new Set(server.write);
  const mounts: Record<string, unknown>[] = [];
  for (const path of new Set([...server.read, ...server.write])) {
    const readOnly = !writable.has(path);
    bindMount(path, readOnly, [COMPOSE_STATE_DIR]); // the checks docker mode makes
    mounts.push({ type: "bind", source: path, target: path, read_only: readOnly });
  }
  return mounts;
}
