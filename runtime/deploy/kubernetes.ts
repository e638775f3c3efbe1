/**
 * Kubernetes manifests that run `mcp-run serve <server>`: a Deployment under the restricted pod
 * security standard, a Service, a NetworkPolicy allowing only the egress the manifest grants,
 * a PersistentVolumeClaim for OAuth data and the cache, and a Job that fills the cache; tokens and secrets come from a Secret the operator
 * creates, never from values written here. Pure: it returns the YAML text.
 *
 * @module
 */
import { stringify } from "yaml";
import { PRIVATE_IPV4_RANGES } from "../policy/net_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { checkContainerUser, checkImageReference } from "../sandbox/docker_checks.ts";
import { CONTAINER_USER } from "../sandbox/docker_names.ts";
import { DEFAULT_LIMITS } from "../sandbox/resource_caps.ts";
import { egressTargets } from "./_egress.ts";
import { DNS_RULE, pullMarker, pullObjects, waitForPull } from "./_kubernetes_pull.ts";
import {
  authArgs,
  DEFAULT_SERVE_PORT,
  deployAuth,
  deployLimits,
  type DeployServeOptions,
  GVISOR_RUNTIME_CLASS,
  serveArgs,
} from "./deploy_options.ts";

/** Options for {@linkcode kubernetesManifests}. */
export interface KubernetesManifestsOptions extends DeployServeOptions {
  /** A pinned image holding `mcp-run`, Deno and `sh` (a version tag or a digest). */
  image: string;
  /** Namespace of every object (default: the one `kubectl` applies to). */
  namespace?: string;
  /**
   * The pod's egress cap, the `kubernetes.io/egress-bandwidth` annotation (a quantity such as
   * `10M`, bits per second; default none). The cluster's network plugin applies it only with
   * the bandwidth plugin enabled.
   */
  egressBandwidth?: string;
  /** Memory limit (default one process cap per session plus serve's, `5120Mi` for four). */
  memory?: string;
  /** CPU limit (default `1`). */
  cpu?: string;
  /** Size of the state claim (default `1Gi`). */
  stateSize?: string;
  /** `uid:gid` the pod runs as (default mcp-run's container user); root is refused. */
  user?: string;
  /**
   * A PersistentVolumeClaim for each granted path (read or write), mounted at that path; a
   * cluster has no host paths to grant, and `hostPath` is refused by the restricted standard.
   */
  claims?: Record<string, string>;
}

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A name Kubernetes accepts for a namespace, an object or a claim (a DNS label). */
function dnsLabel(text: string, what: string): string {
  if (!LABEL_RE.test(text)) {
    throw new RangeError(
      `Cannot use "${text}" as ${what}: give lowercase letters, digits and "-" (63 at most)`,
    );
  }
  return text;
}

const QUANTITY_RE = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const TOKEN_DIR = "/run/mcp-run";
const STATE_DIR = "/state";

