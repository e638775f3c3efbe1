/**
 * `mcp-run deploy --isolation gvisor` for every target, checked by each target's own validator:
 * the systemd units by `systemd-analyze verify`, the compose file by `docker-compose config`, the
 * Kubernetes manifests by kubernetes-validate (strict, the official schemas). Each validator is
 * first shown to refuse a broken copy (negative control), so a pass means something.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_public_fixture.jsonc");

/** Runs a program; its exit status and both outputs. */
async function run(program: string, args: string[], cwd?: string): Promise<{
  ok: boolean;
  output: string;
}> {
  const result = await new Deno.Command(program, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { ok: result.success, output: text.decode(result.stdout) + text.decode(result.stderr) };
}

/** `mcp-run deploy MANIFEST --isolation gvisor --out DIR …`; the folder written. */
async function deploy(args: string[]): Promise<string> {
  const out = join(tempDir("mcp-run-deploy-gvisor-"), "out");
  const r = await cli(["deploy", MANIFEST, "--isolation", "gvisor", "--out", out, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

/** A unit's `ExecStart=` words. */
function execStart(unit: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  assert.ok(line, unit);
  return line.slice("ExecStart=".length).split(" ");
}

Deno.test("deployCommand() with --isolation gvisor writes systemd units that run serve and pull under gVisor", async () => {
  // verify checks that ExecStart= names an executable: give it one.
  const out = await deploy(["--target", "systemd", "--program", "/usr/bin/true"]);
  const service = await Deno.readTextFile(join(out, "mcp-run-bridge-fixture.service"));
  const pull = await Deno.readTextFile(join(out, "mcp-run-bridge-fixture-pull.service"));
  assert.deepEqual(execStart(service).slice(-2), ["--isolation", "gvisor"]);
  assert.deepEqual(execStart(pull).slice(-2), ["--isolation", "gvisor"]);
  for (const unit of [service, pull]) {
    assert.match(unit, /^SupplementaryGroups=docker$/m);
    assert.match(unit, /^After=.* docker\.service$/m);
    assert.doesNotMatch(unit, /^PrivateUsers=/m);
  }
  assert.match(service, /^Requires=mcp-run-bridge-fixture-pull\.service docker\.service$/m);
  assert.match(service, /whoever commands the engine is as\n# strong as root/);

  const verify = await run("systemd-analyze", [
    "verify",
    "./mcp-run-bridge-fixture.service",
    "./mcp-run-bridge-fixture-pull.service",
  ], out);
  assert.ok(verify.ok, verify.output);
  assert.doesNotMatch(verify.output, /Unknown key|Failed to parse|bad unit file/, verify.output);
  // Negative control: the same check refuses a unit with a broken ExecStart=.
  await Deno.writeTextFile(
    join(out, "mcp-run-broken.service"),
    service.replace(/^ExecStart=\S+/m, "ExecStart=relative/mcp-run"),
  );
  const broken = await run("systemd-analyze", ["verify", "./mcp-run-broken.service"], out);
  assert.equal(broken.ok, false, broken.output);
});

Deno.test("deployCommand() with --isolation gvisor runs the compose service, not its pull, under runsc", async () => {
  const dir = tempDir();
  const token = join(dir, "token");
  await Deno.writeTextFile(token, "t".repeat(64), { mode: 0o600 });
  const out = await deploy(["--target", "compose", "--token-file", token]);
  const config = await run("docker-compose", ["-f", "compose.yaml", "config"], out);
  assert.ok(config.ok, config.output);
  const text = await Deno.readTextFile(join(out, "compose.yaml"));
  // One runtime key, in the serving service, after the pull service's block.
  const runtimes = [...text.matchAll(/^ {4}runtime: (\S+)$/gm)];
  assert.deepEqual(runtimes.map((m) => m[1]), ["runsc"]);
  assert.ok(runtimes[0].index! > text.indexOf("  mcp-run:"), text);
  assert.match(text, /registered without --network=none/);
  // The user config names the runtime.
  const home = tempDir();
  Deno.mkdirSync(join(home, ".config", "mcp-run"), { recursive: true });
  Deno.writeTextFileSync(
    join(home, ".config", "mcp-run", "config.json"),
    `{ "isolation": "gvisor", "gvisorRuntime": "runsc-net" }`,
  );
  const named = await cli(
    ["deploy", MANIFEST, "--target", "compose", "--token-file", token],
    { env: { HOME: home } },
  );
  assert.equal(named.code, 0, named.stderr);
  assert.match(named.stdout, /^ {4}runtime: runsc-net$/m);
  // Negative control: docker-compose refuses a runtime that is not a name.
  await Deno.writeTextFile(join(out, "bad.yaml"), text.replace("runtime: runsc", "runtime: [1]"));
  const bad = await run("docker-compose", ["-f", "bad.yaml", "config"], out);
  assert.equal(bad.ok, false, bad.output);
});

Deno.test("deployCommand() with --isolation gvisor runs the pod under the gvisor RuntimeClass", async () => {
  const setup = await run(join(ROOT, "tools/kubernetes_validate_setup.sh"), []);
  assert.ok(setup.ok, setup.output);
  const validator = setup.output.trim().split("\n").at(-1)!;
  const out = await deploy(["--target", "kubernetes"]);
  const file = join(out, "mcp-run-bridge-fixture.yaml");
  const text = await Deno.readTextFile(file);
  const validate = (path: string) =>
    run(validator, ["--strict", "--kubernetes-version", "1.37.0", path]);
  const checked = await validate(file);
  assert.ok(checked.ok, checked.output);
  const { parseAllDocuments } = await import("yaml");
  const docs = parseAllDocuments(text).map((d) => d.toJS());
  const deployment = docs.find((d) => d?.kind === "Deployment");
  const job = docs.find((d) => d?.kind === "Job");
  assert.equal(deployment.spec.template.spec.runtimeClassName, "gvisor");
  // The pull runs no server code: the default runtime.
  assert.equal(job.spec.template.spec.runtimeClassName, undefined);
  assert.match(text, /RuntimeClass\n# "gvisor" \(apiVersion node\.k8s\.io\/v1, handler: runsc\)/);
  // Negative control: the schema refuses a runtime class that is not a string.
  const bad = join(out, "bad.yaml");
  await Deno.writeTextFile(bad, text.replace("runtimeClassName: gvisor", "runtimeClassName: [1]"));
  assert.equal((await validate(bad)).ok, false);
});

Deno.test("deployCommand() without gvisor writes no runtime, and refuses --isolation docker", async () => {
  const dir = tempDir();
  const out = join(dir, "out");
  const plain = await cli(["deploy", MANIFEST, "--target", "kubernetes", "--out", out]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(
    await Deno.readTextFile(join(out, "mcp-run-bridge-fixture.yaml")),
    /runtimeClassName/,
  );
  const unit = await cli(["deploy", MANIFEST, "--target", "systemd"]);
  assert.equal(unit.code, 0, unit.stderr);
  assert.doesNotMatch(unit.stdout, /--isolation|SupplementaryGroups/);
  assert.match(unit.stdout, /^PrivateUsers=yes$/m);
  const docker = await cli(["deploy", MANIFEST, "--target", "systemd", "--isolation", "docker"]);
  assert.equal(docker.code, 2);
  assert.match(docker.stderr, /deploy takes --isolation deno or gvisor/);
});
