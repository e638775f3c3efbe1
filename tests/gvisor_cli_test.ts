/**
 * `--isolation gvisor` through the CLI: the plans of run and serve (a hardened container under
 * the engine's gVisor runtime, no network of its own), the user config's default and runtime
 * name, the docker options gVisor refuses and why, client entries in the docker and launcher
 * forms (the docker-form entry started as a client starts it, answering a real MCP client), and
 * `serve --public`'s start-up advice.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { IMAGE } from "./_docker.ts";
import { CLI_GVISOR, gvisorProblem } from "./_gvisor.ts";
import { withEntryClient } from "./_client_readers.ts";
import { startServe } from "./_serve_cli.ts";

const PROBE = join(ROOT, "tests/testdata/docker_probe/manifest.jsonc");
const NET_FIXTURE = join(ROOT, "tests/testdata/egress_rate/manifest.jsonc");
const PUBLIC_FIXTURE = join(ROOT, "tests/testdata/serve_public_fixture.jsonc");

/** A folder the container's user may write (a root launcher refuses one it could not). */
function sharedDir(): string {
  const dir = tempDir("mcp-run-gvisor-data-");
  Deno.chmodSync(dir, 0o777);
  return dir;
}

/** A home whose user config holds `config`. */
function homeWith(config: string): string {
  const home = tempDir("mcp-run-gvisor-home-");
  Deno.mkdirSync(join(home, ".config", "mcp-run"), { recursive: true });
  Deno.writeTextFileSync(join(home, ".config", "mcp-run", "config.json"), config);
  return home;
}

/** The value after `flag` in an argv. */
function after(argv: string[], flag: string): string | undefined {
  const at = argv.indexOf(flag);
  return at < 0 ? undefined : argv[at + 1];
}