/**
 * The manifests (one YAML stream) that serve a server in Kubernetes:
 *
 * - a Deployment of one replica (sessions live in the process) whose pod runs as a non-root
 *   user with a read-only root file system, no privilege escalation, seccomp `RuntimeDefault`
 *   and every capability dropped, no service account token, and the
 *   `kubernetes.io/egress-bandwidth` annotation. Serve reads its token from a file of mode 600,
 *   which a Secret volume cannot give a non-root user, so an init container (same image, same
 *   restrictions) copies the Secret's `token` key into a memory-backed folder with umask 077;
 * - a Service (ClusterIP) on the serve port;
 * - a NetworkPolicy: ingress on the serve port only; egress to DNS (kube-dns) when a grant is a
 *   name, and to each granted destination on its port. Names resolve at run time, so a name's
 *   egress goes to the addresses vouched for in `egressAddresses`, else to every public IPv4
 *   address (the private ranges excepted) on the granted port: Deno's own `--allow-net` still
 *   checks the name;
 * - a PersistentVolumeClaim for OAuth data and mcp-run's cache;
 * - a Job that fills that cache with `mcp-run pull` (the server's pods run `serve --offline`: their
 *   policy reaches no registry) and its own NetworkPolicy: DNS and HTTPS to public addresses, no
 *   ingress. It runs no server code and gets none of the Secret. It writes a marker into the
 *   claim when the cache is filled; the server's pods wait for it in an init container (the pull
 *   is not itself an init container of those pods: a NetworkPolicy selects whole pods, and
 *   theirs reaches no registry).
 *
 * The Secret (`mcp-run-<server>`, keys `token` and each passed variable) is created by the
 * operator; a comment says how. No value is ever written into the manifests. With
 * `auth: "oauth"` the Secret holds the owner's `passphrase` instead of a token: the init
 * container copies it the same way and links it into the state root, where serve reads it;
 * with `public` there is no token at all. With `isolation: "gvisor"` the server's pods run under
 * the RuntimeClass `gvisor` (`runtimeClassName`), which the cluster defines with the handler
 * `runsc` (GKE Sandbox and gVisor's containerd shim do); the pull job, which runs no server
 * code, keeps the default runtime.
 *
 * @param server The resolved server.
 * @param options Image, serve options, limits, claims for granted paths.
 * @returns The YAML stream.
 * @throws {RangeError} When the image is not pinned, the user is root, a quantity or name cannot
 *   be written, a granted path has no claim, or the authentication options conflict.
 *
 * @example
 * ```ts
 * import { kubernetesManifests } from "./kubernetes.ts";
 * const server = {
 *   name: "time", specifier: "npm:time-mcp@1.0.0", args: [], read: [], write: [], net: [],
 *   denyNet: [], env: [], secrets: [], requiredEnv: [], envValues: {}, sys: [], run: [],
 *   ffi: [], params: {},
 * };
 * const yaml = kubernetesManifests(server, { image: "example/mcp-run:0.1.0" });
 * console.log(yaml.includes("readOnlyRootFilesystem: true")); // true
 * ```
 */
