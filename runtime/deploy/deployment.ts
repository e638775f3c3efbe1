/**
 * A deployment as files: the files one target needs for a server (pure), the commands that start
 * it once written (pure), and the one function that writes them, never over a file without
 * `force`.
 *
 * @module
 */
import { basename, join } from "node:path";
import type { ResolvedServer } from "../policy/resolve.ts";
import { composeFile, composeProject } from "./compose.ts";
import { kubernetesManifests } from "./kubernetes.ts";
import { programPath, systemdPullUnit, systemdUnit, unitName } from "./systemd.ts";
import { systemdGvisorConfig } from "./_systemd_gvisor.ts";
import type { DeployServeOptions } from "./deploy_options.ts";

/** Where a deployment runs. */
export type DeployTarget = "systemd" | "kubernetes" | "compose";

/** Every target, in the order the CLI names them. */
export const DEPLOY_TARGETS: readonly DeployTarget[] = ["systemd", "kubernetes", "compose"];

/**
 * The image compose and Kubernetes deployments run unless told otherwise: one the user builds
 * from this repository
 * (`git archive HEAD | docker build -t mcp-run/mcp-run:0.1.0 -f runtime/deploy/Dockerfile -`),
 * named by mcp-run's version so that it is pinned.
 */
export const DEFAULT_DEPLOY_IMAGE = "mcp-run/mcp-run:0.1.0";

/** Options for {@linkcode deploymentFiles}. */
export interface DeploymentOptions extends DeployServeOptions {
  /** The target. */
  target: DeployTarget;
  /** compose, kubernetes: the image holding mcp-run (default {@linkcode DEFAULT_DEPLOY_IMAGE}). */
  image?: string;
  /** systemd, compose: host path of the bearer token file. */
  tokenFile?: string;
  /** systemd, compose: host path of the owner's passphrase file (`auth: "oauth"`). */
  passphraseFile?: string;
  /** systemd: addresses clients may connect from, beyond loopback. */
  clientAddresses?: string[];
  /** kubernetes: the pod's egress cap in bits per second (the egress-bandwidth annotation). */
  egressBandwidth?: string;
  /** systemd: absolute path of the `mcp-run` program the units run (default `/usr/local/bin/mcp-run`). */
  program?: string;
  /** The whole service's memory in MiB (default scaled with the sessions: `deployLimits`). */
  memoryMb?: number;
  /** The whole service's CPUs, e.g. `2` or `0.5` (default 1). */
  cpus?: number;
  /** systemd, compose: the whole service's tasks (`TasksMax=`, `pids_limit`; default scaled). */
  tasksMax?: number;
}

/** One file of a deployment. */
export interface DeploymentFile {
  /** The file's name (no folder). */
  name: string;
  /** Its text. */
  text: string;
}

/**
 * The files that deploy a server to a target: systemd the service and its pull unit (under
 * gVisor with a `gvisorRuntime`, also `<server>.config.json`, which names it for them), compose
 * `compose.yaml`, Kubernetes one manifest stream `mcp-run-<server>.yaml`.
 *
 * @param server The resolved server.
 * @param options The target, serve options and target settings.
 * @returns The files, in the order to read them.
 * @throws {RangeError} When the options cannot make a safe deployment (the builders' messages).
 *
 * @example
 * ```ts
 * import { deploymentFiles } from "./deployment.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const files = deploymentFiles(server, { target: "systemd" });
 * console.log(files.map((f) => f.name).join(" "));
 * // mcp-run-time.service mcp-run-time-pull.service
 * ```
 */
export function deploymentFiles(
  server: ResolvedServer,
  options: DeploymentOptions,
): DeploymentFile[] {
  const { target, image = DEFAULT_DEPLOY_IMAGE, memoryMb, cpus, tasksMax, ...rest } = options;
  const has = <T>(key: string, value: T | undefined) => value === undefined ? {} : { [key]: value };
  if (target === "systemd") {
    const name = unitName(server.name);
    return [
      {
        name: `${name}.service`,
        text: systemdUnit(server, {
          ...rest,
          ...has("memoryMax", memoryMb && `${memoryMb}M`),
          ...has("cpuQuota", cpus && `${Math.round(cpus * 100)}%`),
          ...has("tasksMax", tasksMax),
        }),
      },
      { name: `${name}-pull.service`, text: systemdPullUnit(server, rest) },
      ...gvisorConfigFile(server, rest),
    ];
  }
  if (target === "compose") {
    // The token and the passphrase are copied into the deployment's folder for the
    // container's user (see deploymentSteps): a compose secret is the file, bind-mounted.
    const tokenFile = rest.tokenFile === undefined ? {} : { tokenFile: COMPOSE_TOKEN_FILE };
    const passphraseFile = rest.passphraseFile === undefined ? {} : {
      passphraseFile: COMPOSE_PASSPHRASE_FILE,
    };
    return [{
      name: "compose.yaml",
      text: composeFile(server, {
        ...rest,
        ...tokenFile,
        ...passphraseFile,
        image,
        ...has("memory", memoryMb && `${memoryMb}m`),
        ...has("cpus", cpus && String(cpus)),
        ...has("pidsLimit", tasksMax),
      }),
    }];
  }
  if (target === "kubernetes") {
    return [{
      name: `mcp-run-${server.name.toLowerCase()}.yaml`,
      text: kubernetesManifests(server, {
        ...rest,
        image,
        ...has("memory", memoryMb && `${memoryMb}Mi`),
        ...has("cpu", cpus && String(cpus)),
      }),
    }];
  }
  throw new RangeError(
    `Cannot deploy to "${target}": give one of ${DEPLOY_TARGETS.join(", ")}`,
  );
}

