import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { serverFixture } from "../policy/_server_fixture.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { egressRules, kubernetesManifests, type KubernetesManifestsOptions } from "./kubernetes.ts";

const BASE = { image: "example/mcp-run:0.1.0" };

// deno-lint-ignore no-explicit-any
type Doc = any;

function manifests(
  server: ResolvedServer,
  options: KubernetesManifestsOptions = BASE,
): Record<string, Doc> {
  const docs = parseAllDocuments(kubernetesManifests(server, options));
  const out: Record<string, Doc> = {};
  for (const doc of docs) {
    assert.deepEqual(doc.errors, []);
    const value = doc.toJS();
    const pull = value.kind === "NetworkPolicy" && value.metadata.name.endsWith("-pull");
    out[pull ? "PullNetworkPolicy" : value.kind] = value;
  }
  return out;
}

Deno.test("kubernetesManifests() writes a Deployment, Service, NetworkPolicy and claim", () => {
  const docs = manifests(serverFixture({ name: "Time" }), { ...BASE, namespace: "tools" });
  assert.deepEqual(Object.keys(docs).sort(), [
    "Deployment",
    "Job",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "PullNetworkPolicy",
    "Service",
  ]);
  for (const doc of Object.values(docs)) assert.equal(doc.metadata.namespace, "tools");
  assert.equal(docs.Deployment.metadata.name, "mcp-run-time");
  assert.equal(docs.Deployment.spec.replicas, 1);
  assert.deepEqual(docs.Service.spec.ports, [
    { name: "http", port: 8808, targetPort: "http", protocol: "TCP" },
  ]);
  assert.deepEqual(docs.Service.spec.selector, docs.Deployment.spec.selector.matchLabels);
  assert.deepEqual(
    docs.NetworkPolicy.spec.podSelector.matchLabels,
    docs.Deployment.spec.template.metadata.labels,
  );
});

Deno.test("kubernetesManifests() runs every container under the restricted standard", () => {
  const pod = manifests(serverFixture()).Deployment.spec.template.spec;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(pod.securityContext.runAsUser > 0);
  assert.deepEqual(pod.securityContext.seccompProfile, { type: "RuntimeDefault" });
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.hostNetwork ?? false, false);
  const containers = [...pod.initContainers, ...pod.containers];
  assert.equal(containers.length, 3); // token, wait-for-pull, mcp-run
  for (const container of containers) {
    const sc = container.securityContext;
    assert.equal(sc.allowPrivilegeEscalation, false, container.name);
    assert.equal(sc.readOnlyRootFilesystem, true, container.name);
    assert.equal(sc.runAsNonRoot, true, container.name);
    assert.equal(sc.privileged, false, container.name);
    assert.deepEqual(sc.capabilities, { drop: ["ALL"] }, container.name);
    assert.deepEqual(sc.seccompProfile, { type: "RuntimeDefault" }, container.name);
    assert.ok(container.resources.limits.memory, container.name);
  }
  assert.ok(!pod.volumes.some((v: Doc) => v.hostPath), "no hostPath volume");
  assert.throws(() => kubernetesManifests(serverFixture(), { ...BASE, user: "0:0" }), RangeError);
});

Deno.test("kubernetesManifests() runs serve with its token copied from the Secret", () => {
  const server = serverFixture({ name: "memory", params: { dir: ["/data"] }, write: ["/data"] });
  const pod = manifests(server, { ...BASE, claims: { "/data": "notes" }, port: 9000 })
    .Deployment.spec.template.spec;
  const main = pod.containers[0];
  assert.deepEqual(main.command, ["mcp-run"]);
  assert.deepEqual(main.args, [
    "serve",
    "memory",
    "-p",
    "dir=/data",
    "--host",
    "0.0.0.0",
    "--port",
    "9000",
    "--max-sessions",
    "4",
    "--offline",
    "--token-file",
    "/run/mcp-run/token",
  ]);
  assert.match(pod.initContainers[0].command.join(" "), /umask 077 && cat \/secret\/token >/);
  const secret = pod.volumes.find((v: Doc) => v.name === "secret").secret;
  assert.equal(secret.secretName, "mcp-run-memory");
  assert.deepEqual(
    pod.volumes.find((v: Doc) => v.name === "grant-0").persistentVolumeClaim,
    { claimName: "notes", readOnly: false },
  );
  assert.equal(main.readinessProbe.httpGet.httpHeaders[0].value, "localhost:9000");
});

