/**
 * Is the engine's gVisor runtime there, and registered with what mcp-run needs? The engine says
 * which runtimes it knows (`docker info`); a missing one, or one missing the arguments that let
 * a container reach the egress proxy's socket or the audit FIFO, is an error saying what to
 * install and which `daemon.json` lines to add. Never a silent fallback to a weaker tier.
 *
 * @module
 */
import { checkRuntimeName } from "./_container_hardening.ts";
import { type DockerCommandOptions, DockerUnavailableError, runDocker } from "./docker_engine.ts";
import { GVISOR_RUNTIME } from "./docker_names.ts";

/** What a launch needs of the gVisor runtime's registration. */
export interface GvisorNeeds {
  /** Connect to a bind-mounted host Unix socket (`--host-uds=open`): the egress proxy's. */
  uds?: boolean;
  /** Open a bind-mounted host FIFO (`--host-fifo=open`): the audit channel's. */
  fifo?: boolean;
}

/**
 * Thrown when gVisor isolation was asked for and the engine cannot give it: the runtime is not
 * registered, or registered without an argument the launch needs. The CLI exits with 1, as for
 * docker missing. Never falls back to `--isolation docker`.
 */
export class GvisorUnavailableError extends Error {
  /**
   * `missing` (no runtime of that name), `not-gvisor` (the name is registered for another
   * program, e.g. runc) or `incomplete` (an argument is missing).
   */
  readonly kind: "missing" | "not-gvisor" | "incomplete";
  /**
   * Says that gVisor cannot be used.
   *
   * @param kind What is wrong.
   * @param message What to install or register.
   * @param options Standard error options.
   */
  constructor(
    kind: "missing" | "not-gvisor" | "incomplete",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "GvisorUnavailableError";
    this.kind = kind;
  }
}

/** The `daemon.json` registration mcp-run expects, as text for messages. */
function registration(name: string): string {
  return `{"runtimes": {"${name}": {"path": "/usr/bin/runsc", "runtimeArgs": ` +
    `["--network=none", "--host-uds=open", "--host-fifo=open"]}}}`;
}

const HOW_TO = (name: string) =>
  `Install gVisor (Debian/Ubuntu: apt-get install runsc; elsewhere: ` +
  `https://gvisor.dev/docs/user_guide/install/), add these lines to /etc/docker/daemon.json: ` +
  `${registration(name)}, then reload the engine (systemctl reload docker, or ` +
  `kill -HUP $(pidof dockerd)). --isolation docker runs the same container under the host's ` +
  `kernel: a weaker wall`;

/**
 * A runtime argument is given, as `--flag=value` or `-flag=value`, or as two words (`--flag`,
 * `value`), with one of the values. The last occurrence wins, as in runsc's flag parsing.
 */
function hasArg(args: readonly unknown[], flag: string, values: string[]): boolean {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== "string") continue;
    const match = /^--?([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (match === null || match[1] !== flag) continue;
    if (match[2] !== undefined) value = match[2];
    else if (typeof args[i + 1] === "string") value = args[++i] as string;
  }
  return value !== undefined && values.includes(value);
}

/** The containerd shim type of gVisor, which an engine may name instead of a path. */
const RUNSC_SHIM = "io.containerd.runsc.v1";

/** Whether a registered runtime runs gVisor: its program is `runsc`, or its shim is runsc's. */
function isRunsc(entry: { path?: unknown; runtimeType?: unknown }): boolean {
  if (entry.runtimeType === RUNSC_SHIM) return true;
  return typeof entry.path === "string" && entry.path.split("/").at(-1) === "runsc";
}

/** The name of a runtime the engine has registered for gVisor, if any (the first by name). */
function runscNamed(all: Record<string, unknown>): string | undefined {
  return Object.keys(all).sort().find((key) => {
    const value = all[key];
    return value !== null && typeof value === "object" && isRunsc(value as { path?: unknown });
  });
}

/**
 * What is wrong with the engine's gVisor runtime for a launch, from the engine's runtimes as
 * `docker info --format '{{json .Runtimes}}'` prints them; `undefined` when nothing is. Pure.
 *
 * @param runtimes The engine's runtimes (JSON text, or the parsed object).
 * @param name The runtime's name (e.g. `runsc`).
 * @param needs Whether the launch mounts the egress proxy's socket or the audit FIFO.
 * @returns The error to throw, or `undefined`.
 * @throws {SyntaxError} When the text is not JSON.
 * @throws {RangeError} When the name is not a runtime name.
 *
 * @example
 * ```ts
 * import { gvisorRuntimeProblem } from "./gvisor_runtime.ts";
 * const runtimes = '{"runc":{"path":"runc"}}';
 * console.log(gvisorRuntimeProblem(runtimes, "runsc", {})?.kind); // missing
 * ```
 */
