/**
 * The `deploy` command of the CLI: the deployment options, checked, then the files of
 * runtime/deploy written (or printed) with the commands that start them. Loaded only for
 * `deploy`.
 *
 * @module
 */
import { isAbsolute, join, resolve } from "node:path";
import {
  DEFAULT_DEPLOY_IMAGE,
  DEPLOY_TARGETS,
  deploymentFiles,
  type DeploymentOptions,
  deploymentSteps,
  type DeployTarget,
  writeDeployment,
} from "../deploy/deployment.ts";
import type { DeployAuth, DeployIsolation } from "../deploy/deploy_options.ts";
import { checkImageReference } from "../sandbox/docker_checks.ts";
import { parseRate } from "../sandbox/egress_rate.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, UsageError } from "./context.ts";
import { resolveFor } from "./launch.ts";

/** The `deploy` command's flags, as parsed. */
export interface DeployFlags {
  /** `--target systemd|kubernetes|compose`. */
  target?: string;
  /** `--out DIR`: write the files there (default: print them). */
  out?: string;
  /** `--force`: replace files that exist. */
  force?: boolean;
  /** `--deploy-image IMAGE`: the image compose and Kubernetes run. */
  "deploy-image"?: string;
  /** `--egress-address NAME=CIDR` (repeatable). */
  "egress-address"?: string[];
  /** `--program PATH`: the `mcp-run` the systemd units run. */
  program?: string;
  /** `--client-address ADDR` (repeatable; systemd). */
  "client-address"?: string[];
  /** Serve's options, passed on. */
  host?: string;
  /** `--port`. */
  port?: string;
  /** `--token-file`. */
  "token-file"?: string;
  /** `--allowed-host` (repeatable). */
  "allowed-host"?: string[];
  /** `--allowed-origin` (repeatable). */
  "allowed-origin"?: string[];
  /** `--trust-proxy` (repeatable). */
  "trust-proxy"?: string[];
  /** `--session-mode`. */
  "session-mode"?: string;
  /** `--tools` (repeatable). */
  tools?: string[];
  /** `--auth token|oauth|none`. */
  auth?: string;
  /** `--public-url`. */
  "public-url"?: string;
  /** `--state-dir`: where the owner's passphrase is on this machine. */
  "state-dir"?: string;
  /** `--public`. */
  public?: boolean;
  /** `--exclude-tools` (repeatable). */
  "exclude-tools"?: string[];
  /** `--max-sessions N`. */
  "max-sessions"?: string;
  /** `--rate-limit N`. */
  "rate-limit"?: string;
  /** `--idle-timeout S`. */
  "idle-timeout"?: string;
  /** `--request-timeout S`. */
  "request-timeout"?: string;
  /** `--audit NAME`: a file in the service's state folder. */
  audit?: string;
  /** `--egress-rate RATE`: kubernetes' egress-bandwidth annotation. */
  "egress-rate"?: string;
  /** `--memory SIZE`: the whole service's memory, e.g. `4096m` or `4g`. */
  memory?: string;
  /** `--cpus N`: the whole service's CPUs. */
  cpus?: string;
  /** `--pids-limit N`: the whole service's tasks (systemd, compose). */
  "pids-limit"?: string;
}

/**
 * The deployment options of the flags, checked; host paths made absolute.
 *
 * @param flags The flags.
 * @param env The environment (HOME, XDG_STATE_HOME: the default state root).
 * @param cwd The folder relative paths are taken from.
 * @returns The options.
 * @throws {UsageError} For a missing or bad value.
 */
