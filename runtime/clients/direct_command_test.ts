import assert from "node:assert/strict";
import { DENO_IMAGE } from "../sandbox/docker_names.ts";
import { directCommand } from "./direct_command.ts";
import type { ResolvedServer } from "../policy/resolve.ts";

const SERVER: ResolvedServer = {
  name: "memory",
  specifier: "npm:@modelcontextprotocol/server-memory@2026.8.31",
  args: [],
  read: ["/data"],
  write: ["/data"],
  net: [],
  denyNet: ["127.0.0.0/8"],
  env: ["MEMORY_FILE_PATH", "TOKEN"],
  secrets: ["TOKEN"],
  requiredEnv: ["TOKEN"],
  envValues: { MEMORY_FILE_PATH: "/data/memory.jsonl" },
  sys: [],
  run: [],
  ffi: [],
  params: {},
};

Deno.test("directCommand() builds a self-contained docker command with secrets by name", () => {
  const entry = directCommand(SERVER, {
    form: "docker",
    cacheRoot: "/c",
    image: "example/deno:2.9.6",
    user: "1000:1000",
    secretDescriptions: { TOKEN: "An API token" },
  });
  assert.equal(entry.command, "docker");
  assert.deepEqual(entry.env, {});
  assert.deepEqual(entry.secrets, [{ name: "TOKEN", description: "An API token" }]);
  const args = entry.args;
  assert.deepEqual(args.slice(0, 3), ["run", "-i", "--rm"]);
  assert.ok(!args.includes("--name"));
  assert.ok(args.includes("MEMORY_FILE_PATH=/data/memory.jsonl") && args.includes("TOKEN"));
  assert.ok(args.includes("type=bind,src=/data,dst=/data"));
  assert.equal(args[args.indexOf("--network") + 1], "none");
  assert.equal(args[args.indexOf("--user") + 1], "1000:1000");
  assert.deepEqual(args.slice(args.indexOf("example/deno:2.9.6") + 1, -1).slice(0, 2), [
    "run",
    "--no-prompt",
  ]);
  assert.equal(args.at(-1), SERVER.specifier);
});

