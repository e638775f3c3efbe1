/**
 * The `launcher` entry form end to end: a pinned JSR launcher (from the local JSR registry) and
 * a checkout's CLI, each started exactly as a client starts its entry, offline and under a
 * hostile client environment; and the checkout's `./mcp-run` under the same environment.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cli, ROOT, tempDir, toolEnv } from "./_helpers.ts";
import { startJsrRegistry } from "./jsr_registry.ts";
import { startNpmRegistry } from "./npm_registry.ts";

const decoder = new TextDecoder();
const cache = tempDir("mcp-run-launcher-cache-");

interface Entry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** A copy of this checkout's publishable package, as its own (non-workspace) package. */
async function packageCopy(): Promise<string> {
  const dir = tempDir("mcp-run-package-");
  for (const file of ["mod.ts", "LICENSE", "README.md"]) {
    await Deno.copyFile(join(ROOT, file), join(dir, file));
  }
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  delete config.workspace;
  await Deno.writeTextFile(join(dir, "deno.json"), JSON.stringify(config, null, 2));
  const copy = await new Deno.Command("cp", {
    args: ["-r", join(ROOT, "runtime"), join(ROOT, "manifests"), dir],
  }).output();
  assert.equal(copy.code, 0, decoder.decode(copy.stderr));
  return dir;
}

/** Installs the memory server for Cursor in the launcher form and returns its entry. */
async function installLauncher(extra: string[]): Promise<{ entry: Entry; data: string }> {
  const work = tempDir("mcp-run-launcher-");
  const home = join(work, "home");
  const data = join(work, "data");
  Deno.mkdirSync(home);
  Deno.mkdirSync(data);
  const file = join(work, "mcp.json");
  const r = await cli([
    ...["install", "memory", "--client", "cursor", "--file", file, "--form", "launcher"],
    ...["-p", `dir=${data}`, "--cache", cache, ...extra],
  ], { env: { HOME: home } });
  assert.equal(r.code, 0, r.stderr);
  const entry = JSON.parse(await Deno.readTextFile(file)).mcpServers.memory;
  return { entry, data };
}

