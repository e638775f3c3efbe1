/**
 * `mcp-run deploy --isolation gvisor` for every target, checked by each target's own validator:
 * the systemd units by `systemd-analyze verify`, the Kubernetes manifests by kubernetes-validate
 * (strict, the official schemas); compose is refused. Each validator is
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

/** `systemd-analyze verify` passes the fixture's two units in `out`, with no unknown key. */
async function verifyUnits(out: string): Promise<void> {
  const verify = await run("systemd-analyze", [
    "verify",
    "./mcp-run-bridge-fixture.service",
    "./mcp-run-bridge-fixture-pull.service",
  ], out);
  assert.ok(verify.ok, verify.output);
  assert.doesNotMatch(verify.output, /Unknown key|Failed to parse|bad unit file/, verify.output);
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

  await verifyUnits(out);
  // Negative control: the same check refuses a unit with a broken ExecStart=.
  await Deno.writeTextFile(
    join(out, "mcp-run-broken.service"),
    service.replace(/^ExecStart=\S+/m, "ExecStart=relative/mcp-run"),
  );
  const broken = await run("systemd-analyze", ["verify", "./mcp-run-broken.service"], out);
  assert.equal(broken.ok, false, broken.output);
});

Deno.test("deployCommand() passes the deploying user's gVisor runtime name to the systemd units", async () => {
  const home = tempDir();
  Deno.mkdirSync(join(home, ".config", "mcp-run"), { recursive: true });
  Deno.writeTextFileSync(
    join(home, ".config", "mcp-run", "config.json"),
    `{ "gvisorRuntime": "runsc-test" }`,
  );
  const out = join(tempDir("mcp-run-deploy-gvisor-"), "out");
  const args = ["deploy", MANIFEST, "--target", "systemd", "--program", "/usr/bin/true"];
  const r = await cli([...args, "--isolation", "gvisor", "--out", out], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  const path = "/etc/mcp-run/bridge-fixture.config.json";
  for (const name of ["mcp-run-bridge-fixture.service", "mcp-run-bridge-fixture-pull.service"]) {
    const unit = await Deno.readTextFile(join(out, name));
    assert.match(unit, new RegExp(`^LoadCredential=config:${path}$`, "m"));
    assert.match(unit, /^Environment=MCP_RUN_CONFIG=%d\/config$/m);
  }
  // The steps install the file where the units read it, and only the units into systemd's folder.
  assert.match(
    r.stdout,
    new RegExp(`sudo install -m 600 ${join(out, "bridge-fixture.config.json")} ${path}`),
  );
  assert.doesNotMatch(r.stdout, /config\.json \/etc\/systemd\/system/);
  await verifyUnits(out);
  // mcp-run reads the written file as its config: a gvisor launch names that runtime.
  const probe = join(ROOT, "tests/testdata/docker_probe/manifest.jsonc");
  const data = tempDir();
  Deno.chmodSync(data, 0o777);
  const flags = await cli(
    ["flags", probe, "-p", `dir=${data}`, "--isolation", "gvisor", "--format", "json"],
    { env: { HOME: tempDir(), MCP_RUN_CONFIG: join(out, "bridge-fixture.config.json") } },
  );
  assert.equal(flags.code, 0, flags.stderr);
  const argv: string[] = JSON.parse(flags.stdout);
  assert.equal(argv[argv.indexOf("--runtime") + 1], "runsc-test");
  // Positive control: without a runtime name, no config file and no credential.
  const plain = await cli([...args, "--isolation", "gvisor"]);
  assert.equal(plain.code, 0, plain.stderr);
  assert.doesNotMatch(plain.stdout, /LoadCredential=config|MCP_RUN_CONFIG|config\.json/);
});

Deno.test("deployCommand() refuses compose under gVisor, naming what works", async () => {
  const dir = tempDir();
  const token = join(dir, "token");
  await Deno.writeTextFile(token, "t".repeat(64), { mode: 0o600 });
  const out = join(dir, "out");
  const args = ["deploy", MANIFEST, "--target", "compose", "--token-file", token, "--out", out];
  const refused = await cli([...args, "--isolation", "gvisor"]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /Cannot deploy to compose under gVisor: the compose service listens on a port, and the engine's gVisor runtime is registered with --network=none/,
  );
  assert.match(
    refused.stderr,
    /Use --target systemd --isolation gvisor .* --target kubernetes --isolation gvisor/,
  );
  assert.throws(() => Deno.statSync(out), Deno.errors.NotFound);
  // Positive control: the same deployment without gVisor is written, with no runtime key, and
  // docker-compose reads it.
  const plain = await cli(args);
  assert.equal(plain.code, 0, plain.stderr);
  const text = await Deno.readTextFile(join(out, "compose.yaml"));
  assert.doesNotMatch(text, /runtime:/);
  const config = await run("docker-compose", ["-f", "compose.yaml", "config"], out);
  assert.ok(config.ok, config.output);
});

Deno.test("deployCommand() takes gVisor only from --isolation, not from the user's config", async () => {
  const home = tempDir();
  Deno.mkdirSync(join(home, ".config", "mcp-run"), { recursive: true });
  Deno.writeTextFileSync(
    join(home, ".config", "mcp-run", "config.json"),
    `{ "isolation": "gvisor" }`,
  );
  const unit = await cli(["deploy", MANIFEST, "--target", "systemd"], { env: { HOME: home } });
  assert.equal(unit.code, 0, unit.stderr);
  assert.match(
    unit.stderr,
    /your config's default isolation "gvisor" is for run and serve here; this deployment runs its servers under Deno's permissions\. Give --isolation gvisor/,
  );
  assert.doesNotMatch(unit.stdout, /--isolation|SupplementaryGroups/);
  assert.match(unit.stdout, /^PrivateUsers=yes$/m);
  // Positive control: given, the unit runs its servers under gVisor, and no such line.
  const given = await cli(["deploy", MANIFEST, "--target", "systemd", "--isolation", "gvisor"], {
    env: { HOME: home },
  });
  assert.equal(given.code, 0, given.stderr);
  assert.match(given.stdout, /^SupplementaryGroups=docker$/m);
  assert.doesNotMatch(given.stderr, /default isolation/);
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
