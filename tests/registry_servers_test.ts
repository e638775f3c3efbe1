/**
 * End to end: each built-in registry server pulled, launched under exactly its flags, and used
 * through the real MCP SDK client; filesystem, memory and everything audited for what their
 * grants quietly cost them (see _catalogue_audit.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { checkApproval } from "../runtime/policy/approval.ts";
import { denoLaunchPlan } from "../runtime/sandbox/launch_plan.ts";
import { connectServer } from "../runtime/sandbox/connect.ts";
import { parseManifest } from "../runtime/policy/manifest_text.ts";
import { listManifests, loadManifest } from "../runtime/registry/load.ts";
import { isContainerOnly } from "../runtime/policy/package_kind.ts";
import { resolveServer } from "../runtime/policy/resolve.ts";
import {
  auditCatalogueEntry,
  auditFile,
  CATALOGUE_AUDIT,
  listOffering,
  readPermissionChecks,
  refusedChecks,
  withPermissionAudit,
} from "./_catalogue_audit.ts";
import {
  checkFilesystemConfined,
  filesystemScene,
  registryServer,
  resultText,
  ROOT,
  tempDir,
} from "./_helpers.ts";

/** Pulled code is kept between runs (each pull is still verified before a launch). */
const cache = Deno.env.get("MCP_RUN_TEST_CACHE") ?? join(ROOT, ".cache", "e2e");

Deno.test("filesystem reads inside its folder and is refused outside, leaking nothing", async () => {
  const scene = filesystemScene(tempDir());
  const { granted } = scene;
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
    await checkFilesystemConfined(client, scene);
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

Deno.test("CATALOGUE_AUDIT holds every Deno catalogue entry, each refusal with a reason", async () => {
  // Deno's permission records audit Deno servers; container entries are proven by their own
  // tests (catalogue_pypi_test.ts, catalogue_oci_test.ts), from inside their containers.
  const deno = (await listManifests()).filter((l) => !isContainerOnly(l.manifest.package));
  assert.deepEqual(Object.keys(CATALOGUE_AUDIT).sort(), deno.map((l) => l.manifest.name).sort());
  for (const [name, expected] of Object.entries(CATALOGUE_AUDIT)) {
    for (const { reason } of expected.refused ?? []) assert.ok(reason.trim(), name);
  }
});

Deno.test("everything: lists its 7 resources, refused nothing it needs", async () => {
  const server = await registryServer("everything", cache);
  await auditCatalogueEntry(server, { cacheRoot: cache });
});

Deno.test("everything without its package read lists no resources, and the audit names the refused read", async () => {
  // The positive control of the audit: the manifest as it was, with no grants at all.
  const { manifest } = await loadManifest("everything");
  const bare = resolveServer(
    parseManifest(JSON.stringify({ ...manifest, permissions: {} })),
    { cacheRoot: cache },
  );
  assert.deepEqual(bare.read, []);
  const file = auditFile(bare);
  const plan = withPermissionAudit(denoLaunchPlan(bare, { cacheRoot: cache }), file);
  const { client, close } = await connectServer(bare, {
    cacheRoot: cache,
    plan,
    progress: () => {},
    onStderr: () => {},
  });
  try {
    assert.equal((await listOffering(client)).resources, 0);
  } finally {
    await close();
  }
  const refused = refusedChecks(bare, readPermissionChecks(file), cache);
  assert.ok(refused.includes("read ${package_dir}/dist/docs"), refused.join("\n"));
  // The narrowed copy now stands as the approved manifest: approve the registry's again.
  await checkApproval(await registryServer("everything", cache), {
    cacheRoot: cache,
    approve: true,
    progress: () => {},
  });
});

Deno.test("filesystem: lists all it offers, refused nothing it needs", async () => {
  const granted = join(tempDir(), "granted");
  Deno.mkdirSync(granted);
  Deno.writeTextFileSync(join(granted, "note.txt"), "inside the grant");
  const server = await registryServer("filesystem", cache, { dirs: granted });
  await auditCatalogueEntry(server, {
    cacheRoot: cache,
    call: { name: "list_directory", arguments: { path: granted } },
  });
});

Deno.test("memory: lists all it offers, refused nothing it needs", async () => {
  const server = await registryServer("memory", cache, { dir: tempDir() });
  await auditCatalogueEntry(server, {
    cacheRoot: cache,
    call: { name: "read_graph", arguments: {} },
  });
});