export function deployOptions(
  flags: DeployFlags,
  env: Record<string, string>,
  cwd: string,
): DeploymentOptions {
  const target = flags.target;
  if (target === undefined) {
    throw new UsageError(`give --target ${DEPLOY_TARGETS.join("|")}`);
  }
  if (!(DEPLOY_TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`--target must be systemd, kubernetes or compose, got "${target}"`);
  }
  const port = flags.port === undefined ? undefined : Number(flags.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    throw new UsageError(`--port must be a port from 1 to 65535, got "${flags.port}"`);
  }
  const sessionMode = flags["session-mode"];
  if (sessionMode !== undefined && sessionMode !== "isolated" && sessionMode !== "shared") {
    throw new UsageError(`--session-mode must be isolated or shared, got "${sessionMode}"`);
  }
  const auth = flags.auth;
  if (auth !== undefined && auth !== "token" && auth !== "oauth" && auth !== "none") {
    throw new UsageError(`--auth must be token, oauth or none, got "${auth}"`);
  }
  const egressAddresses: Record<string, string[]> = {};
  for (const entry of flags["egress-address"] ?? []) {
    const eq = entry.indexOf("=");
    if (eq <= 0 || eq === entry.length - 1) {
      throw new UsageError(
        `--egress-address takes NAME=CIDR, e.g. api.github.com=140.82.112.0/20, got "${entry}"`,
      );
    }
    (egressAddresses[entry.slice(0, eq)] ??= []).push(entry.slice(eq + 1));
  }
  const image = flags["deploy-image"];
  if (image !== undefined) {
    if (target === "systemd") {
      throw new UsageError("--deploy-image needs --target compose|kubernetes");
    }
    try {
      checkImageReference(image);
    } catch (error) {
      throw new UsageError(`--deploy-image: ${(error as Error).message}`, { cause: error });
    }
  }
  const program = flags.program;
  if (program !== undefined) {
    if (target !== "systemd") throw new UsageError("--program needs --target systemd");
    if (!isAbsolute(program)) {
      throw new UsageError(
        `--program must be an absolute path (the unit runs it), got "${program}": ` +
          "tools/install.sh PREFIX installs PREFIX/bin/mcp-run",
      );
    }
  }
  const numbers: Record<string, number> = {};
  for (const flag of ["max-sessions", "rate-limit", "idle-timeout", "request-timeout"] as const) {
    const text = flags[flag];
    if (text === undefined) continue;
    const value = Number(text);
    if (
      !(Number.isFinite(value) && value > 0) || (flag !== "idle-timeout" &&
        flag !== "request-timeout" && !Number.isInteger(value))
    ) {
      throw new UsageError(`--${flag} must be a positive number, got "${text}"`);
    }
    numbers[flag] = value;
  }
  const audit = flags.audit;
  if (audit !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(audit)) {
    throw new UsageError(
      `--audit takes a file name such as audit.jsonl, kept in the service's state folder ` +
        `(the only place it may write), got "${audit}"`,
    );
  }
  let egressBandwidth: string | undefined;
  if (flags["egress-rate"] !== undefined) {
    if (target !== "kubernetes") {
      throw new UsageError(
        "--egress-rate needs --target kubernetes (the pod's egress-bandwidth annotation): " +
          "systemd has no per-unit egress rate (tc on the host's interface would cap every " +
          "program) and a compose service cannot shape its own container's traffic",
      );
    }
    try {
      egressBandwidth = String(parseRate(flags["egress-rate"]));
    } catch (error) {
      throw new UsageError(`--egress-rate: ${(error as Error).message}`, { cause: error });
    }
  }
  const hostPath = (path: string) => isAbsolute(path) ? path : resolve(cwd, path);
  const stateRoot = flags["state-dir"] !== undefined
    ? hostPath(flags["state-dir"])
    : join(env.XDG_STATE_HOME || join(env.HOME ?? "/", ".local", "state"), "mcp-run");
  const oauth = auth === "oauth";
  const has = <T>(key: string, value: T | undefined) => value === undefined ? {} : { [key]: value };
  return {
    target: target as DeployTarget,
    ...has("image", image),
    ...has("host", flags.host),
    ...has("port", port),
    ...has("allowedHosts", flags["allowed-host"]),
    ...has("allowedOrigins", flags["allowed-origin"]),
    ...has("trustProxy", flags["trust-proxy"]),
    ...has("sessionMode", sessionMode),
    ...has("tools", flags.tools),
    ...has("auth", auth as DeployAuth | undefined),
    ...has("publicUrl", flags["public-url"]),
    ...has("public", flags.public),
    ...has("clientAddresses", flags["client-address"]),
    ...has("program", program),
    ...has("excludeTools", flags["exclude-tools"]),
    ...has("maxSessions", numbers["max-sessions"]),
    ...has("rateLimit", numbers["rate-limit"]),
    ...has("idleTimeout", numbers["idle-timeout"]),
    ...has("requestTimeout", numbers["request-timeout"]),
    ...has("audit", audit),
    ...has("egressBandwidth", egressBandwidth),
    ...deployLimitFlags(flags, target as DeployTarget),
    ...(Object.keys(egressAddresses).length > 0 ? { egressAddresses } : {}),
    ...has("tokenFile", flags["token-file"] && hostPath(flags["token-file"])),
    ...(oauth ? { passphraseFile: join(stateRoot, "passphrase") } : {}),
  };
}

