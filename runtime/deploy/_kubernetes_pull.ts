/**
 * The Kubernetes objects that fill a deployment's cache before its server starts: a Job running
 * `mcp-run pull` on the state claim, and its own NetworkPolicy (DNS and HTTPS to public
 * addresses, no ingress). The server's pods run `serve --offline` under a policy that reaches no
 * registry; the pull runs no server code and gets none of its secrets. Pure.
 *
 * @module
 */
import { PRIVATE_IPV4_RANGES } from "../policy/net_policy.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { type DeployServeOptions, pullArgs } from "./deploy_options.ts";

/** Egress to the cluster's DNS. */
export const DNS_RULE: Record<string, unknown> = {
  to: [{
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
    podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
  }],
  ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }],
};

/** Where the pull's pod mounts the state claim (the server's pods mount it there too). */
const STATE_DIR = "/state";

/**
 * The file the pull job writes in the state claim once the cache is filled, named after what
 * it pulled (image, server, parameters): the server's pods wait for it, and a new version waits
 * for its own pull.
 *
 * @param server The resolved server.
 * @param options Where the service names the server from.
 * @param image The image.
 * @returns The marker's path in the pods.
 */
export function pullMarker(
  server: ResolvedServer,
  options: Pick<DeployServeOptions, "serveTarget">,
  image: string,
): string {
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify([image, pullArgs(server, options)])) {
    hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  }
  return `${STATE_DIR}/.pulled-${hash.toString(16).padStart(8, "0")}`;
}

/**
 * The init container of the server's pods that waits for {@linkcode pullMarker}. The pull runs
 * in its own Job rather than as an init container of the server's pod because a NetworkPolicy
 * selects whole pods: the pull reaches the registries, the server's pod must not.
 *
 * @param marker The marker's path.
 * @param job The pull job's name (for the waiting message).
 * @param context Image and security context.
 * @returns The container.
 */
export function waitForPull(
  marker: string,
  job: string,
  context: Pick<PullContext, "image" | "containerSecurity">,
): Record<string, unknown> {
  return {
    name: "wait-for-pull",
    image: context.image,
    command: [
      "sh",
      "-c",
      `until [ -e ${marker} ]; do echo "waiting for the job ${job} to cache the server"; ` +
      "sleep 5; done",
    ],
    securityContext: context.containerSecurity,
    resources: { limits: { memory: "32Mi", cpu: "100m" } },
    volumeMounts: [{ name: "state", mountPath: STATE_DIR, readOnly: true }],
  };
}

/** What the pull shares with the server's Deployment. */
export interface PullContext {
  /** The objects' metadata (the pull's name and labels). */
  metadata: Record<string, unknown>;
  /** The pull pods' labels. */
  labels: Record<string, string>;
  /** The server pods' labels: the pull runs on their node, where the state claim is. */
  serverLabels: Record<string, string>;
  /** The image. */
  image: string;
  /** The state claim's name. */
  claim: string;
  /** The pod's security context. */
  podSecurity: Record<string, unknown>;
  /** The container's security context. */
  containerSecurity: Record<string, unknown>;
  /** The container's resources. */
  resources: Record<string, unknown>;
}

/**
 * The pull Job and its NetworkPolicy.
 *
 * @param server The resolved server.
 * @param options `serveTarget`, for the pull's arguments.
 * @param context What the pull shares with the Deployment.
 * @returns The Job and the NetworkPolicy.
 * @throws {RangeError} When the server's name or a parameter cannot be passed safely.
 */
export function pullObjects(
  server: ResolvedServer,
  options: Pick<DeployServeOptions, "serveTarget">,
  context: PullContext,
): [Record<string, unknown>, Record<string, unknown>] {
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: context.metadata,
    spec: {
      backoffLimit: 6,
      template: {
        metadata: { labels: context.labels },
        spec: {
          restartPolicy: "OnFailure",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: context.podSecurity,
          // The state claim is ReadWriteOnce: mounted on one node at a time, so the pull runs
          // on the server pod's (which waits for it, scheduled first or not).
          affinity: {
            podAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [{
                labelSelector: { matchLabels: context.serverLabels },
                topologyKey: "kubernetes.io/hostname",
              }],
            },
          },
          containers: [{
            name: "pull",
            image: context.image,
            // The marker is written only once the cache is filled and checked.
            command: [
              "sh",
              "-c",
              `mcp-run "$@" && touch ${pullMarker(server, options, context.image)}`,
              "mcp-run",
            ],
            args: pullArgs(server, options),
            env: [
              { name: "HOME", value: STATE_DIR },
              { name: "MCP_RUN_CACHE", value: `${STATE_DIR}/cache` },
            ],
            securityContext: context.containerSecurity,
            resources: context.resources,
            volumeMounts: [
              { name: "state", mountPath: STATE_DIR },
              { name: "tmp", mountPath: "/tmp" },
            ],
          }],
          volumes: [
            { name: "state", persistentVolumeClaim: { claimName: context.claim } },
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  };
  // Registries are names: every public address on 443. Nothing may connect to the pull.
  const policy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: context.metadata,
    spec: {
      podSelector: { matchLabels: context.labels },
      policyTypes: ["Ingress", "Egress"],
      egress: [
        DNS_RULE,
        {
          to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...PRIVATE_IPV4_RANGES] } }],
          ports: [{ port: 443, protocol: "TCP" }],
        },
      ],
    },
  };
  return [job, policy];
}