Deno.test("kubernetesManifests() takes secrets from the Secret and never writes a value", () => {
  const server = serverFixture({
    env: ["GITHUB_TOKEN", "LOG_LEVEL", "AWS_*"],
    secrets: ["GITHUB_TOKEN"],
    requiredEnv: ["GITHUB_TOKEN"],
    envValues: { LOG_LEVEL: "s3cr3t-fixed-value" },
  });
  const text = kubernetesManifests(server, BASE);
  assert.doesNotMatch(text, /s3cr3t-fixed-value/);
  assert.doesNotMatch(text, /^kind: Secret$/m);
  const env = manifests(server).Deployment.spec.template.spec.containers[0].env;
  assert.deepEqual(env.slice(2), [{
    name: "GITHUB_TOKEN",
    valueFrom: { secretKeyRef: { name: "mcp-run-demo", key: "GITHUB_TOKEN" } },
  }]);
  for (const entry of env) {
    if (entry.value !== undefined) assert.ok(["HOME", "MCP_RUN_CACHE"].includes(entry.name));
  }
  assert.match(text, /kubectl create secret generic mcp-run-demo --from-file=token=/);
});

Deno.test("kubernetesManifests() caps egress bandwidth with the pod annotation", () => {
  const meta = (options: KubernetesManifestsOptions) =>
    manifests(serverFixture(), options).Deployment.spec.template.metadata;
  // None unless asked for: a cap is the operator's choice.
  assert.equal(meta(BASE).annotations, undefined);
  assert.equal(
    meta({ ...BASE, egressBandwidth: "1M" }).annotations["kubernetes.io/egress-bandwidth"],
    "1M",
  );
  assert.throws(() => meta({ ...BASE, egressBandwidth: "fast" }), RangeError);
});

Deno.test("kubernetesManifests() allows no egress at all for a server without net grants", () => {
  const policy = manifests(serverFixture()).NetworkPolicy.spec;
  assert.deepEqual(policy.policyTypes, ["Ingress", "Egress"]);
  assert.deepEqual(policy.egress, []);
  assert.deepEqual(policy.ingress, [{ ports: [{ port: 8808, protocol: "TCP" }] }]);
});

Deno.test("egressRules() allows DNS for names and each granted destination on its port", () => {
  const rules = egressRules(
    { net: ["api.github.com:443", "1.2.3.4", "[2001:db8::1]:80", "example.org:8443"] },
    { "api.github.com": ["140.82.112.0/20"] },
  );
  assert.equal(rules.length, 5);
  assert.deepEqual((rules[0] as Doc).ports, [
    { port: 53, protocol: "UDP" },
    { port: 53, protocol: "TCP" },
  ]);
  assert.deepEqual(rules[1], {
    to: [{ ipBlock: { cidr: "140.82.112.0/20" } }],
    ports: [{ port: 443, protocol: "TCP" }],
  });
  assert.deepEqual(rules[2], { to: [{ ipBlock: { cidr: "1.2.3.4/32" } }] });
  assert.deepEqual(rules[3], {
    to: [{ ipBlock: { cidr: "2001:db8::1/128" } }],
    ports: [{ port: 80, protocol: "TCP" }],
  });
  const open = rules[4] as Doc;
  assert.equal(open.to[0].ipBlock.cidr, "0.0.0.0/0");
  assert.ok(open.to[0].ipBlock.except.includes("10.0.0.0/8"));
  assert.ok(open.to[0].ipBlock.except.includes("127.0.0.0/8"));
  assert.deepEqual(open.ports, [{ port: 8443, protocol: "TCP" }]);
  // Only addresses: no DNS rule.
  assert.equal(egressRules({ net: ["1.2.3.4:80"] }).length, 1);
});

