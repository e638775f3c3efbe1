/**
 * The guard in client entries: a launcher-form entry runs `mcp-run run` with the tool filter and
 * scan options it was installed with, so the client it serves never sees a filtered or poisoned
 * tool, and a call to one never reaches the server (the fixture's canary file stays absent). The
 * deno and docker forms start the server with nothing between it and the client: they refuse
 * these options instead of silently dropping them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cli, toolEnv } from "./_helpers.ts";
import { allStrings, HIDDEN, POISONED_MANIFEST, poisonedScene } from "./_poisoned.ts";

type Named = { name: string };

Deno.test("mcp-run install --form launcher writes an entry that filters and scans", async () => {
  const scene = poisonedScene();
  try {
    const file = join(scene.work, "mcp.json");
    const home = join(scene.work, "home");
    Deno.mkdirSync(home);
    const r = await cli([
      ...["install", POISONED_MANIFEST, "--client", "cursor", "--file", file, "--form", "launcher"],
      ...["-p", `dir=${scene.dir}`, "--cache", scene.cache, "--exclude-tools", "delete_all"],
    ], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    const entry = JSON.parse(Deno.readTextFileSync(file)).mcpServers.poisoned;
    assert.deepEqual(entry.args.slice(entry.args.indexOf("--exclude-tools")).slice(0, 2), [
      "--exclude-tools",
      "delete_all",
    ]);
    const transport = new StdioClientTransport({
      command: entry.command,
      args: entry.args,
      env: { ...toolEnv(), HOME: home, ...entry.env },
      stderr: "pipe",
    });
    const client = new Client({ name: "launcher-scan-test", version: "1.0.0" });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t: Named) => t.name), ["add", "echo"]);
      assert.deepEqual(allStrings(tools).filter((s) => HIDDEN.test(s)), []);
      await assert.rejects(client.callTool({ name: "delete_all", arguments: {} }), /excluded/);
      await assert.rejects(client.callTool({ name: "weather", arguments: {} }), /poisoning scan/);
      // Positive control: a call the guard lets through this entry reaches the server's canary.
      await client.callTool({ name: "add", arguments: { a: 1, b: 2 } });
    } finally {
      await client.close();
    }
    assert.equal(scene.called("add"), true, "the canary can fire through this entry");
    assert.equal(scene.called("delete_all"), false);
    assert.equal(scene.called("weather"), false);
  } finally {
    scene.remove();
  }
});

Deno.test("mcp-run config refuses guard options for an entry that cannot apply them", async () => {
  const scene = poisonedScene();
  try {
    for (const form of ["deno", "docker"]) {
      const r = await cli([
        ...["config", POISONED_MANIFEST, "--client", "cursor", "--form", form],
        ...["-p", `dir=${scene.dir}`, "--cache", scene.cache, "--scan", "warn"],
      ], { env: { HOME: scene.work } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`--scan needs --form launcher: a ${form} entry starts`));
    }
    const plain = await cli([
      ...["config", POISONED_MANIFEST, "-p", `dir=${scene.dir}`, "--tools", "add"],
    ], { env: { HOME: scene.work } });
    assert.equal(plain.code, 2, plain.stderr);
    assert.match(plain.stderr, /--tools needs --form launcher/);
  } finally {
    scene.remove();
  }
});
