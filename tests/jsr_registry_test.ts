import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startJsrRegistry } from "./jsr_registry.ts";

const root = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();
/** How this machine trusts TLS certificates, for children that fetch npm packages. */
const tls = Object.fromEntries(
  ["NODE_EXTRA_CA_CERTS", "DENO_CERT", "DENO_TLS_CA_STORE", "HTTPS_PROXY", "https_proxy"]
    .flatMap((name) => Deno.env.get(name) === undefined ? [] : [[name, Deno.env.get(name)!]]),
);

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

Deno.test("startJsrRegistry() serves published servers that deno runs through JSR_URL", async () => {
  const registry = await startJsrRegistry();
  // A neutral folder: run from the repository, Deno would resolve the workspace member instead.
  const cwd = await Deno.makeTempDir();
  try {
    const time = await registry.publish(`${root}servers/time`);
    assert.deepEqual([...time.files.keys()].sort(), ["/README.md", "/deno.json", "/mod.ts"]);
    assert.deepEqual(time.exports, { ".": "./mod.ts" });
    // deno publish unfurls the import map: the served file names the npm package itself.
    const source = decoder.decode(time.files.get("/mod.ts"));
    assert.match(source, /from "npm:\/@modelcontextprotocol\/sdk@1\.32\.2\/server\/mcp\.js"/);
    const fetchPkg = await registry.publish(`${root}servers/fetch`);
    assert.ok(fetchPkg.files.has("/html_to_markdown.ts"));

    const transport = new StdioClientTransport({
      command: Deno.execPath(),
      // No --allow-* flag at all: the time server needs none.
      args: ["run", "--no-prompt", "--no-config", "jsr:@sandboxed/time@0.1.0"],
      cwd,
      env: { ...tls, JSR_URL: registry.url, NO_COLOR: "1" },
      stderr: "pipe",
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(
        tools.map((tool: { name: string }) => tool.name).sort(),
        ["convert_time", "get_current_time"],
      );
      const result = await client.callTool({
        name: "get_current_time",
        arguments: { timezone: "Asia/Kathmandu" },
      });
      const text = (result.content as { text: string }[])[0].text;
      assert.match(JSON.parse(text).datetime, /\+05:45$/);
    } finally {
      await client.close();
    }
    for (
      const path of [
        "GET /@sandboxed/time/meta.json",
        "GET /@sandboxed/time/0.1.0_meta.json",
        "GET /@sandboxed/time/0.1.0/mod.ts",
      ]
    ) {
      assert.ok(registry.requests.includes(path), `${path} was not requested`);
    }

    // Once cached with a lockfile, a frozen run needs nothing from the registry.
    const lock = `${cwd}/deno.lock`;
    const cache = await new Deno.Command(Deno.execPath(), {
      args: ["cache", "--no-config", `--lock=${lock}`, "jsr:@sandboxed/fetch@0.1.0"],
      cwd,
      env: { ...tls, JSR_URL: registry.url, NO_COLOR: "1" },
    }).output();
    assert.equal(cache.code, 0, decoder.decode(cache.stderr));
    const lockText = await Deno.readTextFile(lock);
    assert.match(lockText, /"@sandboxed\/fetch@0\.1\.0": \{\s*"integrity": "[0-9a-f]{64}"/);
    const before = registry.requests.length;
    const frozen = new StdioClientTransport({
      command: Deno.execPath(),
      args: [
        "run",
        "--no-prompt",
        "--no-config",
        "--cached-only",
        "--frozen",
        `--lock=${lock}`,
        "--allow-net=example.com",
        "--deny-net=127.0.0.0/8",
        "jsr:@sandboxed/fetch@0.1.0",
      ],
      cwd,
      env: { ...tls, JSR_URL: registry.url, NO_COLOR: "1" },
      stderr: "pipe",
    });
    const fetchClient = new Client({ name: "test", version: "1.0.0" });
    await fetchClient.connect(frozen);
    try {
      const denied = await fetchClient.callTool({
        name: "fetch",
        arguments: { url: registry.url + "@sandboxed/time/meta.json" },
      });
      assert.equal(denied.isError, true);
      assert.match((denied.content as { text: string }[])[0].text, /was not granted/);
    } finally {
      await fetchClient.close();
    }
    assert.deepEqual(registry.requests.slice(before), []);
  } finally {
    await registry.close();
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno refuses a jsr: file whose bytes do not match the registry's checksum", async () => {
  const work = await Deno.makeTempDir();
  // A private DENO_DIR so nothing from another run is cached.
  const env = { DENO_DIR: `${work}/deno_dir`, NO_COLOR: "1" };
  const registry = await startJsrRegistry({ env });
  try {
    await copyDir(`${root}tests/testdata/jsr_canary`, `${work}/pkg`);
    await registry.publish(`${work}/pkg`);
    registry.tamper(
      "@test/canary@1.0.0",
      "/mod.ts",
      'if (import.meta.main) Deno.writeTextFileSync(Deno.args[0], "pwned");\n',
    );
    const canary = `${work}/canary.txt`;
    const run = (denoDir: string): Promise<Deno.CommandOutput> =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          "--no-config",
          `--allow-write=${canary}`,
          "jsr:@test/canary@1.0.0",
          canary,
        ],
        cwd: work,
        env: { ...env, DENO_DIR: denoDir, JSR_URL: registry.url },
        stdin: "null",
      }).output();

    const tampered = await run(env.DENO_DIR);
    assert.notEqual(tampered.code, 0);
    assert.match(decoder.decode(tampered.stderr), /Integrity check failed/);
    assert.ok(registry.requests.includes("GET /@test/canary/1.0.0/mod.ts"));
    // The bad bytes stay in the code cache, and are refused again on the next run.
    const again = await run(env.DENO_DIR);
    assert.notEqual(again.code, 0);
    assert.match(decoder.decode(again.stderr), /Integrity check failed/);
    await assert.rejects(Deno.stat(canary), Deno.errors.NotFound);

    // Positive control: the published bytes, same flags, fresh cache: the canary is written.
    registry.tamper("@test/canary@1.0.0", "/mod.ts", undefined);
    const honest = await run(`${work}/deno_dir_control`);
    assert.equal(honest.code, 0, decoder.decode(honest.stderr));
    assert.equal(await Deno.readTextFile(canary), "honest");
  } finally {
    await registry.close();
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("startJsrRegistry() accepts publishing only with its token", async () => {
  const registry = await startJsrRegistry();
  try {
    const response = await fetch(`${registry.url}api/scopes/evil/packages/x/versions/1.0.0`, {
      method: "POST",
      headers: { authorization: "Bearer wrong" },
      body: new Uint8Array([0x1f, 0x8b]),
    });
    assert.equal(response.status, 401);
    await response.body?.cancel();
    const meta = await fetch(`${registry.url}@evil/x/meta.json`);
    assert.equal(meta.status, 404);
    await meta.body?.cancel();
  } finally {
    await registry.close();
  }
});
