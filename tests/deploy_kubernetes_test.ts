/**
 * Every Kubernetes deployment mcp-run writes, validated offline against the official schemas
 * (kubernetes-validate, pinned, bundles them; tools/kubernetes_validate_setup.sh installs it),
 * and a broken manifest refused by the same check.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { kubernetesManifests, type KubernetesManifestsOptions } from "../runtime/deploy/mod.ts";
import type { ResolvedServer } from "../runtime/policy/resolve.ts";
import { ROOT, tempDir } from "./_helpers.ts";
import { registryServer } from "./_helpers.ts";
import { serverFixture } from "../runtime/policy/_server_fixture.ts";

/** Installs the pinned validator when missing; returns its program. */
async function validator(): Promise<string> {
  const setup = await new Deno.Command(join(ROOT, "tools/kubernetes_validate_setup.sh"), {
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.ok(setup.success, "tools/kubernetes_validate_setup.sh failed");
  return new TextDecoder().decode(setup.stdout).trim().split("\n").at(-1)!;
}

/** Validates a YAML stream strictly (unknown fields refused); returns the exit code and report. */
async function validate(program: string, yaml: string): Promise<{ ok: boolean; report: string }> {
  const file = join(tempDir(), "manifests.yaml");
  await Deno.writeTextFile(file, yaml);
  const result = await new Deno.Command(program, {
    args: ["--strict", "--kubernetes-version", "1.37.0", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const report = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  return { ok: result.success, report };
}

const IMAGE = { image: "registry.example/mcp-run:0.1.0" };

async function cases(): Promise<[string, ResolvedServer, KubernetesManifestsOptions][]> {
  const github = await registryServer("github", tempDir());
  return [
    ["no grants, token", serverFixture({ name: "time" }), IMAGE],
    [
      "names, vouched addresses, grants on claims, a namespace",
      serverFixture({
        name: "notes",
        net: ["api.github.com:443", "example.org", "203.0.113.7:8443"],
        read: ["/srv/docs"],
        write: ["/srv/notes"],
        env: ["API_KEY", "LOG_LEVEL"],
        requiredEnv: ["API_KEY"],
      }),
      {
        ...IMAGE,
        namespace: "tools",
        claims: { "/srv/docs": "docs", "/srv/notes": "notes" },
        egressAddresses: { "api.github.com": ["140.82.112.0/20"] },
        allowedHosts: ["mcp.example.com"],
        trustProxy: ["10.0.0.0/8"],
        sessionMode: "shared",
      },
    ],
    [
      "OAuth",
      serverFixture({ name: "remote" }),
      { ...IMAGE, auth: "oauth", publicUrl: "https://mcp.example.com/mcp" },
    ],
    ["public", serverFixture({ name: "docs" }), { ...IMAGE, public: true, tools: ["search"] }],
    ["a registry server", github, IMAGE],
  ];
}

Deno.test("kubernetesManifests() writes manifests the official schemas accept", async () => {
  const program = await validator();
  for (const [what, server, options] of await cases()) {
    const { ok, report } = await validate(program, kubernetesManifests(server, options));
    assert.ok(ok, `${what}:\n${report}`);
    // Every object was checked, not skipped.
    const kinds = ["deployment", "service", "networkpolicy", "persistentvolumeclaim", "job"];
    for (const kind of kinds) {
      assert.match(report, new RegExp(`passed for resource ${kind}/`), `${what}: ${kind}`);
    }
  }
});

Deno.test("kubernetesManifests() validation refuses a broken manifest (negative control)", async () => {
  const program = await validator();
  const good = kubernetesManifests(serverFixture({ name: "time" }), IMAGE);
  const broken = [
    // A wrong type, an unknown field, a missing required field.
    good.replace("readOnlyRootFilesystem: true", 'readOnlyRootFilesystem: "yes"'),
    good.replace("automountServiceAccountToken: false", "automountServiceAcountToken: false"),
    good.replace(/\n {2}selector:\n {4}matchLabels:\n( {6}.*\n)+/, "\n"),
  ];
  for (const yaml of broken) {
    assert.notEqual(yaml, good);
    const { ok, report } = await validate(program, yaml);
    assert.ok(!ok, `accepted:\n${report}`);
    assert.match(report, /did not validate for resource (deployment|job)\//);
  }
});
