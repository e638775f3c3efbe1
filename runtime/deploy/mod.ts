/**
 * Deployments written from a server's manifest: pure builders that return the file texts which
 * run `mcp-run serve <server>` as a hardened service: `systemdUnit` a systemd unit (and
 * `systemdPullUnit` the unit that caches the server's code before it starts), `composeFile`
 * a Docker Compose file with docker mode's container hardening, `kubernetesManifests` a
 * Deployment, Service, NetworkPolicy and state claim under the restricted pod security standard.
 *
 * @example A systemd unit that lets nothing through but loopback
 * ```ts
 * import { systemdUnit } from "./mod.ts";
 *
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const unit = systemdUnit(server, { port: 8808 });
 * console.log(unit.includes("IPAddressAllow=localhost")); // true
 * ```
 *
 * @module
 */

// Shared by every target.
export {
  authArgs,
  DEFAULT_SERVE_PORT,
  type DeployAuth,
  deployAuth,
  type DeployAuthPaths,
  type DeployIsolation,
  type DeployServeOptions,
  GVISOR_RUNTIME_CLASS,
  pullArgs,
  serveArgs,
} from "./deploy_options.ts";

// systemd.
export { systemdPullUnit, systemdUnit, type SystemdUnitOptions, unitName } from "./systemd.ts";

// Docker Compose.
export {
  COMPOSE_STATE_DIR,
  composeFile,
  type ComposeFileOptions,
  composeHardening,
  composeProject,
} from "./compose.ts";

// Writing a deployment.
export {
  DEFAULT_DEPLOY_IMAGE,
  DEPLOY_TARGETS,
  type DeploymentFile,
  deploymentFiles,
  type DeploymentOptions,
  deploymentSteps,
  type DeployTarget,
  writeDeployment,
  type WriteDeploymentOptions,
} from "./deployment.ts";

// Kubernetes.
export { egressRules, kubernetesManifests, type KubernetesManifestsOptions } from "./kubernetes.ts";