Deno.test("kubernetesManifests() refuses unpinned images, host paths and bad names", () => {
  const refuse = (server: ResolvedServer, options: KubernetesManifestsOptions) =>
    assert.throws(() => kubernetesManifests(server, options), RangeError);
  refuse(serverFixture(), { image: "example/mcp-run:latest" });
  refuse(serverFixture({ read: ["/srv/docs"] }), BASE);
  refuse(serverFixture({ read: ["/state/x"] }), { ...BASE, claims: { "/state/x": "c" } });
  refuse(serverFixture({ read: ["/srv/docs"] }), { ...BASE, claims: { "/srv/docs": "Bad_Name" } });
  refuse(serverFixture({ name: "a.b" }), BASE);
  refuse(serverFixture(), { ...BASE, namespace: "kube system" });
  refuse(serverFixture(), { ...BASE, memory: "1024Mi\nx: y" });
  refuse(serverFixture({ env: ["A-B"] }), BASE);
});

Deno.test("kubernetesManifests() runs OAuth with the passphrase from the Secret in its state", () => {
  const yaml = kubernetesManifests(serverFixture({ name: "time" }), {
    ...BASE,
    auth: "oauth",
    publicUrl: "https://mcp.example.com/mcp",
  });
  const pod = manifests(serverFixture({ name: "time" }), {
    ...BASE,
    auth: "oauth",
    publicUrl: "https://mcp.example.com/mcp",
  }).Deployment.spec.template.spec;
  assert.deepEqual(pod.containers[0].args.slice(-6), [
    "--auth",
    "oauth",
    "--public-url",
    "https://mcp.example.com/mcp",
    "--state-dir",
    "/state",
  ]);
  const init = pod.initContainers[0];
  assert.equal(
    init.command[2],
    "umask 077 && cat /secret/passphrase > /run/mcp-run/passphrase && " +
      "ln -sfn /run/mcp-run/passphrase /state/passphrase",
  );
  assert.ok(init.volumeMounts.some((m: Doc) => m.mountPath === "/state"));
  const secret = pod.volumes.find((v: Doc) => v.name === "secret").secret;
  assert.deepEqual(secret.items, [{ key: "passphrase", path: "passphrase", mode: 0o440 }]);
  assert.match(yaml, /--from-file=passphrase=PASSPHRASE_FILE/);
  assert.match(
    yaml,
    /^# PASSPHRASE_FILE is the hash file `mcp-run serve --set-passphrase` writes/m,
  );
  assert.doesNotMatch(yaml, /token=TOKEN_FILE|--token-file/);
});

Deno.test("kubernetesManifests() serves --public with no Secret files and refuses none", () => {
  const pod = manifests(serverFixture({ name: "docs" }), { ...BASE, public: true, tools: ["a"] })
    .Deployment.spec.template.spec;
  assert.deepEqual(
    pod.containers[0].args.slice(-6),
    ["--tools", "a", "--max-sessions", "4", "--offline", "--public"],
  );
  assert.deepEqual(pod.initContainers.map((c: Doc) => c.name), ["wait-for-pull"]);
  assert.ok(!pod.volumes.some((v: Doc) => v.name === "secret"));
  assert.throws(
    () => kubernetesManifests(serverFixture(), { ...BASE, auth: "none" }),
    /without authentication/,
  );
});