/** `--memory`, `--cpus`, `--pids-limit`: the whole service's limits, checked. */
function deployLimitFlags(
  flags: DeployFlags,
  target: DeployTarget,
): Pick<DeploymentOptions, "memoryMb" | "cpus" | "tasksMax"> {
  const out: Pick<DeploymentOptions, "memoryMb" | "cpus" | "tasksMax"> = {};
  if (flags.memory !== undefined) {
    const match = /^([1-9][0-9]*)([mg]?)$/i.exec(flags.memory);
    if (!match) {
      throw new UsageError(
        `--memory takes a size such as 4096m or 4g (the whole service), got "${flags.memory}"`,
      );
    }
    out.memoryMb = Number(match[1]) * (match[2].toLowerCase() === "g" ? 1024 : 1);
  }
  if (flags.cpus !== undefined) {
    const cpus = Number(flags.cpus);
    if (!(Number.isFinite(cpus) && cpus >= 0.01)) {
      throw new UsageError(`--cpus takes a number of CPUs such as 2 or 0.5, got "${flags.cpus}"`);
    }
    out.cpus = cpus;
  }
  const pids = flags["pids-limit"];
  if (pids !== undefined) {
    if (target === "kubernetes") {
      throw new UsageError(
        "--pids-limit is for systemd and compose: Kubernetes sets a pod's process limit per node " +
          "(the kubelet's podPidsLimit)",
      );
    }
    if (!/^[1-9][0-9]*$/.test(pids)) {
      throw new UsageError(`--pids-limit takes a whole number of tasks, got "${pids}"`);
    }
    out.tasksMax = Number(pids);
  }
  return out;
}

/**
 * `mcp-run deploy <server> --target T`: writes the files that run `mcp-run serve <server>` as a
 * hardened service (or prints them without `--out`), then the commands that start it.
 *
 * @param ctx CLI context.
 * @param line The target server; no server arguments.
 * @param flags The deploy flags.
 * @returns The exit code.
 * @throws {UsageError} When not given one server, server arguments, or a bad option.
 */
