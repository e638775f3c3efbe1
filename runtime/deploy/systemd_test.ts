import assert from "node:assert/strict";
import { serverFixture } from "../policy/_server_fixture.ts";
import { systemdPullUnit, systemdUnit, unitName } from "./systemd.ts";

const ANALYZE = "/usr/bin/systemd-analyze";

/** Runs `systemd-analyze security --offline=yes` on a unit text; returns score and verdict. */
async function securityScore(
  name: string,
  text: string,
): Promise<{ score: number; verdict: string; output: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/${name}.service`;
    await Deno.writeTextFile(file, text);
    const result = await new Deno.Command(ANALYZE, {
      args: ["security", "--offline=yes", "--no-pager", file],
      env: { SYSTEMD_COLORS: "0", LC_ALL: "C.UTF-8" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const output = new TextDecoder().decode(result.stdout) +
      new TextDecoder().decode(result.stderr);
    // deno-lint-ignore no-control-regex
    const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
    const match = /Overall exposure level for \S+:\s*([0-9]+(?:\.[0-9]+)?)\s+([A-Z]+)/.exec(plain);
    assert.ok(match, `no exposure score in systemd-analyze output:\n${plain}`);
    return { score: Number(match[1]), verdict: match[2], output: plain };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const networked = serverFixture({
  name: "fetch",
  net: ["api.github.com:443", "1.2.3.4"],
  read: ["/srv/docs"],
  write: ["/home/u/notes", "/srv/data"],
  params: { dir: ["/home/u/notes"] },
});

Deno.test("systemdUnit() scores 1.5 or better (OK) in systemd-analyze security", async () => {
  const cases = [
    { server: serverFixture({ name: "time" }), options: {} },
    {
      server: networked,
      options: {
        host: "0.0.0.0",
        tokenFile: "/etc/mcp-run/token",
        trustProxy: ["10.0.0.5"],
        egressAddresses: { "api.github.com": ["140.82.112.0/20"] },
      },
    },
    {
      server: serverFixture({ name: "remote" }),
      options: {
        host: "0.0.0.0",
        trustProxy: ["127.0.0.1"],
        auth: "oauth" as const,
        publicUrl: "https://mcp.example.com/mcp",
        passphraseFile: "/etc/mcp-run/passphrase",
      },
    },
  ];
  for (const { server, options } of cases) {
    const { score, verdict, output } = await securityScore(
      unitName(server.name),
      systemdUnit(server, options),
    );
    assert.ok(score <= 1.5, `exposure ${score} for ${server.name}:\n${output}`);
    assert.equal(verdict, "OK");
  }
});

Deno.test("systemdUnit() is scored worse by systemd-analyze without its hardening", async () => {
  // Positive control: the score parser sees a real difference.
  const unit = systemdUnit(serverFixture({ name: "time" }), {})
    .split("\n")
    .filter((line) => !/^(Protect|Private|SystemCall|Restrict|Capability|NoNew)/.test(line))
    .join("\n");
  const { score } = await securityScore("mcp-run-time", unit);
  assert.ok(score > 1.5, `stripped unit still scored ${score}`);
});

Deno.test("systemdUnit() denies every address but loopback, clients and granted egress", () => {
  const unit = systemdUnit(networked, {
    host: "0.0.0.0",
    tokenFile: "/etc/mcp-run/token",
    clientAddresses: ["192.168.1.0/24"],
    egressAddresses: { "api.github.com": ["140.82.112.0/20"] },
  });
  assert.match(unit, /^IPAddressDeny=any$/m);
  assert.match(
    unit,
    /^IPAddressAllow=localhost 192\.168\.1\.0\/24 140\.82\.112\.0\/20 1\.2\.3\.4$/m,
  );
  assert.equal(unit.match(/^IPAddressAllow=/gm)?.length, 1);
});

Deno.test("systemdUnit() refuses a granted host name without vouched addresses", () => {
  assert.throws(
    () => systemdUnit(serverFixture({ net: ["api.github.com:443"] }), {}),
    (error: Error) =>
      error instanceof RangeError && error.message.includes('"api.github.com:443"') &&
      error.message.includes("--egress-address NAME=CIDR"),
  );
  assert.throws(
    () =>
      systemdUnit(serverFixture({ net: ["api.github.com"] }), {
        egressAddresses: { "api.github.com": ["not an address"] },
      }),
    RangeError,
  );
});

Deno.test("systemdUnit() requires a token and client addresses beyond loopback", () => {
  assert.throws(
    () => systemdUnit(serverFixture(), { host: "0.0.0.0" }),
    /without authentication/,
  );
  assert.throws(
    () => systemdUnit(serverFixture(), { host: "0.0.0.0", tokenFile: "/etc/t" }),
    /which clients may connect.*--client-address ADDR/,
  );
  // No authentication at all (--public) still needs to know the clients.
  assert.throws(
    () => systemdUnit(serverFixture(), { host: "0.0.0.0", public: true }),
    /give --client-address ADDR/,
  );
  const unit = systemdUnit(serverFixture(), {
    host: "0.0.0.0",
    tokenFile: "/etc/mcp-run/token",
    clientAddresses: ["any"],
  });
  assert.match(unit, /^LoadCredential=token:\/etc\/mcp-run\/token$/m);
  // serve reads a copy it owns: systemd's own credential file is root's, readable by an ACL.
  assert.match(unit, /^RuntimeDirectory=mcp-run-demo$/m);
  assert.match(
    unit,
    /^ExecStartPre=\/usr\/bin\/install -m 600 \$\{CREDENTIALS_DIRECTORY\}\/token \/run\/mcp-run-demo\/token$/m,
  );
  assert.match(unit, /--token-file \/run\/mcp-run-demo\/token$/m);
});

Deno.test("systemdUnit() runs serve with the parameters, quoted for systemd", () => {
  const server = serverFixture({
    name: "memory",
    params: { dir: ["/srv/my notes"], tag: ["100%$HOME"] },
  });
  const unit = systemdUnit(server, { port: 9000, allowedHosts: ["mcp.example.com"] });
  const exec = unit.split("\n").find((line) => line.startsWith("ExecStart="));
  assert.equal(
    exec,
    'ExecStart=/usr/local/bin/mcp-run serve memory -p "dir=/srv/my notes" -p tag=100%%$$HOME ' +
      "--host 127.0.0.1 --port 9000 --allowed-host mcp.example.com --max-sessions 4 --offline",
  );
});

Deno.test("systemdUnit() runs OAuth with the passphrase as a credential copied into its state", () => {
  const options = {
    host: "0.0.0.0",
    trustProxy: ["127.0.0.1"],
    auth: "oauth" as const,
    publicUrl: "https://mcp.example.com/mcp",
    passphraseFile: "/etc/mcp-run/passphrase",
  };
  const unit = systemdUnit(serverFixture({ name: "time" }), options);
  assert.match(
    unit,
    /^ExecStart=\S+ serve time .* --auth oauth --public-url https:\/\/mcp\.example\.com\/mcp --state-dir \/var\/lib\/mcp-run-time$/m,
  );
  assert.match(unit, /^LoadCredential=passphrase:\/etc\/mcp-run\/passphrase$/m);
  assert.match(
    unit,
    /^ExecStartPre=\/usr\/bin\/install -m 600 \$\{CREDENTIALS_DIRECTORY\}\/passphrase \/var\/lib\/mcp-run-time\/passphrase$/m,
  );
  assert.match(unit, /^StateDirectory=mcp-run-time$/m);
  assert.doesNotMatch(unit, /token/);
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, passphraseFile: undefined }),
    /--set-passphrase/,
  );
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, publicUrl: undefined }),
    /--public-url/,
  );
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, publicUrl: "ftp://x/mcp" }),
    /OAuth needs https/,
  );
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, publicUrl: "https://mcp.example.com" }),
    /must end with the MCP path \/mcp/,
  );
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, tokenFile: "/etc/t" }),
    /the token file is for --auth token/,
  );
});

Deno.test("systemdUnit() serves --public without a token, and refuses it with one", () => {
  const options = { host: "0.0.0.0", clientAddresses: ["any"], public: true, tools: ["search"] };
  const unit = systemdUnit(serverFixture({ name: "docs" }), options);
  assert.match(unit, /^ExecStart=.* --tools search --max-sessions 4 --offline --public$/m);
  assert.throws(
    () => systemdUnit(serverFixture(), { ...options, tokenFile: "/etc/t" }),
    /--public serves without authentication/,
  );
});

Deno.test("systemdPullUnit() caches the server as the service's user before it starts", async () => {
  const server = serverFixture({ name: "memory", params: { dir: ["/srv/notes"] } });
  const pull = systemdPullUnit(server, {});
  assert.match(pull, /^ExecStart=\/usr\/local\/bin\/mcp-run pull memory -p dir=\/srv\/notes$/m);
  assert.match(pull, /^Type=oneshot$/m);
  const service = systemdUnit(server, {});
  for (const key of ["User", "StateDirectory", "CacheDirectory", "Environment"]) {
    const line = (text: string) => text.split("\n").find((l) => l.startsWith(`${key}=`));
    assert.equal(line(pull), line(service), key);
  }
  assert.match(service, /^Requires=mcp-run-memory-pull\.service$/m);
  assert.match(service, /^After=.*mcp-run-memory-pull\.service$/m);
  // The pull reaches registries; no server code runs in it, and it keeps the rest of the sandbox.
  assert.doesNotMatch(pull, /IPAddressDeny/);
  const { score, output } = await securityScore("mcp-run-memory-pull", pull);
  assert.ok(score <= 1.5, `pull unit exposure ${score}:\n${output}`);
});

Deno.test("systemdUnit() refuses values that would break out of a line or an argument", () => {
  const hostile = [
    serverFixture({ params: { dir: ["/x\nExecStartPre=/bin/sh"] } }),
    serverFixture({ name: "../etc" }),
    serverFixture({ write: ["/srv/a b"] }),
  ];
  for (const server of hostile) assert.throws(() => systemdUnit(server, {}), RangeError);
  assert.throws(() => systemdUnit(serverFixture(), { memoryMax: "1G\nUser=root" }), RangeError);
  assert.throws(() => systemdUnit(serverFixture(), { program: "mcp-run" }), RangeError);
  assert.throws(
    () => systemdUnit(serverFixture(), { allowedHosts: ["--host=0.0.0.0"] }),
    RangeError,
  );
});

Deno.test("systemdUnit() opens write grants and binds home grants into an empty home", () => {
  const unit = systemdUnit(networked, {
    egressAddresses: { "api.github.com": ["140.82.112.0/20"] },
  });
  assert.match(unit, /^ProtectSystem=strict$/m);
  assert.match(unit, /^ProtectHome=tmpfs$/m);
  assert.match(unit, /^BindPaths=\/home\/u\/notes$/m);
  assert.match(unit, /^ReadWritePaths=\/srv\/data$/m);
  assert.doesNotMatch(unit, /\/srv\/docs/); // readable anyway under ProtectSystem=strict
  assert.match(systemdUnit(serverFixture(), {}), /^ProtectHome=yes$/m);
});

Deno.test("systemdUnit() sets limits, a state directory, and leaves V8's JIT working", () => {
  const unit = systemdUnit(serverFixture({ name: "time" }), { memoryMax: "512M", cpuQuota: "50%" });
  for (
    const line of [
      "DynamicUser=yes",
      "NoNewPrivileges=yes",
      "PrivateTmp=yes",
      "PrivateDevices=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
      "SystemCallFilter=@system-service",
      "MemoryMax=512M",
      "CPUQuota=50%",
      "StateDirectory=mcp-run-time",
      "Environment=HOME=%S/mcp-run-time MCP_RUN_CACHE=%C/mcp-run-time",
    ]
  ) assert.ok(unit.split("\n").includes(line), `missing ${line}`);
  assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=/m);
  assert.match(unit, /^# MemoryDenyWriteExecute=.*V8/m);
});

Deno.test("systemdPullUnit() does not load the service's environment file", () => {
  const server = serverFixture({ name: "gh", secrets: ["GH_TOKEN"], requiredEnv: ["GH_TOKEN"] });
  assert.match(systemdUnit(server, {}), /^EnvironmentFile=-\/etc\/mcp-run\/gh\.env$/m);
  const pull = systemdPullUnit(server, {});
  assert.doesNotMatch(pull, /^EnvironmentFile=/m);
  assert.match(pull, /does not load the service's EnvironmentFile=/);
});

Deno.test("systemdUnit() scales its limits with the sessions, each one a server process", () => {
  const unit = systemdUnit(serverFixture({ name: "time" }), { maxSessions: 2 });
  assert.match(unit, /--max-sessions 2 --offline$/m);
  assert.match(unit, /^MemoryMax=3072M$/m);
  assert.match(unit, /^TasksMax=768$/m);
  assert.match(unit, /^OOMPolicy=stop$/m);
  // By default four sessions: five processes' worth.
  const defaults = systemdUnit(serverFixture({ name: "time" }), {});
  assert.match(defaults, /^MemoryMax=5120M$/m);
  assert.match(defaults, /^TasksMax=1280$/m);
});

Deno.test("systemdUnit() hands a gVisor runtime name to serve as a credential only when given", () => {
  const server = serverFixture({ name: "time" });
  const named = { isolation: "gvisor" as const, gvisorRuntime: "runsc-net" };
  for (const unit of [systemdUnit(server, named), systemdPullUnit(server, named)]) {
    assert.match(unit, /^LoadCredential=config:\/etc\/mcp-run\/time\.config\.json$/m);
    assert.match(unit, /^Environment=MCP_RUN_CONFIG=%d\/config$/m);
  }
  assert.throws(
    () => systemdUnit(server, { isolation: "gvisor", gvisorRuntime: "runsc net" }),
    /Cannot use "runsc net" as the engine runtime/,
  );
  // Positive control: the default runtime needs no file, nor does deno isolation.
  assert.doesNotMatch(systemdUnit(server, { isolation: "gvisor" }), /MCP_RUN_CONFIG/);
  assert.doesNotMatch(systemdUnit(server, { gvisorRuntime: "runsc-net" }), /MCP_RUN_CONFIG/);
});
