/**
 * End to end: `mcp-run install` writes an entry into each client's configuration; the entry
 * is read back the way that client reads it (its parser, its variable syntax, its secret
 * mechanism), its command is spawned, and the real MCP SDK client completes initialize,
 * tools/list and a tool call against the memory server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { clientConfigPath } from "../runtime/clients/config_path.ts";
import type { ClientEnvironment, ClientId, ConfigScope } from "../runtime/clients/types.ts";
import { DENO_IMAGE } from "../runtime/sandbox/docker_names.ts";
import { runDocker } from "../runtime/sandbox/docker_engine.ts";
import { cli, ROOT, tempDir } from "./_helpers.ts";
import { type Launch, READERS, withEntryClient } from "./_client_readers.ts";

const cache = tempDir("mcp-run-cache-");
const IMAGE = Deno.env.get("MCP_RUN_TEST_IMAGE") ?? `mcp-run-test/${DENO_IMAGE.split("/")[1]}`;

/** Why the docker form cannot be tested here, if it cannot (never skipped in CI). */
async function dockerProblem(): Promise<string | undefined> {
  try {
    if ((await runDocker(["version"])).code !== 0) return "no Docker engine answers";
    if ((await runDocker(["image", "inspect", IMAGE])).code !== 0) {
      return `the image ${IMAGE} is missing (run tools/docker_setup.sh)`;
    }
  } catch (error) {
    return (error as Error).message;
  }
}
const noDocker = await dockerProblem();
if (noDocker && Deno.env.get("CI") === "true") {
  throw new Error(`Docker entries cannot be left untested in CI: ${noDocker}`);
}
if (noDocker) console.error(`clients_e2e_test.ts: docker form skipped, ${noDocker}`);
/** Install options of the docker form: the local stand-in image; pull over the host network. */
const DOCKER_INSTALL = ["--image", IMAGE, "--network", "host"];
const SECRET_MANIFEST = join(ROOT, "tests", "testdata", "clients", "memory_secret.jsonc");
const NAME = "mem";

/** Scope per client: project files where the client has them, to cover both kinds. */
const SCOPES: Record<ClientId, ConfigScope> = {
  "claude-desktop": "user",
  vscode: "project",
  cursor: "user",
  "claude-code": "project",
  windsurf: "user",
  zed: "user",
  goose: "user",
  continue: "project",
};