Deno.test("kubernetesManifests() fills the cache with a pull job that has its own policy", () => {
  const server = serverFixture({
    name: "notes",
    params: { dir: ["/data"] },
    write: ["/data"],
    env: ["API_KEY"],
  });
  const docs = manifests(server, { ...BASE, claims: { "/data": "notes" } });
  const job = docs.Job;
  assert.equal(job.metadata.name, "mcp-run-notes-pull");
  const pod = job.spec.template.spec;
  assert.equal(pod.restartPolicy, "OnFailure");
  assert.equal(pod.automountServiceAccountToken, false);
  // The state claim is ReadWriteOnce: the pull must run on the server pod's node.
  assert.deepEqual(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution, [{
    labelSelector: { matchLabels: docs.Deployment.spec.template.metadata.labels },
    topologyKey: "kubernetes.io/hostname",
  }]);
  assert.deepEqual(
    docs.Deployment.spec.template.metadata.labels,
    docs.Deployment.spec.selector.matchLabels,
  );
  assert.equal(
    docs.PersistentVolumeClaim.spec.accessModes.join(),
    "ReadWriteOnce",
  );
  const [pull] = pod.containers;
  assert.deepEqual(pull.args, ["pull", "notes", "-p", "dir=/data"]);
  // The pods wait for the marker the job writes once the cache is filled.
  const marker = /touch (\/state\/\.pulled-[0-9a-f]{8})$/.exec(pull.command[2])?.[1];
  assert.ok(marker, pull.command.join(" "));
  assert.deepEqual(pull.command.slice(0, 2), ["sh", "-c"]);
  assert.match(pull.command[2], /^mcp-run "\$@" && touch /);
  const wait = docs.Deployment.spec.template.spec.initContainers.at(-1);
  assert.equal(wait.name, "wait-for-pull");
  assert.match(wait.command[2], new RegExp(`^until \\[ -e ${marker.replaceAll(".", "\\.")} \\]`));
  assert.deepEqual(wait.volumeMounts, [{ name: "state", mountPath: "/state", readOnly: true }]);
  // Another version waits for its own pull.
  const other = manifests(server, {
    ...BASE,
    image: "example/mcp-run:0.2.0",
    claims: { "/data": "notes" },
  });
  assert.doesNotMatch(other.Job.spec.template.spec.containers[0].command[2], new RegExp(marker));
  // No secret reaches the pull, and it mounts only the state and /tmp.
  assert.ok(pull.env.every((e: Doc) => !e.valueFrom), "no secret in the pull's environment");
  assert.deepEqual(pull.volumeMounts.map((m: Doc) => m.mountPath), ["/state", "/tmp"]);
  assert.deepEqual(pull.securityContext.capabilities, { drop: ["ALL"] });
  assert.equal(pull.securityContext.readOnlyRootFilesystem, true);
  // The server's pods run offline, and the two policies select different pods.
  assert.ok(docs.Deployment.spec.template.spec.containers[0].args.includes("--offline"));
  const serverPods = docs.NetworkPolicy.spec.podSelector.matchLabels;
  const pullPods = docs.PullNetworkPolicy.spec.podSelector.matchLabels;
  assert.deepEqual(job.spec.template.metadata.labels, pullPods);
  assert.notEqual(
    serverPods["app.kubernetes.io/component"],
    pullPods["app.kubernetes.io/component"],
  );
  assert.deepEqual(docs.Service.spec.selector, serverPods);
  const egress = docs.PullNetworkPolicy.spec.egress;
  assert.equal(egress.length, 2);
  assert.deepEqual(egress[1].ports, [{ port: 443, protocol: "TCP" }]);
  assert.ok(egress[1].to[0].ipBlock.except.includes("10.0.0.0/8"));
  assert.equal(docs.PullNetworkPolicy.spec.ingress, undefined, "nothing may connect to it");
});

Deno.test("kubernetesManifests() sizes the pod's memory for every session's process", () => {
  const pod = manifests(serverFixture({ name: "time" }), { ...BASE, maxSessions: 2 })
    .Deployment.spec.template.spec;
  assert.equal(pod.containers[0].resources.limits.memory, "3072Mi");
  // It asks the scheduler for one process's worth; the pull job runs one process.
  assert.equal(pod.containers[0].resources.requests.memory, "1024Mi");
});
