/**
 * End to end: each built-in registry server pulled, launched under exactly its flags, and used
 * through the real MCP SDK client.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { connectServer } from "../runtime/connect.ts";
import { denoLaunchPlan } from "../runtime/launch_plan.ts";
import { registryServer, resultText, ROOT, tempDir } from "./_helpers.ts";

const cache = tempDir("mcp-run-cache-");

Deno.test("filesystem reads inside its folder and is refused outside, leaking nothing", async () => {
  const work = tempDir();
  const granted = join(work, "granted");
  Deno.mkdirSync(granted);
  Deno.writeTextFileSync(join(granted, "note.txt"), "inside the grant");
  const canary = `CANARY-${crypto.randomUUID()}`;
  Deno.writeTextFileSync(join(work, "secret.txt"), canary);
  Deno.mkdirSync(join(work, "granted-evil"));
  Deno.writeTextFileSync(join(work, "granted-evil", "s.txt"), canary);

  const server = await registryServer("filesystem", cache, { dirs: granted });
  const plan = denoLaunchPlan(server, { cacheRoot: cache });
  assert.ok(plan.args.includes(`--allow-read=${granted}`));
  assert.ok(plan.args.includes(`--allow-write=${granted}`));
  assert.ok(!plan.args.some((a) => a.startsWith("--allow-net") || a.startsWith("--allow-env")));

  const { client, close } = await connectServer(server, {
    cacheRoot: cache,
    progress: () => {},
    onStderr: () => {},
  });
  try {
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes("read_text_file") && tools.includes("write_file"));
    const ok = await client.callTool({
      name: "read_text_file",
      arguments: { path: join(granted, "note.txt") },
    });
    assert.equal(resultText(ok), "inside the grant");
    for (
      const path of [
        join(work, "secret.txt"),
        join(granted, "..", "secret.txt"),
        join(work, "granted-evil", "s.txt"),
      ]
    ) {
      const denied = await client.callTool({ name: "read_text_file", arguments: { path } });
      assert.equal(denied.isError, true, path);
      assert.ok(!JSON.stringify(denied).includes(canary), path);
    }
    const wrote = await client.callTool({
      name: "write_file",
      arguments: { path: join(granted, "out.txt"), content: "written" },
    });
    assert.notEqual(wrote.isError, true);
    assert.equal(Deno.readTextFileSync(join(granted, "out.txt")), "written");
  } finally {
    await close();
  }
});

Deno.test("memory keeps its graph in the chosen folder and writes nothing else", async () => {
  const dir = tempDir();
  const server = await registryServer("memory", cache, { dir });
  const { client, close } = await connectServer(server, {
    cacheRoot: cache,
    progress: () => {},
    onStderr: () => {},
  });
  try {
    await client.callTool({
      name: "create_entities",
      arguments: {
        entities: [{
          name: "Ada",
          entityType: "person",
          observations: ["wrote the first program"],
        }],
      },
    });
    const graph = await client.callTool({ name: "read_graph", arguments: {} });
    assert.match(resultText(graph), /wrote the first program/);
  } finally {
    await close();
  }
  const files = [...Deno.readDirSync(dir)].map((e) => e.name);
  assert.deepEqual(files, ["memory.jsonl"]);
  assert.match(Deno.readTextFileSync(join(dir, "memory.jsonl")), /"name":"Ada"/);
});

Deno.test("everything lists its tools and echoes through mcp-run run, as a client spawns it", async () => {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: ["run", "-A", "--quiet", `${ROOT}/mod.ts`, "run", "everything", "--cache", cache],
    env: Deno.env.toObject(),
    stderr: "pipe",
  });
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((t: { name: string }) => t.name);
    assert.ok(tools.includes("echo"), tools.join(","));
    const echoed = await client.callTool({ name: "echo", arguments: { message: "hi there" } });
    assert.match(resultText(echoed), /hi there/);
    const prompts = (await client.listPrompts()).prompts;
    assert.ok(prompts.length > 0);
  } finally {
    await client.close();
  }
});
