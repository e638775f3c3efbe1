import assert from "node:assert/strict";
import { join } from "node:path";
import { serverFixture } from "../policy/_server_fixture.ts";
import {
  DEFAULT_DEPLOY_IMAGE,
  deploymentFiles,
  deploymentSteps,
  writeDeployment,
} from "./deployment.ts";

Deno.test("deploymentFiles() gives each target its files", () => {
  const server = serverFixture({ name: "Time" });
  const names = (target: "systemd" | "compose" | "kubernetes") =>
    deploymentFiles(server, { target, tokenFile: "/etc/t" }).map((f) => f.name);
  assert.deepEqual(names("systemd"), ["mcp-run-Time.service", "mcp-run-Time-pull.service"]);
  assert.deepEqual(names("compose"), ["compose.yaml"]);
  assert.deepEqual(names("kubernetes"), ["mcp-run-time.yaml"]);
  const compose = deploymentFiles(server, { target: "compose", tokenFile: "/etc/t" })[0].text;
  assert.match(compose, new RegExp(`image: ${DEFAULT_DEPLOY_IMAGE}`));
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => deploymentFiles(server, { target: "nomad" as any }),
    /give one of systemd, kubernetes, compose/,
  );
});

Deno.test("DEFAULT_DEPLOY_IMAGE is tagged with mcp-run's version", async () => {
  const { version } = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  );
  assert.equal(DEFAULT_DEPLOY_IMAGE, `mcp-run/mcp-run:${version}`);
});

Deno.test("deploymentSteps() names the commands that start each target", () => {
  const server = serverFixture({ name: "time", env: ["API_KEY"] });
  const systemd = deploymentFiles(server, { target: "systemd" });
  assert.deepEqual(deploymentSteps("systemd", systemd, "/srv/my deploy"), [
    "sudo install -m 644 '/srv/my deploy/mcp-run-time.service' " +
    "'/srv/my deploy/mcp-run-time-pull.service' /etc/systemd/system/",
    "sudo systemctl daemon-reload",
    "sudo systemctl enable --now mcp-run-time.service",
  ]);
  const k8s = deploymentFiles(server, { target: "kubernetes", image: "r.example/m:1" });
  assert.deepEqual(deploymentSteps("kubernetes", k8s, "out", "r.example/m:1"), [
    "kubectl create secret generic mcp-run-time --from-file=token=TOKEN_FILE " +
    "--from-literal=API_KEY=…",
    "kubectl apply -f out/mcp-run-time.yaml",
  ]);
  const compose = deploymentSteps(
    "compose",
    deploymentFiles(server, {
      target: "compose",
      tokenFile: "/etc/t",
    }),
    "out",
  );
  assert.match(
    compose[0],
    /^git archive HEAD \| docker build -t mcp-run\/mcp-run:\S+ -f runtime\/deploy\/Dockerfile -/,
  );
  assert.equal(compose[1], "docker compose -p mcp-run-time -f out/compose.yaml up -d");
});

Deno.test("writeDeployment() writes every file or none, and replaces only with force", async () => {
  const dir = join(await Deno.makeTempDir(), "new");
  const files = [{ name: "a", text: "1" }, { name: "b", text: "2" }];
  assert.deepEqual(await writeDeployment(dir, files), [join(dir, "a"), join(dir, "b")]);
  await Deno.remove(join(dir, "a"));
  await assert.rejects(
    () => writeDeployment(dir, [{ name: "a", text: "new" }, { name: "b", text: "new" }]),
    Deno.errors.AlreadyExists,
  );
  // Nothing was written: "a" is still missing.
  await assert.rejects(() => Deno.stat(join(dir, "a")), Deno.errors.NotFound);
  await writeDeployment(dir, [{ name: "b", text: "3" }], { force: true });
  assert.equal(await Deno.readTextFile(join(dir, "b")), "3");
  await Deno.remove(dir, { recursive: true });
});
