/**
 * The tool filter end to end: the real MCP SDK client speaks to the fixture server
 * (tests/testdata/poisoned) through `mcp-run run` (natively and in docker) and `mcp-run serve`.
 * Canary: the fixture writes a file per tool call; a filtered tool is not listed, its call is
 * refused with an error naming the filter and the file never appears. Positive control: without
 * the filter the same call reaches the server and the file appears.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServe } from "./_serve_cli.ts";
import { CLI_DOCKER, dockerProblem } from "./_docker.ts";
import { connectClient } from "./_bridge_helpers.ts";
import { ROOT, toolEnv } from "./_helpers.ts";
import {
  connectGuarded,
  POISONED,
  POISONED_MANIFEST,
  type PoisonedScene,
  poisonedScene,
} from "./_poisoned.ts";

const dockerMissing = await dockerProblem("tool_filter_e2e_test.ts: skipping docker tests");
type Named = { name: string };

/** Excluding delete_all: not listed, refused, never called; without the filter it is called. */
async function assertExcluded(scene: PoisonedScene, args: string[] = []): Promise<void> {
  const filtered = await connectGuarded(scene, { args: [...args, "--exclude-tools", "delete_*"] });
  try {
    const names = (await filtered.client.listTools()).tools.map((t: Named) => t.name);
    assert.deepEqual(names, ["add", "echo"]);
    await assert.rejects(
      filtered.client.callTool({ name: "delete_all", arguments: {} }),
      /refused tool "delete_all": it is excluded by --exclude-tools "delete_\*"/,
    );
    assert.equal(scene.called("delete_all"), false, "a filtered tool reached the server");
  } finally {
    await filtered.close();
  }
  const open = await connectGuarded(scene, { args });
  try {
    const names = (await open.client.listTools()).tools.map((t: Named) => t.name);
    assert.ok(names.includes("delete_all"));
    await open.client.callTool({ name: "delete_all", arguments: {} });
    assert.ok(scene.called("delete_all"), "the canary did not fire without the filter");
  } finally {
    await open.close();
  }
}

Deno.test("mcp-run run --exclude-tools leaves a tool out and refuses its call", async () => {
  const scene = poisonedScene();
  try {
    await assertExcluded(scene);
  } finally {
    scene.remove();
  }
});

Deno.test("mcp-run run --tools narrows the manifest's tools section and never widens it", async () => {
  const scene = poisonedScene();
  const manifest = join(POISONED, "filtered.jsonc");
  try {
    // The manifest allows add and whisper (whisper the scan blocks) and denies delete_*.
    const plain = await connectGuarded(scene, { manifest });
    const names = (await plain.client.listTools()).tools.map((t: Named) => t.name);
    await plain.close();
    assert.deepEqual(names, ["add"]);
    const narrowed = await connectGuarded(scene, {
      manifest,
      args: ["--tools", "delete_all,echo", "--tools", "add", "--scan", "warn"],
    });
    try {
      const kept = (await narrowed.client.listTools()).tools.map((t: Named) => t.name);
      assert.deepEqual(kept, ["add"]);
      await assert.rejects(
        narrowed.client.callTool({ name: "delete_all", arguments: {} }),
        /it is excluded by the manifest's tools "delete_\*"/,
      );
      await assert.rejects(
        narrowed.client.callTool({ name: "whisper", arguments: {} }),
        /it is not among the tools --tools allows \(delete_all, echo, add\)/,
      );
      await narrowed.client.callTool({ name: "add", arguments: { a: 1, b: 1 } });
    } finally {
      await narrowed.close();
    }
    assert.equal(scene.called("delete_all"), false);
    assert.equal(scene.called("whisper"), false);
    assert.ok(scene.called("add"));
  } finally {
    scene.remove();
  }
});

Deno.test("mcp-run run with a readOnly tools section keeps only tools annotated read-only", async () => {
  const scene = poisonedScene();
  try {
    const guarded = await connectGuarded(scene, { manifest: join(POISONED, "read_only.jsonc") });
    try {
      const names = (await guarded.client.listTools()).tools.map((t: Named) => t.name);
      assert.deepEqual(names, ["add"]);
      await assert.rejects(
        guarded.client.callTool({ name: "delete_all", arguments: {} }),
        /keeps only tools annotated read-only \(readOnlyHint\)/,
      );
    } finally {
      await guarded.close();
    }
    assert.equal(scene.called("delete_all"), false);
  } finally {
    scene.remove();
  }
});

Deno.test("mcp-run run refuses a bad tool rule or scan mode as a usage error", async () => {
  const scene = poisonedScene();
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", join(ROOT, "mod.ts"), "run", POISONED_MANIFEST, ...args],
      env: { ...toolEnv(), HOME: scene.work },
      clearEnv: true,
      stdin: "null",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  try {
    const dir = `dir=${scene.dir}`;
    const rule = await run("-p", dir, "--exclude-tools", "a b");
    assert.equal(rule.code, 2);
    assert.match(rule.stderr, /--exclude-tools: "a b" is not a tool name or glob/);
    const scan = await run("-p", dir, "--scan", "off");
    assert.equal(scan.code, 2);
    assert.match(scan.stderr, /--scan must be warn or block, got "off"/);
    assert.equal(scene.called("add"), false);
  } finally {
    scene.remove();
  }
});

Deno.test({
  name: "mcp-run run --isolation docker --exclude-tools leaves a tool out and refuses its call",
  ignore: dockerMissing !== undefined,
  fn: async () => {
    const scene = poisonedScene();
    try {
      await assertExcluded(scene, CLI_DOCKER);
    } finally {
      scene.remove();
    }
  },
});

/** One serve session: delete_all filtered, weather blocked, add called. */
async function assertServed(args: string[]): Promise<void> {
  const scene = poisonedScene();
  const served = await startServe([
    POISONED_MANIFEST,
    ...["-p", `dir=${scene.dir}`, "--cache", scene.cache, "--port", "0"],
    ...["--exclude-tools", "delete_all", ...args],
  ]);
  try {
    const { client } = await connectClient({ url: served.url });
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t: Named) => t.name), ["add", "echo"]);
      assert.equal(tools[1].description, "Echoes text. Zerowidth, idib, red and isolated.");
      await assert.rejects(
        client.callTool({ name: "delete_all", arguments: {} }),
        /excluded by --exclude-tools/,
      );
      await assert.rejects(client.callTool({ name: "weather", arguments: {} }), /poisoning scan/);
      await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
    } finally {
      await client.close();
    }
    assert.equal(scene.called("delete_all"), false);
    assert.equal(scene.called("weather"), false);
    assert.ok(scene.called("add"));
  } finally {
    served.child.kill("SIGTERM");
    await served.child.status;
    scene.remove();
  }
}

Deno.test("mcp-run serve filters tools and scans definitions in each session", async () => {
  await assertServed([]);
});

Deno.test({
  name: "mcp-run serve --isolation docker filters tools and scans definitions in each session",
  ignore: dockerMissing !== undefined,
  fn: () => assertServed(CLI_DOCKER),
});
