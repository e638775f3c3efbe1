import { serverFixture } from "../policy/_server_fixture.ts";
import assert from "node:assert/strict";
import { dockerPullArgs, dockerRunArgs } from "./docker_args.ts";
import { CONTAINER_LOCK_FILE, DENO_IMAGE } from "./docker_names.ts";
import { denoRunArgs } from "./flags.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

function server(overrides: Partial<ResolvedServer> = {}): ResolvedServer {
  return serverFixture({
    name: "memory",
    specifier: "npm:@modelcontextprotocol/server-memory@2026.8.31",
    denyNet: ["127.0.0.0/8"],
    ...overrides,
  });
}

const HARDENING = [
  "--read-only",
  "--cap-drop",
  "ALL",
  "--security-opt",
  "no-new-privileges",
  "--user",
  "1993:1993",
  "--pids-limit",
  "256",
  "--memory",
  "1024m",
  "--memory-swap",
  "1024m",
  "--cpus",
  "1",
  "--ulimit",
  "nofile=4096:4096",
  "--tmpfs",
  "/tmp:rw,noexec,nosuid,nodev,size=64m",
];

const FIXED_ENV = [
  "-e",
  "HOME=/tmp",
  "-e",
  "DENO_DIR=/deno-dir",
  "-e",
  "DENO_NO_UPDATE_CHECK=1",
  "-e",
  "DENO_NO_PROMPT=1",
  "-e",
  "NO_COLOR=1",
];

/** The value following `flag` each time it appears. */
function values(argv: string[], flag: string): string[] {
  return argv.flatMap((a, i) => a === flag ? [argv[i + 1]] : []);
}

Deno.test("dockerRunArgs() builds the golden argv for an ordinary server", () => {
  const s = server({
    read: ["/home/ada/notes"],
    write: ["/home/ada/notes"],
    envValues: { MEMORY_FILE_PATH: "/home/ada/notes/memory.jsonl" },
    env: ["MEMORY_FILE_PATH"],
  });
  const deno = denoRunArgs(s, { lockFile: CONTAINER_LOCK_FILE });
  const argv = dockerRunArgs(s, deno, { volume: "mcp-run-cache-memory-1", nameSuffix: "abc123" });
  assert.deepEqual(argv, [
    "run",
    "-i",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    "--name",
    "mcp-run-memory-abc123",
    "--label",
    "mcp-run=1",
    "--label",
    "mcp-run.server=memory",
    ...HARDENING,
    "--network",
    "none",
    "--mount",
    "type=volume,src=mcp-run-cache-memory-1,dst=/deno-dir,readonly",
    "--mount",
    "type=bind,src=/home/ada/notes,dst=/home/ada/notes",
    ...FIXED_ENV,
    "-e",
    "MEMORY_FILE_PATH=/home/ada/notes/memory.jsonl",
    DENO_IMAGE,
    ...deno,
  ]);
  assert.equal(DENO_IMAGE, "denoland/deno:2.9.6");
  assert.ok(!argv.includes("-t") && !argv.includes("--privileged") && !argv.includes("-A"));
});

Deno.test("dockerRunArgs() passes env and secrets by name, never their values", () => {
  const s = server({ env: ["API_URL", "GITHUB_TOKEN"], secrets: ["GITHUB_TOKEN"] });
  const argv = dockerRunArgs(s, ["run", s.specifier], { volume: "v" });
  assert.deepEqual(values(argv, "-e").slice(5), ["API_URL", "GITHUB_TOKEN"]);
  assert.ok(!argv.some((a) => a.startsWith("GITHUB_TOKEN=")));
});

Deno.test("dockerRunArgs() mounts read grants read-only and write grants writable", () => {
  const s = server({ read: ["/data/in", "/data/both"], write: ["/data/both", "/data/out"] });
  const argv = dockerRunArgs(s, [], { volume: "v" });
  assert.deepEqual(values(argv, "--mount"), [
    "type=volume,src=v,dst=/deno-dir,readonly",
    "type=bind,src=/data/in,dst=/data/in,readonly",
    "type=bind,src=/data/both,dst=/data/both",
    "type=bind,src=/data/out,dst=/data/out",
  ]);
});

Deno.test("dockerRunArgs() mounts a local server's folder read-only", () => {
  const s = server({ specifier: "/srv/probe/main.ts", localDir: "/srv/probe" });
  const argv = dockerRunArgs(s, [], { volume: "v" });
  assert.ok(values(argv, "--mount").includes("type=bind,src=/srv/probe,dst=/srv/probe,readonly"));
});

