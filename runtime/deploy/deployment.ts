/**
 * A deployment as files: the files one target needs for a server (pure), the commands that start
 * it once written (pure), and the one function that writes them, never over a file without
 * `force`.
 *
 * @module
 */
import { join } from "node:path";
import type { ResolvedServer } from "../policy/resolve.ts";
import { composeFile, composeProject } from "./compose.ts";
import { kubernetesManifests } from "./kubernetes.ts";
import { systemdPullUnit, systemdUnit, unitName } from "./systemd.ts";
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
}

/** One file of a deployment. */
export interface DeploymentFile {
  /** The file's name (no folder). */
  name: string;
  /** Its text. */
  text: string;
}

/**
 * The files that deploy a server to a target: systemd the service and its pull unit, compose
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
  const { target, image = DEFAULT_DEPLOY_IMAGE, ...rest } = options;
  if (target === "systemd") {
    const name = unitName(server.name);
    return [
      { name: `${name}.service`, text: systemdUnit(server, rest) },
      { name: `${name}-pull.service`, text: systemdPullUnit(server, rest) },
    ];
  }
  if (target === "compose") {
    return [{ name: "compose.yaml", text: composeFile(server, { ...rest, image }) }];
  }
  if (target === "kubernetes") {
    return [{
      name: `mcp-run-${server.name.toLowerCase()}.yaml`,
      text: kubernetesManifests(server, { ...rest, image }),
    }];
  }
  throw new RangeError(
    `Cannot deploy to "${target}": give one of ${DEPLOY_TARGETS.join(", ")}`,
  );
}

/**
 * The commands that start a written deployment, one per line, for the user to run.
 *
 * @param target The target.
 * @param files The files written.
 * @param dir The folder they were written to.
 * @param image compose: the image to build first, when it is the default one.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { deploymentSteps } from "./deployment.ts";
 * const text = "# Start it: docker compose -p mcp-run-time -f compose.yaml up -d\n";
 * const steps = deploymentSteps("compose", [{ name: "compose.yaml", text }], "out");
 * console.log(steps.at(-1)); // docker compose -p mcp-run-time -f out/compose.yaml up -d
 * ```
 */
export function deploymentSteps(
  target: DeployTarget,
  files: readonly DeploymentFile[],
  dir: string,
  image?: string,
): string[] {
  const paths = files.map((f) => quote(join(dir, f.name)));
  const build = image === undefined || image === DEFAULT_DEPLOY_IMAGE
    ? [
      `git archive HEAD | docker build -t ${DEFAULT_DEPLOY_IMAGE} -f runtime/deploy/Dockerfile -` +
      "   # in mcp-run's repository",
    ]
    : [];
  if (target === "systemd") {
    const service = files[0].name;
    return [
      `sudo install -m 644 ${paths.join(" ")} /etc/systemd/system/`,
      "sudo systemctl daemon-reload",
      `sudo systemctl enable --now ${service}`,
    ];
  }
  if (target === "compose") {
    const project = /docker compose -p (\S+)/.exec(files[0].text)?.[1] ?? composeProject("server");
    return [...build, `docker compose -p ${project} -f ${paths[0]} up -d`];
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
