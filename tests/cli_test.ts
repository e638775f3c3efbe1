/** The CLI as users meet it: help, exit codes, printed commands, errors that say what to do. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";

const cache = tempDir("mcp-run-cache-");
const data = tempDir();

Deno.test("mcp-run --help prints usage and exits 0; no command exits 2", async () => {
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /mcp-run run <server>/);
  assert.match(help.stdout, /Exit codes/);
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage:/);
});

Deno.test("mcp-run <command> --help prints that command's help", async () => {
  for (const command of ["run", "pull", "flags", "inspect", "call", "check", "list", "show"]) {
    const r = await cli([command, "--help"]);
    assert.equal(r.code, 0, command);
    assert.match(r.stdout, new RegExp(`^mcp-run ${command}`), command);
  }
});

Deno.test("mcp-run reports bad usage with exit 2", async () => {
  assert.equal((await cli(["frobnicate"])).code, 2);
  assert.equal((await cli(["run"])).code, 2);
  assert.equal((await cli(["--no-such-option"])).code, 2);
  const bad = await cli(["flags", "filesystem", "-p", "dirs"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-p takes NAME=VALUE, got "dirs"/);
  assert.equal((await cli(["list", "--format", "xml"])).code, 2);
  const stray = await cli(["list", "--port", "5"]);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--port is not an option of list/);
});

Deno.test("mcp-run says bad options and missing files in words, naming them", async () => {
  const cases: [string[], number, RegExp][] = [
    [["serve", "memory", "--bogus"], 2, /unknown option --bogus \(server arguments go after --/],
    // An unknown command is named before any option is looked at.
    [["frobnicate", "--cache", join(ROOT, "README.md")], 2, /unknown command "frobnicate"/],
    [["serve", "memory", "--port", "-1"], 2, /--port needs a value: write --port=VALUE/],
    [
      ["list", "--cache", join(ROOT, "README.md")],
      2,
      /--cache must name a folder, but ".*README\.md" is a file/,
    ],
    [["import", join(data, "nothere.json")], 1, /Cannot read ".*nothere\.json": it does not exist/],
    [["import", data], 1, /Cannot read ".*": it is a folder, not a file/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.doesNotMatch(r.stderr, /os error|at .*\.ts:\d+/, args.join(" "));
  }
});

Deno.test("mcp-run check reports every problem with path and line, exit 3", async () => {
  const r = await cli(["check", `${ROOT}/tests/testdata/bad_manifest.jsonc`]);
  assert.equal(r.code, 3);
  for (
    const path of [
      "name",
      "description",
      "package",
      "permissions.net[0]",
      "permissions.env[0]",
      "extra",
    ]
  ) {
    assert.ok(r.stderr.includes(` ${path}: `), `${path} in ${r.stderr}`);
  }
  assert.match(r.stderr, /bad_manifest.jsonc:3:\d+ name:/);
  const json = await cli([
    "check",
    "--format",
    "json",
    `${ROOT}/tests/testdata/bad_manifest.jsonc`,
  ]);
  assert.equal(JSON.parse(json.stdout)[0].problems.length, 6);
});

Deno.test("mcp-run check passes every built-in manifest", async () => {
  const files = [...Deno.readDirSync(`${ROOT}/manifests`)]
    .filter((e) => e.name.endsWith(".jsonc")).map((e) => `${ROOT}/manifests/${e.name}`);
  const r = await cli(["check", ...files]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").length, files.length);
});

Deno.test("mcp-run flags prints the exact hardened deno command", async () => {
  const r = await cli(["flags", "filesystem", "-p", `dirs=${data}`, "--cache", cache]);
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.trim();
  // Under prlimit (the process memory cap) where util-linux has it.
  assert.match(
    line,
    /^(\S*prlimit --data=\d+ -- )?\S*deno run --no-prompt --no-config --cached-only --frozen --lock=/,
  );
  assert.ok(line.includes(`--allow-read=${data} --allow-write=${data} --deny-write=${data}/`));
  assert.ok(line.includes(` '--deny-net=0.0.0.0/8,`));
  assert.ok(line.endsWith(`npm:@modelcontextprotocol/server-filesystem@2026.8.31 ${data}`));
  const json = await cli(["flags", "filesystem", "-p", `dirs=${data}`, "--format", "json"]);
  const argv: string[] = JSON.parse(json.stdout);
  const run = argv.indexOf("run");
  assert.deepEqual(argv.slice(run - 1, run + 2), [argv[run - 1], "run", "--no-prompt"]);
  assert.match(argv[run - 1], /deno$/);
  assert.ok(
    argv.includes(
      "--deny-net=0.0.0.0/8,10.0.0.0/8,100.64.0.0/10,127.0.0.0/8,169.254.0.0/16,172.16.0.0/12,192.0.0.0/24,192.168.0.0/16,198.18.0.0/15,[::1],[::]",
    ),
  );
});

Deno.test("mcp-run run --dry-run shows the plan with secrets hidden", async () => {
  const r = await cli(
    [
      "run",
      `${ROOT}/tests/testdata/secret_manifest.jsonc`,
      "--dry-run",
      "--cache",
      cache,
      "--",
      "--extra",
    ],
    { env: { HOME: data, API_TOKEN: "tok-12345-canary", OTHER_SECRET: "nope" } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /API_TOKEN=<secret>/);
  assert.ok(!r.stdout.includes("tok-12345-canary"));
  assert.ok(!r.stdout.includes("OTHER_SECRET"));
  assert.match(r.stdout, /--allow-net=api\.example\.com:443/);
  assert.match(r.stdout, /--allow-env=API_TOKEN/);
  assert.match(r.stdout, /stdio --extra$/m);
  assert.ok(
    !Deno.statSync(cache).isFile && [...Deno.readDirSync(cache)].length === 0,
    "nothing pulled",
  );
});

Deno.test("mcp-run run names a missing secret and exits 1 before starting anything", async () => {
  const r = await cli(["run", `${ROOT}/tests/testdata/secret_manifest.jsonc`, "--dry-run"], {
    env: { HOME: data },
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs secret API_TOKEN: set it in mcp-run's environment/);
});

Deno.test("mcp-run refuses dangerous grants with exit 3 and the reason", async () => {
  const r = await cli(["flags", "filesystem", "-p", "dirs=/"]);
  assert.equal(r.code, 3);
  assert.match(
    r.stderr,
    /Cannot grant read access to "\/": the whole file system is never granted/,
  );
  const home = await cli(["flags", "filesystem", "-p", "dirs=~"], { env: { HOME: data } });
  assert.equal(home.code, 3);
  assert.match(home.stderr, /home directory itself/);
});

Deno.test("mcp-run names a missing parameter and how to pass it", async () => {
  const r = await cli(["flags", "filesystem"]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /"filesystem" needs a parameter:\n\s+-p dirs=\/some\/folder\s+Folders/);
});

Deno.test("mcp-run list and show describe the registry", async () => {
  const list = await cli(["list", "--format", "json"]);
  const names = JSON.parse(list.stdout).map((e: { name: string }) => e.name);
  for (const n of ["everything", "filesystem", "memory"]) assert.ok(names.includes(n));
  const show = await cli(["show", "memory"]);
  assert.equal(show.code, 0);
  assert.match(show.stdout, /-p dir=<path> \(required\)/);
  assert.match(show.stdout, /No network access/);
  const missing = await cli(["show", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /No server named "nope".*Known servers: .*everything, .*filesystem, .*memory/,
  );
});

Deno.test("mcp-run --offline refuses a server that was never pulled (exit 4)", async () => {
  const r = await cli(["inspect", "everything", "--offline", "--cache", join(cache, "empty")]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /is not pulled yet: run mcp-run pull everything/);
});

Deno.test("mcp-run call prints a tool result and exits 1 on a tool error", async () => {
  Deno.writeTextFileSync(join(data, "hello.txt"), "hello world");
  const ok = await cli([
    "call",
    "filesystem",
    "read_text_file",
    JSON.stringify({ path: join(data, "hello.txt") }),
    "-p",
    `dirs=${data}`,
    "--cache",
    cache,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), "hello world");
  const denied = await cli([
    "call",
    "filesystem",
    "read_text_file",
    '{"path":"/etc/hostname"}',
    "-p",
    `dirs=${data}`,
    "--cache",
    cache,
  ]);
  assert.equal(denied.code, 1);
  assert.match(denied.stdout, /Access denied/);
  const badJson = await cli([
    "call",
    "filesystem",
    "read_text_file",
    "{nope",
    "-p",
    `dirs=${data}`,
  ]);
  assert.equal(badJson.code, 1);
  assert.match(badJson.stderr, /Tool arguments must be a JSON object/);
});

Deno.test("mcp-run takes its default isolation and image from the user's config file", async () => {
  const home = tempDir();
  Deno.mkdirSync(join(home, ".config", "mcp-run"), { recursive: true });
  const file = join(home, ".config", "mcp-run", "config.json");
  Deno.writeTextFileSync(file, `{ "isolation": "docker", "image": "example/deno:2.9.6" } // mine`);
  // A folder the container's user may write (a root launcher refuses one it could not).
  const shared = tempDir();
  Deno.chmodSync(shared, 0o777);
  const docker = await cli(["flags", "filesystem", "-p", `dirs=${shared}`, "--format", "json"], {
    env: { HOME: home },
  });
  assert.equal(docker.code, 0, docker.stderr);
  const argv: string[] = JSON.parse(docker.stdout);
  assert.equal(argv[0], "docker");
  assert.ok(argv.includes("example/deno:2.9.6"));
  const native = await cli(
    ["flags", "filesystem", "-p", `dirs=${data}`, "--isolation", "deno", "--format", "json"],
    { env: { HOME: home } },
  );
  assert.match(JSON.parse(native.stdout)[0], /(deno|prlimit)$/);
  Deno.writeTextFileSync(file, `{ "isolation": "vm" }`);
  const bad = await cli(["list"], { env: { HOME: home } });
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /config.json": isolation must be "deno", "docker" or "gvisor", got "vm"/,
  );
});
