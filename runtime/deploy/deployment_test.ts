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
  const options = { target: "systemd" } as const;
  const systemd = deploymentFiles(server, options);
  assert.deepEqual(deploymentSteps(server, options, systemd, "/srv/my deploy"), [
    "sudo tools/install.sh /usr/local   # in mcp-run's repository: installs /usr/local/bin/mcp-run",
    "sudo install -m 644 '/srv/my deploy/mcp-run-time.service' " +
    "'/srv/my deploy/mcp-run-time-pull.service' /etc/systemd/system/",
    "sudo systemctl daemon-reload",
    "sudo systemctl enable --now mcp-run-time.service",
    "# Name lookups reach only a resolver on loopback (systemd-resolved's 127.0.0.53); " +
    "for another, deploy again with --client-address RESOLVER_IP",
  ]);
  const k8sOptions = { target: "kubernetes", image: "r.example/m:1" } as const;
  const k8s = deploymentFiles(server, k8sOptions);
  assert.deepEqual(deploymentSteps(server, k8sOptions, k8s, "out"), [
    "kubectl create secret generic mcp-run-time --from-file=token=TOKEN_FILE " +
    "--from-literal=API_KEY=…",
    "kubectl apply -f out/mcp-run-time.yaml",
  ]);
  const composeOptions = { target: "compose", tokenFile: "/etc/t" } as const;
  const compose = deploymentSteps(
    server,
    composeOptions,
    deploymentFiles(server, composeOptions),
    "out",
  );
  assert.match(
    compose[0],
    /^git archive HEAD \| docker build -t mcp-run\/mcp-run:\S+ -f runtime\/deploy\/Dockerfile -/,
  );
  assert.equal(compose.at(-1), "docker compose -p mcp-run-time -f out/compose.yaml up -d");
});

Deno.test("deploymentSteps() installs mcp-run where the unit runs it", () => {
  const server = serverFixture({ name: "time" });
  const steps = (program: string) => {
    const options = { target: "systemd", program } as const;
    return deploymentSteps(server, options, deploymentFiles(server, options), "out");
  };
  assert.match(steps("/opt/mcp/bin/mcp-run")[0], /^sudo tools\/install\.sh \/opt\/mcp /);
  assert.match(steps("/srv/run-it")[0], /^# \/srv\/run-it must run mcp-run: tools\/install\.sh/);
  const unit = deploymentFiles(server, { target: "systemd", program: "/opt/mcp/bin/mcp-run" });
  assert.match(unit[0].text, /^ExecStart=\/opt\/mcp\/bin\/mcp-run serve /m);
  assert.match(unit[1].text, /^ExecStart=\/opt\/mcp\/bin\/mcp-run pull /m);
});

Deno.test("deploymentSteps() gives write grants to the service's user and names the secrets", () => {
  const server = serverFixture({
    name: "notes",
    write: ["/srv/notes"],
    env: ["API_KEY"],
    secrets: ["API_KEY"],
    requiredEnv: ["API_KEY"],
  });
  const systemdOptions = { target: "systemd" } as const;
  const systemd = deploymentFiles(server, systemdOptions);
  const steps = deploymentSteps(server, systemdOptions, systemd, "out");
  assert.ok(
    steps.includes(
      "sudo useradd --system --no-create-home --shell /usr/sbin/nologin mcp-run-notes",
    ),
  );
  assert.ok(steps.includes("sudo chown -R mcp-run-notes: /srv/notes"));
  assert.ok(steps.some((s) => /\/etc\/mcp-run\/notes\.env must hold API_KEY/.test(s)));
  // Set up before the units are started.
  const start = steps.indexOf("sudo systemctl enable --now mcp-run-notes.service");
  assert.ok(steps.findIndex((s) => s.startsWith("sudo chown")) < start);
  assert.match(systemd[0].text, /^# Before starting: \/etc\/mcp-run\/notes\.env .* API_KEY/m);
  assert.match(systemd[0].text, /^# Write grants: a static user "mcp-run-notes"/m);
  assert.match(systemd[0].text, /^# admits only a resolver on loopback/m);

  const composeOptions = {
    target: "compose",
    auth: "oauth",
    publicUrl: "https://mcp.example.com/mcp",
    passphraseFile: "/home/me/.local/state/mcp-run/passphrase",
  } as const;
  const compose = deploymentFiles(server, composeOptions);
  assert.match(compose[0].text, /file: \.\/passphrase$/m);
  const composeSteps = deploymentSteps(server, composeOptions, compose, "out");
  assert.ok(composeSteps.includes("sudo chown -R 1993:1993 /srv/notes"));
  assert.ok(
    composeSteps.includes(
      "sudo install -m 600 -o 1993 -g 1993 /home/me/.local/state/mcp-run/passphrase " +
        "out/passphrase",
    ),
  );
  assert.ok(!composeSteps.some((s) => /chown .*passphrase/.test(s)));
  assert.ok(!composeSteps.some((s) => /token/.test(s)));
});

Deno.test("deploymentSteps() copies the token for the container's user, where compose reads it", () => {
  const options = { target: "compose", tokenFile: "/home/me/token" } as const;
  const files = deploymentFiles(serverFixture({ name: "time" }), options);
  // Outside swarm a compose secret is the host file, bind-mounted with its owner and mode: the
  // operator's 0600 token would be unreadable for uid 1993.
  assert.match(files[0].text, /file: \.\/token$/m);
  assert.doesNotMatch(files[0].text, /\/home\/me\/token/);
  const steps = deploymentSteps(serverFixture({ name: "time" }), options, files, "out");
  const copy = steps.indexOf("sudo install -m 600 -o 1993 -g 1993 /home/me/token out/token");
  assert.ok(copy >= 0, steps.join("\n"));
  assert.ok(copy < steps.findIndex((s) => s.startsWith("docker compose")));
  assert.ok(!steps.some((s) => /passphrase/.test(s)));
});

Deno.test("writeDeployment() refuses a file as the folder, saying so", async () => {
  const file = await Deno.makeTempFile();
  await assert.rejects(
    () => writeDeployment(file, [{ name: "a", text: "1" }]),
    Deno.errors.NotADirectory,
    "it is a file, not a folder; give --out a folder",
  );
  await Deno.remove(file);
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