export function kubernetesManifests(
  server: ResolvedServer,
  options: KubernetesManifestsOptions,
): string {
  const name = dnsLabel(`mcp-run-${server.name.toLowerCase()}`, "the object name");
  const port = options.port ?? DEFAULT_SERVE_PORT;
  const [uid, gid] = checkContainerUser(options.user ?? CONTAINER_USER).split(":").map(Number);
  const image = checkImageReference(options.image);
  // The whole pod: each session's server process and serve itself. It asks the scheduler for
  // one process's worth; the pull job runs one process.
  const memory = quantity(
    options.memory ?? `${deployLimits(options.maxSessions).memoryMb}Mi`,
    "the memory limit",
  );
  const oneProcess = options.memory === undefined ? `${DEFAULT_LIMITS.memoryMb}Mi` : memory;
  const cpu = quantity(options.cpu ?? "1", "the CPU limit");
  const bandwidth = options.egressBandwidth === undefined
    ? undefined
    : quantity(options.egressBandwidth, "the egress bandwidth");
  const labels = { "app.kubernetes.io/name": "mcp-run", "app.kubernetes.io/instance": name };
  // The server's pods and the pull's: each kind has its own network policy.
  const serverLabels = { ...labels, "app.kubernetes.io/component": "server" };
  const pullLabels = { ...labels, "app.kubernetes.io/component": "pull" };
  const pullName = dnsLabel(`${name}-pull`, "the pull job's name");
  const metadata = {
    name,
    ...(options.namespace ? { namespace: dnsLabel(options.namespace, "the namespace") } : {}),
    labels,
  };
  const containerSecurity = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  const grants = grantMounts(server, options.claims ?? {});
  // The Secret holds the token unless another mode is chosen.
  const auth = deployAuth(
    options,
    options.auth === undefined ? !options.public : options.auth === "token",
  );
  if (auth === "none" && !options.public) {
    throw new RangeError(
      `Cannot serve from a pod without authentication: use the token (the default), ` +
        `--auth oauth, or --public for a server with a tool allowlist`,
    );
  }
  // Files serve reads from the Secret, copied with mode 600 (see above); the passphrase is
  // linked into the state root, where serve reads it.
  const files = auth === "token" ? ["token"] : auth === "oauth" ? ["passphrase"] : [];
  const copy = files.map((key) => `cat /secret/${key} > ${TOKEN_DIR}/${key}`);
  if (auth === "oauth") copy.push(`ln -sfn ${TOKEN_DIR}/passphrase ${STATE_DIR}/passphrase`);
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata,
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: serverLabels },
      template: {
        metadata: {
          labels: serverLabels,
          ...(bandwidth === undefined
            ? {}
            : { annotations: { "kubernetes.io/egress-bandwidth": bandwidth } }),
        },
        spec: {
          // gVisor: the pod (serve and every server it starts) runs under the RuntimeClass
          // whose handler is runsc.
          ...(options.isolation === "gvisor" ? { runtimeClassName: GVISOR_RUNTIME_CLASS } : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: gid ?? uid,
            fsGroup: gid ?? uid,
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [
            ...(files.length > 0
              ? [{
                name: "token",
                image,
                command: ["sh", "-c", ["umask 077", ...copy].join(" && ")],
                securityContext: containerSecurity,
                resources: { limits: { memory: "32Mi", cpu: "100m" } },
                volumeMounts: [
                  { name: "secret", mountPath: "/secret", readOnly: true },
                  { name: "token", mountPath: TOKEN_DIR },
                  ...(auth === "oauth" ? [{ name: "state", mountPath: STATE_DIR }] : []),
                ],
              }]
              : []),
            // The server runs offline: its pods start once the pull job has filled the cache.
            waitForPull(pullMarker(server, options, image), pullName, { image, containerSecurity }),
          ],
          containers: [{
            name: "mcp-run",
            image,
            command: ["mcp-run"],
            args: serveArgs(
              server,
              { ...options, host: "0.0.0.0", port },
              [
                // The pull job fills the cache: the server's pods reach no registry.
                "--offline",
                ...authArgs(auth, options, {
                  tokenFile: `${TOKEN_DIR}/token`,
                  stateDir: STATE_DIR,
                }),
              ],
            ),
            ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
            env: [
              { name: "HOME", value: STATE_DIR },
              { name: "MCP_RUN_CACHE", value: `${STATE_DIR}/cache` },
              ...secretEnv(server, name),
            ],
            securityContext: containerSecurity,
            resources: { limits: { memory, cpu }, requests: { memory: oneProcess, cpu: "100m" } },
            readinessProbe: {
              httpGet: {
                path: "/healthz",
                port: "http",
                // serve answers only the Host names it allows (against DNS rebinding).
                httpHeaders: [{ name: "Host", value: `localhost:${port}` }],
              },
            },
            volumeMounts: [
              { name: "state", mountPath: STATE_DIR },
              { name: "tmp", mountPath: "/tmp" },
              { name: "token", mountPath: TOKEN_DIR, readOnly: true },
              ...grants.mounts,
            ],
          }],
          volumes: [
            { name: "state", persistentVolumeClaim: { claimName: `${name}-state` } },
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
            { name: "token", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
            ...(files.length > 0
              ? [{
                name: "secret",
                secret: {
                  secretName: name,
                  items: files.map((key) => ({ key, path: key, mode: 0o440 })),
                },
              }]
              : []),
            ...grants.volumes,
          ],
        },
      },
    },
  };
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata,
    spec: {
      type: "ClusterIP",
      selector: serverLabels,
      ports: [{ name: "http", port, targetPort: "http", protocol: "TCP" }],
    },
  };
  const claim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { ...metadata, name: `${name}-state` },
    spec: {
      accessModes: ["ReadWriteOnce"],
      resources: { requests: { storage: quantity(options.stateSize ?? "1Gi", "the state size") } },
    },
  };
  const policy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata,
    spec: {
      podSelector: { matchLabels: serverLabels },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ ports: [{ port, protocol: "TCP" }] }],
      egress: egressRules(server, options.egressAddresses),
    },
  };
  const [pull, pullPolicy] = pullObjects(server, options, {
    metadata: { ...metadata, name: pullName, labels: pullLabels },
    labels: pullLabels,
    serverLabels,
    image,
    claim: `${name}-state`,
    podSecurity: deployment.spec.template.spec.securityContext,
    containerSecurity,
    resources: {
      limits: { memory: oneProcess, cpu },
      requests: { memory: oneProcess, cpu: "100m" },
    },
  });
  const keys = [...files, ...passedNames(server)];
  const from = (key: string) =>
    key === "token"
      ? "--from-file=token=TOKEN_FILE"
      : key === "passphrase"
      ? "--from-file=passphrase=PASSPHRASE_FILE"
      : `--from-literal=${key}=…`;
  return [
    `# mcp-run serve for "${server.name}", written by mcp-run deploy. Create its Secret first:`,
    `#   kubectl create secret generic ${name} ${keys.map(from).join(" ")}`,
    ...(files.includes("passphrase")
      ? [
        "# PASSPHRASE_FILE is the hash file `mcp-run serve --set-passphrase` writes (STATE_ROOT/",
        "# passphrase, by default ~/.local/state/mcp-run/passphrase), not the passphrase itself.",
      ]
      : []),
    ...(options.isolation === "gvisor"
      ? [
        `# The server's pods run under gVisor: the cluster needs the RuntimeClass`,
        `# "${GVISOR_RUNTIME_CLASS}" (apiVersion node.k8s.io/v1, handler: runsc) on nodes with gVisor's`,
        `# containerd shim; pods that name a missing RuntimeClass are never started.`,
      ]
      : []),
    `# The job ${pullName} caches the server for the pods, which reach no registry and wait for`,
    `# it (their init container "wait-for-pull"); to pull`,
    `# again (a new version), delete it and apply this file again.`,
    ...[claim, pull, pullPolicy, deployment, service, policy].map((doc) =>
      `---\n${stringify(doc, { aliasDuplicateObjects: false })}`
    ),
  ].join("\n");
}