/** The config file naming the gVisor runtime, when a systemd deployment's units read one. */
function gvisorConfigFile(server: ResolvedServer, options: DeployServeOptions): DeploymentFile[] {
  const config = systemdGvisorConfig(server, options);
  return config === undefined ? [] : [{ name: basename(config.path), text: config.text }];
}

/** The passphrase's file in a compose deployment's folder (compose reads it from there). */
export const COMPOSE_PASSPHRASE_FILE = "./passphrase";

/** The token's file in a compose deployment's folder (compose reads it from there). */
export const COMPOSE_TOKEN_FILE = "./token";

/**
 * The commands that set up and start a written deployment, one per line, for the user to run;
 * a line starting with `#` says what the next ones do or what to check.
 *
 * - systemd: install mcp-run where the unit runs it (`tools/install.sh PREFIX` in mcp-run's
 *   repository puts `PREFIX/bin/mcp-run`), make the static user that owns the write grants (a
 *   dynamic user cannot write a folder it does not own; `DynamicUser=` uses a static user of
 *   the unit's name when one exists, and keeps the rest of its sandbox), write the environment
 *   file with the server's required variables (and the gVisor runtime's config file, when
 *   written), then install and start the units.
 * - compose: build the image, give the write grants to the container's user (uid 1993), copy the
 *   token file or the owner's passphrase into the deployment's folder as that user's (mode 600;
 *   outside swarm a compose secret is the host file, bind-mounted with its owner and mode), then
 *   start.
 * - kubernetes: build the image, create the Secret, apply.
 *
 * @param server The resolved server.
 * @param options The deployment's options.
 * @param files The files written.
 * @param dir The folder they were written to.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { deploymentFiles, deploymentSteps } from "./deployment.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const options = { target: "compose" as const, tokenFile: "/etc/mcp-run/token" };
 * const steps = deploymentSteps(server, options, deploymentFiles(server, options), "out");
 * console.log(steps.at(-1)); // docker compose -p mcp-run-time -f out/compose.yaml up -d
 * ```
 */