export async function deployCommand(
  ctx: CliContext,
  line: CommandLine,
  flags: DeployFlags,
): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  if (line.serverArgs.length > 0) {
    throw new UsageError(
      "a deployment cannot pass server arguments after --: give parameters with -p NAME=VALUE",
    );
  }
  const options = deployOptions(flags, ctx.env, Deno.cwd());
  const isolation = deployIsolation(ctx);
  if (isolation === "gvisor") {
    options.isolation = "gvisor";
    if (ctx.docker.gvisorRuntime !== undefined) options.gvisorRuntime = ctx.docker.gvisorRuntime;
  }
  const target = line.rest[0];
  // Resolved as the service runs it: systemd's serve under gVisor, elsewhere serve inside the
  // deployment's own container (which the engine or the cluster runs under gVisor).
  const served = options.target === "systemd" ? isolation : "deno";
  const { server } = await resolveFor(
    served === ctx.target.isolation
      ? ctx
      : { ...ctx, target: { ...ctx.target, isolation: "deno", isolationGiven: false } },
    target,
    [],
  );
  // A manifest file (as the registry tells them apart): the service names it by its path.
  if (target.includes("/") || /\.jsonc?$/.test(target)) {
    options.serveTarget = await Deno.realPath(target);
  }
  let files;
  try {
    files = deploymentFiles(server, options);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new UsageError(error.message, { cause: error });
  }
  if (options.serveTarget !== undefined) {
    ctx.printError(
      `mcp-run deploy: the service reads the manifest at ${options.serveTarget}` +
        (options.target === "compose"
          ? " (its folder is mounted read-only)"
          : options.target === "systemd"
          ? ": keep it there, readable by every user"
          : ": put it at that path in the image"),
    );
  }
  for (
    const [what, file] of [
      ["token file", options.target === "kubernetes" ? undefined : options.tokenFile],
      ["passphrase file", options.target === "kubernetes" ? undefined : options.passphraseFile],
    ] as const
  ) {
    if (file !== undefined && !(await exists(file))) {
      ctx.printError(
        `mcp-run deploy: the ${what} "${file}" does not exist yet: create it before starting ` +
          (what === "token file"
            ? `((umask 077; openssl rand -hex 32 > ${file}))`
            : `(mcp-run serve --set-passphrase --state-dir ${file.replace(/\/passphrase$/, "")})`),
      );
    }
  }
  if (flags.out === undefined) {
    for (const file of files) {
      if (files.length > 1) ctx.print(`# ==> ${file.name} <==`);
      ctx.print(file.text.trimEnd());
    }
    return EXIT.ok;
  }
  let paths;
  try {
    paths = await writeDeployment(flags.out, files, { force: flags.force });
  } catch (error) {
    ctx.printError(`mcp-run deploy: ${writeProblem(error, flags.out)}`);
    return EXIT.error;
  }
  for (const path of paths) ctx.print(`wrote ${path}`);
  ctx.print("\nThen run:");
  for (const step of deploymentSteps(server, options, files, flags.out)) {
    ctx.print(`  ${step}`);
  }
  if (options.image === undefined && options.target !== "systemd") {
    ctx.print(
      `(${DEFAULT_DEPLOY_IMAGE} is built from mcp-run's repository; --deploy-image names another)`,
    );
  }
  return EXIT.ok;
}

/**
 * The isolation of a deployment's servers: `gvisor` only when `--isolation gvisor` is given,
 * else `deno`. A user-config default of gvisor is this machine's choice for run and serve: it
 * changes what a deployment is (a systemd unit then joins the docker group, without
 * PrivateUsers=; compose is refused), so it is not followed silently, and a line says so.
 * `--isolation docker` is refused: a deployment is already a container (compose, Kubernetes)
 * or a hardened unit (systemd).
 */
function deployIsolation(ctx: CliContext): DeployIsolation {
  const { isolation, isolationGiven } = ctx.target;
  if (isolation === "docker" && isolationGiven) {
    throw new UsageError(
      "deploy takes --isolation deno or gvisor: a deployment is already a hardened unit or " +
        "container; --isolation gvisor adds gVisor's user-space kernel under its servers",
    );
  }
  if (!isolationGiven && isolation === "gvisor") {
    ctx.printError(
      'mcp-run deploy: your config\'s default isolation "gvisor" is for run and serve here; ' +
        "this deployment runs its servers under Deno's permissions. Give --isolation gvisor to " +
        "deploy them under gVisor",
    );
  }
  return isolationGiven && isolation === "gvisor" ? "gvisor" : "deno";
}

/** Why the files could not be written, and what to do. */
function writeProblem(error: unknown, out: string): string {
  const ours = error instanceof Deno.errors.AlreadyExists ||
    error instanceof Deno.errors.NotADirectory;
  if (ours && error.message.startsWith("Cannot ")) return error.message;
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Cannot write into "${out}": permission denied (${reason}); give --out a folder ` +
      "you may write, or run as its owner";
  }
  if (!(error instanceof Error) || !Object.values(Deno.errors).some((e) => error instanceof e)) {
    throw error;
  }
  return `Cannot write into "${out}": ${reason}; give --out a folder you may write`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