/**
 * The NetworkPolicy egress rules of a server's grants: DNS when a name is granted, then one
 * rule per granted destination.
 *
 * @param server The server (its `net` grants).
 * @param vouched Addresses by host name.
 * @returns The rules (empty: no egress at all).
 * @throws {TypeError} When a grant cannot be parsed.
 * @throws {RangeError} When a vouched address is not an address or range.
 */
export function egressRules(
  server: Pick<ResolvedServer, "net">,
  vouched: Record<string, string[]> = {},
): Record<string, unknown>[] {
  const targets = egressTargets(server, vouched);
  const rules: Record<string, unknown>[] = [];
  if (targets.some((t) => t.byName)) rules.push(DNS_RULE);
  for (const target of targets) {
    const to = target.addresses.length > 0
      ? target.addresses.map((a) => ({ ipBlock: { cidr: cidr(a) } }))
      : [{ ipBlock: { cidr: "0.0.0.0/0", except: [...PRIVATE_IPV4_RANGES] } }];
    rules.push({
      to,
      ...(target.port !== undefined ? { ports: [{ port: target.port, protocol: "TCP" }] } : {}),
    });
  }
  return rules;
}

function cidr(address: string): string {
  if (address.includes("/")) return address;
  return address.includes(":") ? `${address}/128` : `${address}/32`;
}

function quantity(text: string, what: string): string {
  if (!QUANTITY_RE.test(text)) {
    throw new RangeError(`Cannot use "${text}" as ${what}: give a quantity such as 512Mi or 1`);
  }
  return text;
}

function passedNames(server: ResolvedServer): string[] {
  const names = server.env.filter((n) => !n.endsWith("*") && !(n in server.envValues));
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RangeError(`Cannot pass "${name}" to the pod: not a valid variable name`);
    }
  }
  return names;
}

function secretEnv(server: ResolvedServer, secretName: string): Record<string, unknown>[] {
  return passedNames(server).map((name) => ({
    name,
    valueFrom: {
      secretKeyRef: {
        name: secretName,
        key: name,
        ...(server.requiredEnv.includes(name) ? {} : { optional: true }),
      },
    },
  }));
}

function grantMounts(
  server: ResolvedServer,
  claims: Record<string, string>,
): { mounts: Record<string, unknown>[]; volumes: Record<string, unknown>[] } {
  const writable = new Set(server.write);
  const mounts: Record<string, unknown>[] = [];
  const volumes: Record<string, unknown>[] = [];
  [...new Set([...server.read, ...server.write])].forEach((path, index) => {
    const claim = claims[path];
    if (claim === undefined) {
      throw new RangeError(
        `Cannot grant "${path}" in Kubernetes: a cluster has no host paths. Name a ` +
          `PersistentVolumeClaim to mount there (claims["${path}"])`,
      );
    }
    const used = [STATE_DIR, TOKEN_DIR, "/tmp"];
    if (
      !path.startsWith("/") || path === "/" ||
      used.some((p) => path === p || path.startsWith(`${p}/`))
    ) {
      throw new RangeError(
        `Cannot mount a claim at "${path}": give an absolute path outside the folders mcp-run ` +
          `uses (${used.join(", ")})`,
      );
    }
    const volume = `grant-${index}`;
    volumes.push({
      name: volume,
      persistentVolumeClaim: {
        claimName: dnsLabel(claim, "a claim name"),
        readOnly: !writable.has(path),
      },
    });
    mounts.push({ name: volume, mountPath: path, readOnly: !writable.has(path) });
  });
  return { mounts, volumes };
}