Deno.test("dockerRunArgs() uses no network unless the server declares some", () => {
  const none = dockerRunArgs(server(), [], { volume: "v", network: "host" });
  assert.deepEqual(values(none, "--network"), ["none"]);
  const bridge = dockerRunArgs(server({ net: ["api.github.com"] }), [], { volume: "v" });
  assert.deepEqual(values(bridge, "--network"), ["bridge"]);
  const host = dockerRunArgs(server({ net: ["127.0.0.1:8080"] }), [], {
    volume: "v",
    network: "host",
  });
  assert.deepEqual(values(host, "--network"), ["host"]);
});

Deno.test("dockerRunArgs() applies overridden limits, user and image", () => {
  const argv = dockerRunArgs(server(), ["run", "x"], {
    volume: "v",
    memory: "64m",
    cpus: "0.5",
    pidsLimit: 32,
    tmpfsSize: "8m",
    nofile: 256,
    user: "1000:1000",
    image: "mcp-run-test/deno:2.9.6",
  });
  assert.deepEqual(values(argv, "--memory"), ["64m"]);
  assert.deepEqual(values(argv, "--memory-swap"), ["64m"]);
  assert.deepEqual(values(argv, "--cpus"), ["0.5"]);
  assert.deepEqual(values(argv, "--pids-limit"), ["32"]);
  assert.deepEqual(values(argv, "--tmpfs"), ["/tmp:rw,noexec,nosuid,nodev,size=8m"]);
  assert.deepEqual(values(argv, "--ulimit"), ["nofile=256:256"]);
  assert.deepEqual(values(argv, "--user"), ["1000:1000"]);
  assert.deepEqual(argv.slice(-3), ["mcp-run-test/deno:2.9.6", "run", "x"]);
});

Deno.test("dockerRunArgs() keeps hostile names and values as single argv elements", () => {
  const name = `evil "name", with=commas`;
  const s = server({ name, envValues: { NOTE: `a b,c="d"\n--privileged` }, env: ["NOTE"] });
  const argv = dockerRunArgs(s, ["run", "x; rm -rf /"], { volume: "v", nameSuffix: "z9" });
  assert.deepEqual(values(argv, "--name"), ["mcp-run-evil__name___with_commas-z9"]);
  assert.ok(values(argv, "--label").includes(`mcp-run.server=${name}`));
  assert.ok(values(argv, "-e").includes(`NOTE=a b,c="d"\n--privileged`));
  assert.equal(argv.at(-1), "x; rm -rf /");
  assert.ok(!argv.includes("--privileged"));
});

Deno.test("dockerRunArgs() writes paths with ':' and '=' through --mount", () => {
  const argv = dockerRunArgs(server({ read: ["/data/a:b=c"] }), [], { volume: "v" });
  assert.ok(values(argv, "--mount").includes("type=bind,src=/data/a:b=c,dst=/data/a:b=c,readonly"));
  assert.ok(!argv.includes("-v") && !argv.includes("--volume"));
});