export function deploymentSteps(
  server: ResolvedServer,
  options: DeploymentOptions,
  files: readonly DeploymentFile[],
  dir: string,
): string[] {
  const { target, image } = options;
  const paths = files.map((f) => quote(join(dir, f.name)));
  const build = image === undefined || image === DEFAULT_DEPLOY_IMAGE
    ? [
      `git archive HEAD | docker build -t ${DEFAULT_DEPLOY_IMAGE} -f runtime/deploy/Dockerfile -` +
      "   # in mcp-run's repository",
    ]
    : [];
  const writes = [...new Set(server.write)].map(quote);
  if (target === "systemd") {
    const name = unitName(server.name);
    const program = programPath(options);
    const prefix = /^(\/.*)\/bin\/mcp-run$/.exec(program)?.[1];
    const install = prefix !== undefined
      ? [`sudo tools/install.sh ${quote(prefix)}   # in mcp-run's repository: installs ${program}`]
      : [
        `# ${program} must run mcp-run: tools/install.sh PREFIX (in mcp-run's repository) ` +
        "installs PREFIX/bin/mcp-run",
      ];
    const owner = writes.length === 0 ? [] : [
      `# The write grants belong to a static user of the unit's name (DynamicUser= uses it):`,
      `sudo useradd --system --no-create-home --shell /usr/sbin/nologin ${name}`,
      `sudo chown -R ${name}: ${writes.join(" ")}`,
    ];
    const required = server.requiredEnv;
    const envFile = quote(`/etc/mcp-run/${server.name}.env`);
    const environment = required.length === 0 ? [] : [
      `# ${envFile} must hold ${required.join(", ")} as NAME=value lines (the pull unit does ` +
      "not load it):",
      `sudo install -d -m 700 /etc/mcp-run && sudo touch ${envFile} && ` +
      `sudo chmod 600 ${envFile} && sudoedit ${envFile}`,
    ];
    const config = systemdGvisorConfig(server, options);
    const runtime = config === undefined ? [] : [
      `# ${config.path} names the gVisor runtime for serve and pull (a credential of the units):`,
      `sudo install -d -m 700 /etc/mcp-run && sudo install -m 600 ` +
      `${quote(join(dir, basename(config.path)))} ${quote(config.path)}`,
    ];
    const units = files.filter((f) => f.name.endsWith(".service"))
      .map((f) => quote(join(dir, f.name)));
    return [
      ...install,
      ...owner,
      ...environment,
      ...runtime,
      `sudo install -m 644 ${units.join(" ")} /etc/systemd/system/`,
      "sudo systemctl daemon-reload",
      `sudo systemctl enable --now ${files[0].name}`,
      "# Name lookups reach only a resolver on loopback (systemd-resolved's 127.0.0.53); " +
      "for another, deploy again with --client-address RESOLVER_IP",
    ];
  }
  if (target === "compose") {
    const project = composeProject(server.name);
    const owner = writes.length === 0 ? [] : [
      "# The container runs as uid 1993: the write grants must be its own",
      `sudo chown -R 1993:1993 ${writes.join(" ")}`,
    ];
    const copy = (what: string, from: string, to: string): string[] => [
      `# ${what}, copied for the container's user (copy again after a change):`,
      `sudo install -m 600 -o 1993 -g 1993 ${quote(from)} ${quote(join(dir, to))}`,
    ];
    const token = options.tokenFile !== undefined && (options.auth ?? "token") === "token"
      ? copy("The token file", options.tokenFile, COMPOSE_TOKEN_FILE)
      : [];
    const passphrase = options.auth === "oauth" && options.passphraseFile !== undefined
      ? copy("The owner's passphrase", options.passphraseFile, COMPOSE_PASSPHRASE_FILE)
      : [];
    return [
      ...build,
      ...owner,
      ...token,
      ...passphrase,
      `docker compose -p ${project} -f ${paths[0]} up -d`,
    ];
  }
  const secret = /kubectl create secret generic .*/.exec(files[0].text)?.[0];
  return [
    ...build,
    ...(secret ? [secret] : []),
    `kubectl apply -f ${paths[0]}`,
  ];
}

/** Options for {@linkcode writeDeployment}. */
export interface WriteDeploymentOptions {
  /** Replace files that exist (default: refuse). */
  force?: boolean;
}

/**
 * Writes a deployment's files into a folder (created when missing), mode 644: they hold no
 * secret. Nothing is written when one of them exists and `force` is not set.
 *
 * Requires `--allow-read` and `--allow-write` on the folder.
 *
 * @param dir The folder.
 * @param files The files.
 * @param options Whether to replace existing files.
 * @returns The paths written.
 * @throws {Deno.errors.AlreadyExists} When a file exists and `force` is not set.
 * @throws {Deno.errors.NotADirectory} When `dir` is a file.
 * @throws {Deno.errors.PermissionDenied} Or another OS error, when the folder cannot be written.
 *
 * @example
 * ```ts ignore
 * import { deploymentFiles, writeDeployment } from "./deployment.ts";
 * await writeDeployment("deploy", deploymentFiles(server, { target: "systemd" }));
 * ```
 */
export async function writeDeployment(
  dir: string,
  files: readonly DeploymentFile[],
  options: WriteDeploymentOptions = {},
): Promise<string[]> {
  const info = await Deno.stat(dir).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  });
  if (info !== undefined && !info.isDirectory) {
    throw new Deno.errors.NotADirectory(
      `Cannot write the deployment into "${dir}": it is a file, not a folder; give --out a folder`,
    );
  }
  await Deno.mkdir(dir, { recursive: true });
  const paths = files.map((file) => join(dir, file.name));
  if (!options.force) {
    for (const path of paths) {
      let exists = true;
      try {
        await Deno.lstat(path);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        exists = false;
      }
      if (exists) {
        throw new Deno.errors.AlreadyExists(
          `Cannot write "${path}": it exists; give --force to replace it, or another --out`,
        );
      }
    }
  }
  for (const [index, file] of files.entries()) {
    // Replaced, never written through: a link there is removed, not followed.
    if (options.force) {
      await Deno.remove(paths[index]).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    await Deno.writeTextFile(paths[index], file.text, { mode: 0o644, createNew: true });
    await Deno.chmod(paths[index], 0o644);
  }
  return paths;
}

function quote(path: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}