function useServer(launch: Launch, graph: string, client: string): Promise<void> {
  return withEntryClient(launch, `e2e-${client}`, async (mcp) => {
    assert.equal(mcp.getServerVersion()?.name, "memory-server");
    const tools = (await mcp.listTools()).tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes("create_entities"), tools.join(","));
    const result = await mcp.callTool({
      name: "create_entities",
      arguments: {
        entities: [{ name: `ada-${client}`, entityType: "person", observations: ["x"] }],
      },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.match(await Deno.readTextFile(graph), new RegExp(`ada-${client}`));
  });
}

for (const client of Object.keys(READERS) as ClientId[]) {
  for (const form of ["deno", "launcher", "docker"]) {
    Deno.test({
      name: `install writes a ${form} entry that ${client} starts and uses`,
      ignore: form === "docker" && noDocker !== undefined,
      // The SDK's close() races the child's exit against an unreferenced 2 s timer.
      sanitizeOps: false,
      sanitizeResources: false,
    }, async () => {
      const work = tempDir("mcp-run-e2e-");
      const home = join(work, "home");
      const project = join(work, "project");
      const data = join(work, "data");
      for (const d of [home, project, data]) Deno.mkdirSync(d);
      // The container user may not be this user: let it write the data folder.
      Deno.chmodSync(data, 0o777);
      const formArgs = form === "docker" ? DOCKER_INSTALL : [];
      // Claude Desktop cannot carry a secret: it gets the plain memory server, whose file
      // path the manifest sets. Every other client gets the path as a secret.
      const secret = client !== "claude-desktop";
      const graph = join(data, secret ? `graph-${client}.jsonl` : "memory.jsonl");
      const installed = await cli([
        "install",
        secret ? SECRET_MANIFEST : "memory",
        "--client",
        client,
        "--scope",
        SCOPES[client],
        "--form",
        form,
        "--name",
        NAME,
        "-p",
        `dir=${data}`,
        "--cache",
        cache,
        ...formArgs,
      ], { env: { HOME: home }, cwd: project });
      assert.equal(installed.code, 0, installed.stderr);
      assert.match(installed.stdout, /^Installed "mem" for /);

      const environment: ClientEnvironment = { os: "linux", home, cwd: project };
      const file = clientConfigPath(client, { scope: SCOPES[client], environment, name: NAME });
      const text = await Deno.readTextFile(file);
      // The secret's value never appears in the file.
      if (secret) assert.ok(!text.includes(graph), "the secret value was written to the file");
      const vars: Record<string, string> = secret ? { MEMORY_FILE_PATH: graph } : {};
      const launch = await READERS[client]({ file, name: NAME, vars, home, project });
      if (form === "launcher") {
        // The checkout's CLI, from its own pinned cache: nothing is fetched at start.
        assert.ok(launch.args.includes(join(ROOT, "runtime", "cli.ts")), launch.args.join(" "));
        assert.ok(launch.args.includes("--cached-only"), launch.args.join(" "));
      }
      await useServer(launch, graph, client);

      // Installing again changes nothing; uninstalling removes the entry.
      const again = await cli([
        "install",
        secret ? SECRET_MANIFEST : "memory",
        ...["--client", client, "--scope", SCOPES[client], "--form", form, "--name", NAME],
        ...["-p", `dir=${data}`, "--cache", cache],
        ...formArgs,
      ], { env: { HOME: home }, cwd: project });
      assert.match(again.stdout, /is already installed/, again.stderr);
      assert.equal(await Deno.readTextFile(file), text);
      const removed = await cli(
        ["uninstall", NAME, "--client", client, "--scope", SCOPES[client]],
        { env: { HOME: home }, cwd: project },
      );
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stdout, /^Removed "mem"/);
    });
  }
}

Deno.test({
  name: "install --env-file gives Claude Desktop a secret through a 0600 docker env file",
  ignore: noDocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const work = tempDir("mcp-run-e2e-");
  const home = join(work, "home");
  const data = join(work, "data");
  for (const d of [home, data]) Deno.mkdirSync(d);
  Deno.chmodSync(data, 0o777);
  const graph = join(data, "graph-env-file.jsonl");
  const envFile = join(work, "secrets", "memory.env");
  const installed = await cli([
    ...["install", SECRET_MANIFEST, "--client", "claude-desktop", "--form", "docker"],
    ...["--name", NAME, "-p", `dir=${data}`, "--cache", cache, "--env-file", envFile],
    ...DOCKER_INSTALL,
  ], { env: { HOME: home, MEMORY_FILE_PATH: graph } });
  assert.equal(installed.code, 0, installed.stderr);
  assert.match(
    installed.stderr,
    /Wrote MEMORY_FILE_PATH to .*memory\.env \(readable only by you\)/,
  );
  assert.equal(Deno.statSync(envFile).mode! & 0o777, 0o600);
  assert.equal(Deno.readTextFileSync(envFile), `MEMORY_FILE_PATH=${graph}\n`);

  const environment: ClientEnvironment = { os: "linux", home, cwd: work };
  const file = clientConfigPath("claude-desktop", { environment, name: NAME });
  const text = await Deno.readTextFile(file);
  assert.ok(!text.includes(graph), "the secret value was written to the config");
  const launch = await READERS["claude-desktop"]({
    file,
    name: NAME,
    vars: {},
    home,
    project: work,
  });
  assert.equal(launch.args[launch.args.indexOf("--env-file") + 1], envFile);
  assert.ok(!launch.args.includes("MEMORY_FILE_PATH"), "the secret is also passed by name");
  await useServer(launch, graph, "claude-desktop-env-file");

  // Control: the same entry without the env file cannot reach the graph file.
  const without = {
    ...launch,
    args: launch.args.filter((a, i, all) => a !== "--env-file" && all[i - 1] !== "--env-file"),
  };
  await assert.rejects(useServer(without, join(data, "never.jsonl"), "no-env-file"));
});
