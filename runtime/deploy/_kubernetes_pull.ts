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

/** What the pull shares with the server's Deployment. */
export interface PullContext {
  /** The objects' metadata (the pull's name and labels). */
  metadata: Record<string, unknown>;
  /** The pull pods' labels. */
  labels: Record<string, string>;
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
          containers: [{
            name: "pull",
            image: context.image,
            command: ["mcp-run"],
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