/** Starts the entry as a client does (its env over the client's) and creates one entity. */
async function useEntry(entry: Entry, clientEnv: Record<string, string>, data: string) {
  const transport = new StdioClientTransport({
    command: entry.command,
    args: entry.args,
    env: { ...clientEnv, ...entry.env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => stderr += decoder.decode(chunk));
  const client = new Client({ name: "launcher-test", version: "1.0.0" });
  try {
    await client.connect(transport);
    const result = await client.callTool({
      name: "create_entities",
      arguments: { entities: [{ name: "ada", entityType: "person", observations: ["x"] }] },
    });
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.match(await Deno.readTextFile(join(data, "memory.jsonl")), /"ada"/);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlauncher stderr: ${stderr}`, { cause: error });
  } finally {
    await client.close();
  }
}

/** What a hostile client sets: registries that record requests, and an empty DENO_DIR. */
function hostileEnv(canary: string): Record<string, string> {
  return {
    ...toolEnv(),
    HOME: tempDir("mcp-run-client-home-"),
    DENO_DIR: tempDir("mcp-run-client-deno-dir-"),
    NPM_CONFIG_REGISTRY: canary,
    JSR_URL: canary,
  };
}

Deno.test({
  name: "mcp-run install --form launcher runs a checkout's CLI offline under a hostile client env",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const canary = await startNpmRegistry();
  try {
    const { entry, data } = await installLauncher([]);
    assert.ok(entry.args.includes(join(ROOT, "runtime", "cli.ts")), entry.args.join(" "));
    assert.ok(entry.args.includes("--cached-only") && entry.args.includes("--frozen"));
    await useEntry(entry, hostileEnv(canary.url), data);
    assert.deepEqual(canary.requests, [], "the launcher's start asked the client's registry");
  } finally {
    await canary.close();
  }
});

Deno.test({
  name: "mcp-run install --form launcher pins and caches a JSR launcher that starts offline",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const registry = await startJsrRegistry();
  const canary = await startNpmRegistry();
  let entry: Entry, data: string;
  try {
    const published = await registry.publish(await packageCopy());
    const version = published.version;
    assert.equal(published.name, "@sandboxed/mcp-run");
    // An unpinned launcher is refused before anything is written.
    const unpinned = await cli([
      ...["config", "memory", "--client", "cursor", "--form", "launcher"],
      ...["-p", `dir=${tempDir("mcp-run-launcher-data-")}`],
      ...["--cache", cache, "--launcher", "jsr:@sandboxed/mcp-run/cli"],
    ]);
    assert.equal(unpinned.code, 2, unpinned.stderr);
    assert.match(unpinned.stderr, /pin an exact version, e\.g\. jsr:@sandboxed\/mcp-run@/);

    ({ entry, data } = await installLauncher([
      ...["--launcher", `jsr:@sandboxed/mcp-run@${version}/cli`, "--jsr-url", registry.url],
    ]));
    assert.ok(entry.args.includes(`jsr:@sandboxed/mcp-run@${version}/cli`), entry.args.join(" "));
    assert.equal(entry.env.JSR_URL, registry.url);
    assert.ok(registry.requests.includes(`GET /@sandboxed/mcp-run/${version}/runtime/cli.ts`));

    // Run from JSR itself, mcp-run pins its own version and the registry it came from.
    const work = tempDir("mcp-run-from-jsr-");
    const file = join(work, "mcp.json");
    const fromJsr = await new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "-A", "--no-config", `jsr:@sandboxed/mcp-run@${version}/cli`, "config"],
        ...[join(ROOT, "manifests", "memory.jsonc"), "--client", "cursor", "--form", "launcher"],
        ...["-p", `dir=${data}`, "--cache", cache, "--file", file],
      ],
      cwd: work,
      env: { ...toolEnv(), HOME: work, JSR_URL: registry.url },
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(fromJsr.code, 0, decoder.decode(fromJsr.stderr));
    const self = JSON.parse(decoder.decode(fromJsr.stdout)).mcpServers.memory;
    assert.ok(self.args.includes(`jsr:@sandboxed/mcp-run@${version}/cli`), self.args.join(" "));
    assert.ok(self.args.includes("--no-config") && self.args.includes("--cached-only"));
    assert.equal(self.env.JSR_URL, registry.url);
  } finally {
    await registry.close();
  }
  try {
    // The registry is gone: the entry starts from its cache, whatever the client sets.
    await useEntry(entry, hostileEnv(canary.url), data);
    assert.deepEqual(canary.requests, [], "the launcher's start asked the client's registry");
  } finally {
    await canary.close();
  }
});

Deno.test({
  name: "mcp-run (the checkout script) ignores the caller's registry and DENO_* variables",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const canary = await startNpmRegistry();
  try {
    const env = hostileEnv(canary.url);
    const out = await new Deno.Command(join(ROOT, "mcp-run"), {
      args: ["clients", "--format", "json"],
      env: {
        ...env,
        HOME: Deno.env.get("HOME") ?? env.HOME,
        MCP_RUN_TOOLS: Deno.env.get("MCP_RUN_TOOLS") ?? join(ROOT, ".tools"),
      },
      clearEnv: true,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, decoder.decode(out.stderr));
    assert.ok(JSON.parse(decoder.decode(out.stdout)).length > 0);
    assert.deepEqual(canary.requests, [], "./mcp-run asked the caller's registry");
  } finally {
    await canary.close();
  }
});

Deno.test("a plain deno resolves npm: and jsr: packages through a canary registry (control)", async () => {
  const canary = await startNpmRegistry();
  try {
    const env = hostileEnv(canary.url);
    const dir = tempDir("mcp-run-control-");
    for (const specifier of ["npm:mcp-run-canary-probe@1.0.0", "jsr:@sandboxed/probe@1.0.0"]) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["cache", "--no-config", specifier],
        cwd: dir,
        env,
        clearEnv: true,
      }).output();
      assert.notEqual(out.code, 0);
    }
    assert.ok(canary.requests.includes("GET /mcp-run-canary-probe"), canary.requests.join());
    assert.ok(canary.requests.includes("GET /@sandboxed/probe/meta.json"), canary.requests.join());
  } finally {
    await canary.close();
  }
});