Deno.test("dockerRunArgs() refuses what cannot be mounted or written safely", () => {
  const cases: [Partial<ResolvedServer>, RegExp][] = [
    [
      { read: ["/data/a,b"] },
      /Cannot mount "\/data\/a,b" into the container: paths containing ","/,
    ],
    [{ write: ['/data/a"b'] }, /Cannot mount "\/data\/a\\?"b"/],
    [{ read: ["/data/a\nb"] }, /line breaks/],
    [{ read: ["/"] }, /the whole file system is never mounted/],
    [{ read: ["/tmp"] }, /private \/tmp/],
    [{ write: ["/deno-dir"] }, /\/deno-dir is never mounted/],
    [{ write: ["/deno-dir/npm"] }, /\/deno-dir is never mounted/],
    [{ read: ["/var/run/docker.sock"] }, /Docker socket|\/var\/run is never mounted/],
    [{ read: ["/home/ada/docker.sock"] }, /the Docker socket is never mounted/],
    [{ read: ["/proc/self"] }, /\/proc is never mounted/],
    [{ read: ["/run"] }, /\/run is never mounted/],
    [{ read: ["relative/dir"] }, /not an absolute path/],
    [{ read: ["/data/../etc"] }, /not canonical/],
    [{ env: ["BAD=NAME"] }, /Cannot pass "BAD=NAME" to the container: not a valid variable name/],
    [{ env: ["HOME"] }, /Cannot pass "HOME" to the container: mcp-run sets it itself/],
    [{ envValues: { "X=Y": "1" } }, /not a valid variable name/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => dockerRunArgs(server(overrides), [], { volume: "v" }), message);
  }
});

Deno.test("dockerRunArgs() refuses root, bad limits, images and names", () => {
  const cases: [Parameters<typeof dockerRunArgs>[2], RegExp][] = [
    [{ user: "0:0" }, /never run as root/],
    [{ user: "0" }, /never run as root/],
    [{ user: "root" }, /numeric uid:gid/],
    [{ memory: "lots" }, /"lots" as --memory/],
    [{ tmpfsSize: "1g,exec" }, /as the tmpfs size/],
    [{ cpus: "0" }, /--cpus/],
    [{ pidsLimit: -1 }, /--pids-limit/],
    [{ image: "--privileged" }, /as the image/],
    [{ image: "deno latest" }, /as the image/],
    [{ image: "denoland/deno:latest" }, /latest is a moving tag/],
    [{ image: "denoland/deno" }, /has no tag/],
    [{ volume: "/var/lib/docker" }, /as the code volume/],
    [{ nameSuffix: "a b" }, /suffix "a b"/],
    [{ labels: { "Bad Key": "x" } }, /Cannot write the label/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => dockerRunArgs(server(), [], { volume: "v", ...options }), message);
  }
  assert.throws(
    () => dockerRunArgs(server({ net: ["x.org"] }), [], { volume: "v", network: "container:db" }),
    /as the network/,
  );
});

Deno.test("dockerPullArgs() fills the volume writable with deno cache and no server code", () => {
  const s = server({ read: ["/secret"], write: ["/secret"], env: ["TOKEN"], secrets: ["TOKEN"] });
  const argv = dockerPullArgs(s, {
    volume: "mcp-run-cache-memory-1",
    nameSuffix: "p1",
    passEnv: ["HTTPS_PROXY"],
    env: { NPM_CONFIG_REGISTRY: "http://127.0.0.1:4873/" },
  });
  assert.deepEqual(argv, [
    "run",
    "--rm",
    "--pull",
    "never",
    "--log-driver",
    "none",
    "--name",
    "mcp-run-memory-p1",
    "--label",
    "mcp-run=1",
    "--label",
    "mcp-run.role=pull",
    "--label",
    "mcp-run.server=memory",
    ...HARDENING,
    "--network",
    "bridge",
    "--mount",
    "type=volume,src=mcp-run-cache-memory-1,dst=/deno-dir",
    ...FIXED_ENV,
    "-e",
    "NPM_CONFIG_REGISTRY=http://127.0.0.1:4873/",
    "-e",
    "HTTPS_PROXY",
    DENO_IMAGE,
    "cache",
    "--no-config",
    "--lock=/deno-dir/deno.lock",
    s.specifier,
  ]);
  assert.ok(!argv.includes("TOKEN") && !argv.some((a) => a.includes("/secret")));
});

Deno.test("dockerPullArgs() enforces an existing lock and mounts a local server read-only", () => {
  const s = server({ specifier: "/srv/probe/main.ts", localDir: "/srv/probe" });
  const argv = dockerPullArgs(s, { volume: "v", frozen: true, network: "host" });
  assert.deepEqual(values(argv, "--network"), ["host"]);
  assert.ok(values(argv, "--mount").includes("type=bind,src=/srv/probe,dst=/srv/probe,readonly"));
  assert.deepEqual(argv.slice(-5), [
    "cache",
    "--frozen",
    "--no-config",
    "--lock=/deno-dir/deno.lock",
    "/srv/probe/main.ts",
  ]);
  assert.throws(() => dockerPullArgs(server({ localDir: "/srv/a,b" }), {}), /","/);
});

Deno.test("dockerRunArgs() mounts nothing for a read inside the code volume (${package_dir})", () => {
  const own = "/deno-dir/npm/registry.npmjs.org/@upstash/context7-mcp/2.1.0";
  const argv = dockerRunArgs(server({ read: [own, "/data"] }), [], { volume: "v" });
  const mounts = values(argv, "--mount");
  assert.deepEqual(mounts, [
    "type=volume,src=v,dst=/deno-dir,readonly",
    "type=bind,src=/data,dst=/data,readonly",
  ]);
});

Deno.test("dockerRunArgs() mounts existing protected paths read-only over a write grant", () => {
  const s = server({ write: ["/w"] });
  const argv = dockerRunArgs(s, [], {
    volume: "v",
    protectedPaths: ["/w/.git/hooks", "/w/.vscode", "/w"],
  });
  assert.deepEqual(values(argv, "--mount"), [
    "type=volume,src=v,dst=/deno-dir,readonly",
    "type=bind,src=/w,dst=/w",
    "type=bind,src=/w/.git/hooks,dst=/w/.git/hooks,readonly",
    "type=bind,src=/w/.vscode,dst=/w/.vscode,readonly",
  ]);
});
