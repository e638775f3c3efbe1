/** The client commands of the CLI: usage errors, refusals, printing without writing. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { findPrlimit } from "../runtime/sandbox/resource_caps.ts";

const SECRET_MANIFEST = "tests/testdata/clients/memory_secret.jsonc";

function sandbox() {
  const work = tempDir("mcp-run-cli-clients-");
  const home = join(work, "home");
  const data = join(work, "data");
  Deno.mkdirSync(home);
  Deno.mkdirSync(data);
  return { work, home, data, cache: join(work, "cache") };
}

Deno.test("mcp-run install without --client exits 2 with the command's usage", async () => {
  const { home, data, cache } = sandbox();
  const r = await cli(["install", "memory", "-p", `dir=${data}`, "--cache", cache], {
    env: { HOME: home },
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /mcp-run install: give the client with --client/);
  assert.match(r.stderr, /mcp-run install <server> --client C/);
});

Deno.test("mcp-run install names the known clients for an unknown one", async () => {
  const { home, cache } = sandbox();
  const r = await cli(["install", "memory", "--client", "emacs", "--cache", cache], {
    env: { HOME: home },
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /known clients are claude-desktop, vscode, cursor, claude-code/);
});

Deno.test("mcp-run install refuses an unknown form and a scope the client lacks", async () => {
  const { home, data, cache } = sandbox();
  const form = await cli(
    [
      "install",
      "memory",
      "--client",
      "cursor",
      "--form",
      "npx",
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home } },
  );
  assert.equal(form.code, 2);
  assert.match(form.stderr, /--form must be deno, launcher or docker, got "npx"/);
  const scope = await cli(
    [
      "install",
      "memory",
      "--client",
      "goose",
      "--scope",
      "project",
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home } },
  );
  assert.equal(scope.code, 1);
  assert.match(scope.stderr, /Cannot use scope "project" with goose: it reads only "user"/);
});

Deno.test("mcp-run install refuses a foreign entry before pulling, and says --force", async () => {
  const { work, home, data, cache } = sandbox();
  const file = join(work, "mcp.json");
  const original = '{"mcpServers": {"memory": {"command": "npx", "args": ["-y", "m"]}}}';
  Deno.writeTextFileSync(file, original);
  const r = await cli(
    [
      "install",
      "memory",
      "--client",
      "cursor",
      "--file",
      file,
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home } },
  );
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /an entry with that name exists and was not written by mcp-run; pass --force/,
  );
  assert.equal(Deno.readTextFileSync(file), original);
  // Nothing was downloaded.
  assert.throws(() => Deno.statSync(cache), Deno.errors.NotFound);
});

Deno.test("mcp-run install refuses a corrupt file with its line and column", async () => {
  const { work, home, data, cache } = sandbox();
  const file = join(work, "config.yaml");
  const corrupt = "extensions:\n  a:\n    cmd: [x\n";
  Deno.writeTextFileSync(file, corrupt);
  const r = await cli(
    [
      "install",
      "memory",
      "--client",
      "goose",
      "--file",
      file,
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home } },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot parse ".*config\.yaml": .* at line \d+, column \d+/);
  assert.equal(Deno.readTextFileSync(file), corrupt);
});

Deno.test("mcp-run config prints the entry with its secret input and writes nothing", async () => {
  const { home, data, cache } = sandbox();
  const r = await cli(
    ["config", SECRET_MANIFEST, "--client", "vscode", "-p", `dir=${data}`, "--cache", cache],
    { env: { HOME: home } },
  );
  assert.equal(r.code, 0, r.stderr);
  const snippet = JSON.parse(r.stdout);
  assert.equal(
    snippet.servers["memory-secret"].env.MEMORY_FILE_PATH,
    "${input:memory-secret-MEMORY_FILE_PATH}",
  );
  assert.deepEqual(snippet.inputs, [{
    type: "promptString",
    id: "memory-secret-MEMORY_FILE_PATH",
    description: "Where the graph is stored",
    password: true,
  }]);
  assert.match(r.stderr, /Add to .*Code\/User\/mcp\.json/);
  assert.match(r.stderr, /VS Code prompts for MEMORY_FILE_PATH/);
  assert.deepEqual([...Deno.readDirSync(home)], []);
});

Deno.test("mcp-run config tells Claude Desktop users the secret is not written", async () => {
  const { home, data, cache } = sandbox();
  const r = await cli(
    [
      "config",
      SECRET_MANIFEST,
      "--client",
      "claude-desktop",
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home, MEMORY_FILE_PATH: "/should/not/appear" } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /should\/not\/appear/);
  const entry = JSON.parse(r.stdout).mcpServers["memory-secret"];
  assert.ok(entry.args.includes("--allow-env=MEMORY_FILE_PATH"));
  assert.deepEqual(Object.keys(entry.env).filter((k) => k === "MEMORY_FILE_PATH"), []);
  assert.match(r.stderr, /Claude Desktop has no way to reference a secret, so MEMORY_FILE_PATH/);
});

Deno.test("mcp-run config without --client prints the deno form; the launcher form asks for a client", async () => {
  const { home, data, cache } = sandbox();
  const plain = await cli(["config", SECRET_MANIFEST, "-p", `dir=${data}`, "--cache", cache], {
    env: { HOME: home, MEMORY_FILE_PATH: "x" },
  });
  assert.equal(plain.code, 0, plain.stderr);
  const entry = JSON.parse(plain.stdout);
  // Under prlimit where util-linux has it: --data=…, --, deno, run.
  assert.equal(entry.args[findPrlimit() ? 3 : 0], "run");
  assert.ok(entry.args.includes("--allow-env=MEMORY_FILE_PATH"), plain.stdout);
  const launcher = await cli(
    ["config", SECRET_MANIFEST, "--form", "launcher", "-p", `dir=${data}`, "--cache", cache],
    { env: { HOME: home } },
  );
  assert.equal(launcher.code, 2);
  assert.match(launcher.stderr, /--form launcher writes the entry for one client: add --client C/);
  const bad = await cli(["config", SECRET_MANIFEST, "--form", "vm", "--cache", cache], {
    env: { HOME: home },
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--form must be deno, launcher or docker, got "vm"/);
});

Deno.test("mcp-run clients lists every client and scope with its file", async () => {
  const { home } = sandbox();
  Deno.mkdirSync(join(home, ".codeium", "windsurf"), { recursive: true });
  const r = await cli(["clients", "--format", "json"], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.equal(rows.length, 13);
  const windsurf = rows.find((x: { client: string }) => x.client === "windsurf");
  assert.equal(windsurf.file, join(home, ".codeium", "windsurf", "mcp_config.json"));
  assert.equal(windsurf.present, true);
  assert.equal(windsurf.configured, false);
  const text = await cli(["clients"], { env: { HOME: home } });
  assert.match(text.stdout, /^windsurf +user +present +\/.*mcp_config\.json$/m);
});

Deno.test("mcp-run uninstall of an entry that is not there changes nothing", async () => {
  const { work, home } = sandbox();
  const file = join(work, "settings.json");
  Deno.writeTextFileSync(file, "// zed\n{}\n");
  const r = await cli(["uninstall", "memory", "--client", "zed", "--file", file], {
    env: { HOME: home },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"memory" is not installed for Zed/);
  assert.equal(Deno.readTextFileSync(file), "// zed\n{}\n");
  assert.deepEqual([...Deno.readDirSync(work)].map((e) => e.name).sort(), [
    "data",
    "home",
    "settings.json",
  ]);
});

Deno.test("mcp-run install --env-file needs the docker form and the secret's value", async () => {
  const { work, home, data, cache } = sandbox();
  const envFile = join(work, "s.env");
  const deno = await cli(
    [
      "install",
      SECRET_MANIFEST,
      "--client",
      "claude-desktop",
      "--env-file",
      envFile,
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home, MEMORY_FILE_PATH: "/x" } },
  );
  assert.equal(deno.code, 2);
  assert.match(deno.stderr, /--env-file needs --form docker/);
  const unset = await cli(
    [
      "install",
      SECRET_MANIFEST,
      "--client",
      "claude-desktop",
      "--form",
      "docker",
      "--env-file",
      envFile,
      "-p",
      `dir=${data}`,
      "--cache",
      cache,
    ],
    { env: { HOME: home } },
  );
  assert.equal(unset.code, 1);
  assert.match(
    unset.stderr,
    /Cannot write MEMORY_FILE_PATH to the env file: set it in mcp-run's environment first/,
  );
  assert.throws(() => Deno.statSync(envFile), Deno.errors.NotFound);
  assert.throws(() => Deno.statSync(cache), Deno.errors.NotFound);
});

Deno.test("mcp-run install then uninstall keeps a config file's UTF-8 BOM byte for byte", async () => {
  const { work, home, data, cache } = sandbox();
  const file = join(work, "mcp.json");
  const original = '\uFEFF{\n  "mcpServers": {\n    "other": { "command": "x" }\n  }\n}\n';
  Deno.writeTextFileSync(file, original);
  const installed = await cli(
    ["install", "memory", "--client", "cursor", "--file", file, "-p", `dir=${data}`],
    { env: { HOME: home, MCP_RUN_CACHE: cache } },
  );
  assert.equal(installed.code, 0, installed.stderr);
  const bytes = Deno.readFileSync(file);
  assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], "install dropped the BOM");
  assert.deepEqual([...Deno.readFileSync(`${file}.bak`)], [...new TextEncoder().encode(original)]);
  const removed = await cli(["uninstall", "memory", "--client", "cursor", "--file", file], {
    env: { HOME: home },
  });
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual([...Deno.readFileSync(file)], [...new TextEncoder().encode(original)]);
});

Deno.test("mcp-run install removes what a SIGKILLed writer left beside the file", async () => {
  const { work, home, data, cache } = sandbox();
  const dir = join(work, "cursor");
  Deno.mkdirSync(dir);
  const file = join(dir, "mcp.json");
  Deno.writeTextFileSync(file, '{ "mcpServers": {} }\n');
  const writer = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      join(ROOT, "tests", "testdata", "clients", "killed_writer.ts"),
      file,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = writer.stdout.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value).trim(), "ready");
  writer.kill("SIGKILL");
  reader.releaseLock();
  await writer.stdout.cancel();
  assert.equal((await writer.status).signal, "SIGKILL");
  const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  // The killed writer's leftovers, as a SIGKILL during install leaves them.
  assert.deepEqual(left, [
    ".mcp.json.0a1b2c3d.tmp",
    ".mcp.json.bak.4e5f6a7b.tmp",
    ".mcp.json.lock",
    "mcp.json",
  ]);

  const r = await cli(
    ["install", "memory", "--client", "cursor", "--file", file, "-p", `dir=${data}`],
    { env: { HOME: home, MCP_RUN_CACHE: cache } },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
    "mcp.json",
    "mcp.json.bak",
  ]);
});