export function gvisorRuntimeProblem(
  runtimes: string | Record<string, unknown>,
  name: string,
  needs: GvisorNeeds,
): GvisorUnavailableError | undefined {
  checkRuntimeName(name);
  const parsed = typeof runtimes === "string" ? JSON.parse(runtimes) : runtimes;
  const all = parsed && typeof parsed === "object" ? parsed as Record<string, unknown> : {};
  const entry = Object.hasOwn(all, name) ? all[name] : undefined;
  if (!entry || typeof entry !== "object") {
    const known = Object.keys(all).sort();
    const other = runscNamed(all);
    return new GvisorUnavailableError(
      "missing",
      `Cannot use gvisor isolation: the Docker engine has no runtime named "${name}" ` +
        `(it has: ${known.join(", ") || "none"}). ` +
        (other === undefined
          ? HOW_TO(name)
          : `It has gVisor registered as "${other}": set "gvisorRuntime": "${other}" in ` +
            "mcp-run's config file" +
            (other === GVISOR_RUNTIME
              ? ` (or remove the key: "${GVISOR_RUNTIME}" is the default)`
              : "")),
    );
  }
  const registered = entry as { path?: unknown; runtimeType?: unknown; runtimeArgs?: unknown };
  if (!isRunsc(registered)) {
    const program = typeof registered.path === "string"
      ? `the program ${JSON.stringify(registered.path)}`
      : typeof registered.runtimeType === "string"
      ? `the shim ${JSON.stringify(registered.runtimeType)}`
      : "no program";
    // Never advise registering runsc over a name the engine uses for another program (runc).
    const other = runscNamed(all);
    return new GvisorUnavailableError(
      "not-gvisor",
      `Cannot use gvisor isolation: the engine's "${name}" runtime runs ${program}, not ` +
        `gVisor's runsc, so the server would run under the host's kernel. ` +
        (other !== undefined
          ? `It has gVisor registered as "${other}": set "gvisorRuntime": "${other}" in ` +
            "mcp-run's config file"
          : name === GVISOR_RUNTIME
          ? `Point "${name}" at runsc. ${HOW_TO(name)}`
          : `Register runsc as "${GVISOR_RUNTIME}" and remove "gvisorRuntime" from mcp-run's ` +
            `config file. ${HOW_TO(GVISOR_RUNTIME)}`),
    );
  }
  // Registered as containerd's shim, runsc takes its flags from the shim's own configuration
  // file (its [runsc_config] table), which the engine does not show: they cannot be checked here.
  if (typeof registered.path !== "string" && registered.runtimeType === RUNSC_SHIM) {
    return undefined;
  }
  const args = registered.runtimeArgs;
  const list = Array.isArray(args) ? args : [];
  const missing: string[] = [];
  if (needs.uds && !hasArg(list, "host-uds", ["open", "all"])) missing.push("--host-uds=open");
  if (needs.fifo && !hasArg(list, "host-fifo", ["open"])) missing.push("--host-fifo=open");
  if (missing.length === 0) return undefined;
  const why = [
    ...(missing.includes("--host-uds=open")
      ? ["--host-uds=open lets the server reach mcp-run's egress proxy through its socket"]
      : []),
    ...(missing.includes("--host-fifo=open")
      ? ["--host-fifo=open lets Deno write its permission audit into mcp-run's FIFO"]
      : []),
  ];
  return new GvisorUnavailableError(
    "incomplete",
    `Cannot use gvisor isolation: the engine's "${name}" runtime is registered without ` +
      `${missing.join(" and ")} in its runtimeArgs (${why.join("; ")}). ${HOW_TO(name)}`,
  );
}

/** Options for {@linkcode checkGvisorRuntime}. */
export interface CheckGvisorRuntimeOptions extends DockerCommandOptions {
  /** The runtime's name (default {@linkcode GVISOR_RUNTIME}). */
  runtime?: string;
  /** What the launch needs of it. */
  needs: GvisorNeeds;
}

/** The engine's runtimes, read once per process and docker client. */
const seen = new Map<string, Promise<string>>();

/**
 * Checks that the engine has the gVisor runtime, registered with what the launch needs. The
 * engine's runtimes are read once per process (per docker client and environment).
 * Requires `--allow-run=docker`.
 *
 * @param options The docker client, the runtime's name, what the launch needs.
 * @returns When the runtime can be used.
 * @throws {GvisorUnavailableError} When it is not registered, or registered without an
 *   argument the launch needs: what to install and the `daemon.json` lines to add.
 * @throws {DockerUnavailableError} When the docker command is not installed.
 * @throws {DockerUnavailableError} `down` when the engine does not answer.
 *
 * @example
 * ```ts ignore
 * import { checkGvisorRuntime } from "./gvisor_runtime.ts";
 * await checkGvisorRuntime({ needs: { uds: true, fifo: true } });
 * ```
 */
export async function checkGvisorRuntime(options: CheckGvisorRuntimeOptions): Promise<void> {
  const name = checkRuntimeName(options.runtime ?? GVISOR_RUNTIME);
  const key = JSON.stringify([options.docker ?? "docker", options.env ?? null]);
  let runtimes = seen.get(key);
  if (!runtimes) {
    runtimes = runDocker(["info", "--format", "{{json .Runtimes}}"], options).then((out) => {
      if (out.code !== 0) {
        throw new DockerUnavailableError(
          "down",
          `Cannot use gvisor isolation: the Docker engine did not say which runtimes it has ` +
            `(${out.stderr.trim().split("\n").at(-1) ?? ""}). Start it (systemctl start docker, ` +
            `or dockerd as root) and check that you may use it (docker info)`,
        );
      }
      return out.stdout.trim();
    });
    seen.set(key, runtimes);
    runtimes.catch(() => seen.delete(key));
  }
  const problem = gvisorRuntimeProblem(await runtimes, name, options.needs);
  if (problem) throw problem;
}