Deno.test("directCommand() builds a deno command running the pulled code offline", () => {
  const entry = directCommand(SERVER, { form: "deno", cacheRoot: "/c", deno: "/usr/bin/deno" });
  assert.equal(entry.command, "/usr/bin/deno");
  assert.ok(entry.args.includes("--cached-only") && entry.args.includes("--allow-read=/data"));
  assert.match(entry.env.DENO_DIR, /^\/c\/servers\/memory\//);
  assert.equal(entry.env.HOME, "/c/neutral/home");
  assert.equal(entry.env.MEMORY_FILE_PATH, "/data/memory.jsonl");
  assert.ok(!("TOKEN" in entry.env));
  assert.deepEqual(entry.secrets.map((s) => s.name), ["TOKEN"]);
});

Deno.test("directCommand() refuses a docker command for a grant that cannot be mounted", () => {
  assert.throws(
    () => directCommand({ ...SERVER, read: ["/data,evil"] }, { form: "docker", cacheRoot: "/c" }),
    /"\/data,evil"/,
  );
});

Deno.test("directCommand() reads secrets from an env file instead of passing them by name", () => {
  const entry = directCommand(SERVER, {
    form: "docker",
    cacheRoot: "/c",
    user: "1000:1000",
    envFile: { path: "/home/ada/.config/mcp-run/memory.env", names: ["TOKEN"] },
  });
  const at = entry.args.indexOf("--env-file");
  assert.equal(entry.args[at + 1], "/home/ada/.config/mcp-run/memory.env");
  assert.ok(at < entry.args.indexOf(DENO_IMAGE), "--env-file must come before the image");
  assert.ok(!entry.args.includes("TOKEN"), "a secret in the env file is also passed by name");
  assert.deepEqual(entry.secrets, []);
  // Control: without the env file the secret is passed by name and listed.
  const plain = directCommand(SERVER, { form: "docker", cacheRoot: "/c", user: "1000:1000" });
  assert.equal(plain.args[plain.args.indexOf("TOKEN") - 1], "-e");
  assert.deepEqual(plain.secrets.map((s) => s.name), ["TOKEN"]);
});

Deno.test("directCommand() refuses an env file for the deno form or a relative path", () => {
  assert.throws(
    () =>
      directCommand(SERVER, { form: "deno", cacheRoot: "/c", envFile: { path: "/x", names: [] } }),
    /Cannot use an env file with the deno form/,
  );
  assert.throws(
    () =>
      directCommand(SERVER, {
        form: "docker",
        cacheRoot: "/c",
        user: "1000:1000",
        envFile: { path: "secrets.env", names: ["TOKEN"] },
      }),
    /Cannot use "secrets.env" as the env file: give an absolute path/,
  );
});

Deno.test("directCommand() writes a pypi: server's docker form unnamed, and refuses what needs the proxy", () => {
  const server = {
    name: "time",
    specifier: "pypi:mcp-server-time@2026.10.19",
    args: ["--local-timezone=UTC"],
    read: [],
    write: [],
    net: [],
    denyNet: [],
    env: ["TZ_TOKEN"],
    secrets: ["TZ_TOKEN"],
    requiredEnv: [],
    envValues: {},
    sys: [],
    run: [],
    ffi: [],
    params: {},
  };
  const entry = directCommand(server, { form: "docker", cacheRoot: "/c", pythonImage: "py:3.12" });
  assert.equal(entry.command, "docker");
  assert.ok(!entry.args.includes("--name"), "two clients may start it at once");
  assert.ok(!entry.args.some((a) => a.includes("launcher-pid")), "no launcher labels");
  assert.equal(entry.args[entry.args.indexOf("--network") + 1], "none");
  assert.ok(entry.args.includes("py:3.12"));
  assert.ok(entry.args.includes("TZ_TOKEN"), "the secret is passed by name");
  assert.ok(!entry.args.some((a) => a.startsWith("TZ_TOKEN=")), "never its value");
  assert.deepEqual(entry.secrets.map((s) => s.name), ["TZ_TOKEN"]);
  assert.throws(
    () => directCommand({ ...server, net: ["example.com"] }, { form: "docker", cacheRoot: "/c" }),
    /only through mcp-run's egress proxy, which a copied docker command cannot start/,
  );
  assert.throws(
    () => directCommand(server, { form: "deno", cacheRoot: "/c" }),
    /runs only in a container; use --form docker or --form launcher/,
  );
});

Deno.test("directCommand() writes the user's memory caps into the deno and docker forms", () => {
  const limits = { heapMb: 256, memoryMb: 768 };
  const deno = directCommand(SERVER, { form: "deno", cacheRoot: "/c", deno: "deno", limits });
  assert.ok(deno.args.includes("--v8-flags=--max-old-space-size=256"));
  const docker = directCommand(SERVER, {
    form: "docker",
    cacheRoot: "/c",
    user: "1000:1000",
    limits,
  });
  assert.equal(docker.args[docker.args.indexOf("--memory") + 1], "768m");
  assert.ok(docker.args.includes("--v8-flags=--max-old-space-size=256"));
  // --memory given for docker still wins.
  const given = directCommand(SERVER, {
    form: "docker",
    cacheRoot: "/c",
    user: "1000:1000",
    limits,
    memory: "2g",
  });
  assert.equal(given.args[given.args.indexOf("--memory") + 1], "2g");
});

Deno.test("directCommand() runs the deno form under prlimit when given, capping the process", () => {
  const limits = { heapMb: 256, memoryMb: 768 };
  const options = { form: "deno", cacheRoot: "/c", deno: "deno", limits } as const;
  const capped = directCommand(SERVER, { ...options, prlimit: "/usr/bin/prlimit" });
  assert.equal(capped.command, "/usr/bin/prlimit");
  assert.deepEqual(capped.args.slice(0, 4), [
    `--data=${(768 + 640) * 1024 * 1024}`,
    "--",
    "deno",
    "run",
  ]);
  assert.equal(directCommand(SERVER, options).command, "deno");
});

Deno.test("directCommand() names the gVisor runtime, and refuses net grants under it", () => {
  const entry = directCommand(SERVER, { form: "docker", cacheRoot: "/c", runtime: "runsc" });
  const args = entry.args;
  assert.equal(args[args.indexOf("--runtime") + 1], "runsc");
  // gVisor's own threads count against the process cap: its default is higher.
  assert.equal(args[args.indexOf("--pids-limit") + 1], "1024");
  assert.equal(args[args.indexOf("--network") + 1], "none");
  // Without a runtime, the engine's default.
  assert.ok(!directCommand(SERVER, { form: "docker", cacheRoot: "/c" }).args.includes("--runtime"));
  const net = { ...SERVER, net: ["api.example.com:443"] };
  assert.throws(
    () => directCommand(net, { form: "docker", cacheRoot: "/c", runtime: "runsc" }),
    /under the gVisor runtime "runsc": it reaches api\.example\.com:443 only through mcp-run's egress proxy .* Use --form launcher/,
  );
  // Positive control: the same server is written under docker's own runtime.
  const docker = directCommand(net, { form: "docker", cacheRoot: "/c" });
  assert.equal(docker.args[docker.args.indexOf("--network") + 1], "bridge");
});