Deno.test("mcp-run run and serve --dry-run --isolation gvisor plan a container under runsc without a network", async () => {
  const data = sharedDir();
  for (const command of ["run", "serve"]) {
    const r = await cli([
      command,
      PROBE,
      "-p",
      `dir=${data}`,
      "--isolation",
      "gvisor",
      "--dry-run",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split("\n").find((l) => l.startsWith("command: docker run "));
    assert.ok(line, r.stdout);
    assert.match(line, / --runtime runsc /);
    assert.match(line, / --network none /);
    assert.match(line, / --read-only --cap-drop ALL /);
    // Positive control: docker isolation plans the same container under the default runtime.
    const docker = await cli([
      command,
      PROBE,
      "-p",
      `dir=${data}`,
      "--isolation",
      "docker",
      "--dry-run",
    ]);
    assert.equal(docker.code, 0, docker.stderr);
    assert.doesNotMatch(docker.stdout, /--runtime/);
  }
});

Deno.test("mcp-run takes gvisor and the runtime's name from the user's config file", async () => {
  const data = sharedDir();
  const home = homeWith(`{ "isolation": "gvisor", "gvisorRuntime": "runsc-test" } // stronger`);
  const flags = (extra: string[]) =>
    cli(["flags", PROBE, "-p", `dir=${data}`, "--format", "json", ...extra], {
      env: { HOME: home },
    });
  const gvisor = await flags([]);
  assert.equal(gvisor.code, 0, gvisor.stderr);
  const argv: string[] = JSON.parse(gvisor.stdout);
  assert.equal(argv[0], "docker");
  assert.equal(after(argv, "--runtime"), "runsc-test");
  assert.equal(after(argv, "--network"), "none");
  // An explicit --isolation still wins over the default.
  const docker: string[] = JSON.parse((await flags(["--isolation", "docker"])).stdout);
  assert.equal(docker[0], "docker");
  assert.equal(after(docker, "--runtime"), undefined);
  const native: string[] = JSON.parse((await flags(["--isolation", "deno"])).stdout);
  assert.match(native[0], /(deno|prlimit)$/);
});

Deno.test("mcp-run refuses --network and --egress-rate under gvisor, saying why", async () => {
  const data = sharedDir();
  const given = ["--isolation", "gvisor"];
  const cases: [string[], string[], RegExp][] = [
    [
      ["run", PROBE, "--network", "host"],
      given,
      /--network needs --isolation docker: under --isolation gvisor the server's container has no network of its own \(--network none\); granted hosts are reached only through mcp-run's egress proxy/,
    ],
    [
      ["serve", PROBE, "--egress-rate", "8mbit"],
      given,
      /--egress-rate needs --isolation docker: under --isolation gvisor .* so there is no interface to cap/,
    ],
    [
      ["flags", PROBE, "--network", "bridge"],
      given,
      /--network needs --isolation docker: under --isolation gvisor/,
    ],
  ];
  for (const [args, isolation, message] of cases) {
    const r = await cli([...args, "-p", `dir=${data}`, ...isolation]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  // The same refusal when gvisor is the user's default.
  const home = homeWith(`{ "isolation": "gvisor" }`);
  const byDefault = await cli(["run", PROBE, "-p", `dir=${data}`, "--network", "host"], {
    env: { HOME: home },
  });
  assert.equal(byDefault.code, 2, byDefault.stderr);
  assert.match(
    byDefault.stderr,
    /under gvisor isolation \(mcp-run's config file default\) the server's container has no network/,
  );
  // pull's refusal names the way to pull with another network.
  const pull = await cli(["pull", PROBE, "-p", `dir=${data}`, "--network", "host", ...given]);
  assert.equal(pull.code, 2, pull.stderr);
  assert.match(
    pull.stderr,
    /--network needs --isolation docker: under --isolation gvisor no network is chosen, for the pull either .* A pull with --isolation docker --network NAME fills the same cache, and gVisor launches use it/,
  );
  // Options both container isolations take name both.
  const native = await cli([
    "run",
    PROBE,
    "-p",
    `dir=${data}`,
    "--isolation",
    "deno",
    "--image",
    IMAGE,
  ]);
  assert.equal(native.code, 2);
  assert.match(native.stderr, /--image needs --isolation docker or gvisor/);
  // Positive control: --network under docker is taken.
  const docker = await cli(
    ["run", PROBE, "-p", `dir=${data}`, "--isolation", "docker", "--network", "host", "--dry-run"],
  );
  assert.equal(docker.code, 0, docker.stderr);
});

Deno.test("mcp-run serve --public advises --isolation gvisor in its start-up lines, unless in use", async () => {
  const cache = tempDir("mcp-run-gvisor-cache-");
  const served = await startServe([PUBLIC_FIXTURE, "--public", "--port", "0", "--cache", cache]);
  try {
    const deadline = Date.now() + 10_000;
    while (!/tools allowed/.test(served.stderr()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = served.stderr().split("\n");
    assert.ok(
      lines.includes(
        "mcp-run serve: anyone can reach this server and Deno's permissions share the host's " +
          "kernel: --isolation gvisor runs each server under gVisor's user-space kernel instead " +
          '(needs runsc registered with docker; see the README\'s "Isolation tiers")',
      ),
      served.stderr(),
    );
  } finally {
    served.child.kill("SIGTERM");
    assert.equal((await served.child.status).code, 0, served.stderr());
  }
  // Without --public there is no such line.
  const token = join(tempDir(), "token");
  Deno.writeTextFileSync(token, `${"t".repeat(40)}\n`, { mode: 0o600 });
  Deno.chmodSync(token, 0o600);
  const closed = await startServe([
    PUBLIC_FIXTURE,
    "--token-file",
    token,
    "--port",
    "0",
    "--cache",
    cache,
  ]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.doesNotMatch(closed.stderr(), /--isolation gvisor/);
  } finally {
    closed.child.kill("SIGTERM");
    await closed.child.status;
  }
});

Deno.test("mcp-run adopt --isolation gvisor --dry-run says each adopted entry runs under gVisor", async () => {
  const home = tempDir("mcp-run-gvisor-adopt-");
  Deno.mkdirSync(join(home, ".cursor"), { recursive: true });
  const file = join(home, ".cursor", "mcp.json");
  const text = JSON.stringify({
    mcpServers: {
      files: {
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"],
      },
    },
  });
  Deno.writeTextFileSync(file, text);
  const plan = async (extra: string[]) => {
    const r = await cli(
      ["adopt", "--client", "cursor", "--dry-run", "--format", "json", ...extra],
      { env: { HOME: home } },
    );
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).entries[0].notes.join("\n");
  };
  assert.match(await plan(["--isolation", "gvisor"]), /its entry runs under gVisor/);
  // Positive control: by default, a native entry, no such note.
  assert.doesNotMatch(await plan([]), /gVisor/);
  assert.equal(Deno.readTextFileSync(file), text);
});

Deno.test("mcp-run config and install --isolation gvisor refuse an entry weaker than gVisor, before pulling", async () => {
  const data = sharedDir();
  const cache = tempDir("mcp-run-gvisor-cache-");
  const file = join(tempDir(), "mcp.json");
  const gvisor = ["--isolation", "gvisor", "--cache", cache];
  // A deno-form entry would run the server natively: a usage error, whatever the command.
  for (
    const args of [
      ["config", PROBE, "-p", `dir=${data}`, "--form", "deno"],
      ["config", PROBE, "-p", `dir=${data}`, "--form", "deno", "--client", "cursor"],
      ["install", PROBE, "-p", `dir=${data}`, "--form", "deno", "--client", "cursor"],
    ]
  ) {
    const r = await cli([...args, "--file", file, ...gvisor]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /--form deno runs the server natively on the host's kernel, not under gVisor/,
    );
    assert.doesNotMatch(r.stderr, /Pulling/);
  }
  // A server with network grants as a plain docker-form entry: refused, as with --client.
  const net = await cli(["config", NET_FIXTURE, "--form", "docker", ...gvisor]);
  assert.equal(net.code, 3, net.stderr);
  assert.match(net.stderr, /as a docker command under the gVisor runtime "runsc"/);
  assert.doesNotMatch(net.stderr, /Pulling/);
  // Positive control: without --isolation gvisor the deno-form entry is written.
  const native = await cli([
    "config",
    PROBE,
    "-p",
    `dir=${data}`,
    "--form",
    "deno",
    "--cache",
    cache,
  ]);
  assert.equal(native.code, 0, native.stderr);
  assert.match(JSON.parse(native.stdout).command, /(deno|prlimit)$/);
  assert.doesNotMatch(native.stderr, /gVisor/);
  assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
  // With gVisor only the config file's default, --form deno is the user's choice, said aloud.
  const byDefault = await cli(
    ["config", PROBE, "-p", `dir=${data}`, "--form", "deno", "--cache", cache],
    { env: { HOME: homeWith(`{ "isolation": "gvisor" }`) } },
  );
  assert.equal(byDefault.code, 0, byDefault.stderr);
  assert.match(JSON.parse(byDefault.stdout).command, /(deno|prlimit)$/);
  assert.match(
    byDefault.stderr,
    /--form deno: this entry runs the server natively, under Deno's permissions on the host's kernel, not under gVisor \(the config file's default isolation\)/,
  );
});

Deno.test("mcp-run adopt --isolation gvisor says what works for a server with secrets in an env file and network grants", async () => {
  const home = tempDir("mcp-run-gvisor-adopt-");
  const file = join(home, "claude_desktop_config.json");
  const token = `ghp_GVISORCANARY${crypto.randomUUID().replaceAll("-", "")}`;
  const text = JSON.stringify({
    mcpServers: {
      github: {
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-github"],
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: token },
      },
    },
  });
  Deno.writeTextFileSync(file, text);
  const adopt = (isolation: string, ...extra: string[]) =>
    cli([
      ...["adopt", "--client", "claude-desktop", "--file", file, "--format", "json", ...extra],
      ...["--isolation", isolation, "--cache", tempDir("mcp-run-gvisor-cache-")],
    ], { env: { HOME: home } });
  // The dry run plans what the run does.
  for (const extra of ["--dry-run", "--yes"]) {
    const r = await adopt("gvisor", extra);
    assert.equal(r.code, 0, r.stderr);
    const entry = JSON.parse(r.stdout).entries[0];
    assert.equal(entry.action, "leave", JSON.stringify(entry));
    assert.match(
      entry.reason,
      /^under gVisor its network grants are reached only through mcp-run's egress proxy, which only the launcher form starts, and Claude Desktop cannot reference a secret/,
    );
    assert.match(entry.reason, /Adopt it with --isolation docker/);
    assert.equal(entry.envFile, undefined);
    assert.doesNotMatch(JSON.stringify(entry.notes), /env file|runs in docker/);
  }
  // The file and the token stay where they were: no env file is written.
  assert.equal(Deno.readTextFileSync(file), text);
  assert.throws(
    () => Deno.statSync(join(home, ".config", "mcp-run", "secrets")),
    Deno.errors.NotFound,
  );
  // The way it names, planned: under docker the entry is the docker form with the env file.
  const docker = await cli(
    [
      "adopt",
      "--client",
      "claude-desktop",
      "--file",
      file,
      "--dry-run",
      "--format",
      "json",
      "--isolation",
      "docker",
    ],
    { env: { HOME: home } },
  );
  assert.equal(docker.code, 0, docker.stderr);
  assert.equal(JSON.parse(docker.stdout).entries[0].action, "adopt");
});

const noGvisor = await gvisorProblem("gvisor_cli_test.ts: skipping the entries");

Deno.test({
  name: "mcp-run config and install --isolation gvisor write entries that run under runsc",
  ignore: noGvisor !== undefined,
  // The SDK's close() races the child's exit against an unreferenced 2 s timer.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cache = tempDir("mcp-run-gvisor-cache-");
    const data = sharedDir();
    const common = ["-p", `dir=${data}`, "--image", IMAGE, "--cache", cache];
    // The docker form: a complete docker run under gVisor's runtime, with no network.
    const config = await cli(["config", PROBE, "--isolation", "gvisor", ...common]);
    assert.equal(config.code, 0, config.stderr);
    const entry: { command: string; args: string[] } = JSON.parse(config.stdout);
    assert.equal(entry.command, "docker");
    assert.equal(after(entry.args, "--runtime"), "runsc");
    assert.equal(after(entry.args, "--network"), "none");
    // --form docker given: the same entry, still under gVisor's runtime.
    const given = await cli([
      "config",
      PROBE,
      "--isolation",
      "gvisor",
      "--form",
      "docker",
      ...common,
    ]);
    assert.equal(given.code, 0, given.stderr);
    assert.deepEqual(JSON.parse(given.stdout), entry);
    // Started exactly as a client starts it, it answers a real MCP client.
    await withEntryClient({ ...entry, env: {} }, "gvisor-docker-form", async (mcp) => {
      assert.equal(mcp.getServerVersion()?.name, "docker-probe");
      const tools = (await mcp.listTools()).tools.map((t: { name: string }) => t.name);
      assert.ok(tools.includes("probe"), tools.join(","));
    });

    // Without --form, install writes the launcher form under gVisor, which passes it on.
    const file = join(tempDir(), "mcp.json");
    const install = await cli([
      ...["install", PROBE, "--client", "cursor", "--file", file],
      ...["--isolation", "gvisor", ...common],
    ]);
    assert.equal(install.code, 0, install.stderr);
    const launcher = JSON.parse(await Deno.readTextFile(file)).mcpServers["docker-probe"];
    assert.equal(after(launcher.args, "--isolation"), "gvisor");

    // A server with network grants cannot be a docker-form entry under gVisor, and is refused
    // before anything is pulled; under docker it can (positive control).
    for (
      const args of [["config"], [
        "install",
        "--client",
        "cursor",
        "--file",
        file,
        "--form",
        "docker",
      ]]
    ) {
      const refused = await cli([...args, NET_FIXTURE, "--isolation", "gvisor", "--cache", cache]);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        /as a docker command under the gVisor runtime "runsc": it reaches example\.com:443 only through mcp-run's egress proxy/,
      );
      assert.match(refused.stderr, /Use --form launcher/);
      assert.doesNotMatch(refused.stderr, /Pulling/);
    }
    const docker = await cli([
      "config",
      NET_FIXTURE,
      "--isolation",
      "docker",
      "--image",
      IMAGE,
      "--cache",
      cache,
    ]);
    assert.equal(docker.code, 0, docker.stderr);
    assert.equal(after(JSON.parse(docker.stdout).args, "--network"), "bridge");
  },
});

Deno.test("mcp-run check --isolation gvisor --trust accepts run/ffi as a container does", async () => {
  const trusted = join(ROOT, "tests/testdata/denials/trusted.jsonc");
  const gvisor = await cli(["check", trusted, "--isolation", "gvisor", "--trust"]);
  assert.equal(gvisor.code, 0, gvisor.stderr);
  const untrusted = await cli(["check", trusted, "--isolation", "gvisor"]);
  assert.equal(untrusted.code, 3, untrusted.stderr);
  assert.match(untrusted.stderr, /pass --trust/);
  // Natively never, and the refusal names both container isolations.
  const native = await cli(["check", trusted]);
  assert.equal(native.code, 3, native.stderr);
  assert.match(native.stderr, /--isolation docker --trust \(or --isolation gvisor --trust\)/);
});

Deno.test({
  name: "mcp-run serve --public --isolation gvisor does not advise gVisor, which it runs under",
  ignore: noGvisor !== undefined,
  fn: async () => {
    const cache = tempDir("mcp-run-gvisor-cache-");
    const served = await startServe([
      ...[PUBLIC_FIXTURE, "--public", "--port", "0", "--cache", cache],
      ...CLI_GVISOR,
    ]);
    try {
      const deadline = Date.now() + 60_000;
      while (!/tools allowed/.test(served.stderr()) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.match(served.stderr(), /tools allowed: echo/);
      assert.doesNotMatch(served.stderr(), /--isolation gvisor runs each server/);
    } finally {
      served.child.kill("SIGTERM");
      await served.child.status;
    }
  },
});

Deno.test({
  name: "mcp-run adopt --isolation gvisor writes the launcher form with --isolation gvisor",
  ignore: noGvisor !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const home = tempDir("mcp-run-gvisor-adopt-");
    Deno.mkdirSync(join(home, ".cursor"), { recursive: true });
    const file = join(home, ".cursor", "mcp.json");
    const docs = sharedDir();
    Deno.writeTextFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          files: {
            command: "npx",
            args: ["-y", "@modelcontextprotocol/server-filesystem", docs],
          },
        },
      }),
    );
    const r = await cli([
      ...["adopt", "--client", "cursor", "--yes", "--format", "json"],
      ...["--cache", tempDir("mcp-run-gvisor-cache-"), ...CLI_GVISOR],
    ], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout).entries[0];
    assert.equal(plan.action, "adopt", JSON.stringify(plan));
    const entry = JSON.parse(Deno.readTextFileSync(file)).mcpServers.files;
    assert.equal(after(entry.args, "--isolation"), "gvisor", entry.args.join(" "));
    assert.ok(entry.args.includes("run"), entry.args.join(" "));
    assert.doesNotMatch(entry.command, /^docker$/);
  },
});
