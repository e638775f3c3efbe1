/**
 * Tool pinning in client entries: a launcher-form entry runs `mcp-run run`, so it is held to the
 * server's pins (started here as a client starts it, with the real SDK client); a self-contained
 * deno or docker entry cannot be, and says so where it is written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { cli, tempDir } from "./_helpers.ts";
import { approve, callText, CANARY, RUG_PULL, sceneEnv, toolNames } from "./_pins.ts";

const NOT_PINNED =
  /This entry starts the server without mcp-run's guard, so its tools are not pinned/;

Deno.test("mcp-run config says a deno-form entry cannot pin its tools", async () => {
  const work = tempDir("mcp-run-pins-clients-");
  try {
    const env = { ...sceneEnv(join(work, "cache")), HOME: work };
    const plain = await cli(["config", RUG_PULL], { env });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, NOT_PINNED);
    const cursor = await cli(["config", RUG_PULL, "--client", "cursor", "--format", "json"], {
      env,
    });
    assert.equal(cursor.code, 0, cursor.stderr);
    assert.ok(JSON.parse(cursor.stdout).notices.some((n: string) => NOT_PINNED.test(n)));
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("a launcher-form client entry blocks a rug pull until approved", async () => {
  const work = tempDir("mcp-run-pins-clients-");
  const cache = join(work, "cache");
  try {
    const env = { ...sceneEnv(cache), HOME: work };
    const config = await cli(
      [
        "config",
        RUG_PULL,
        "--client",
        "cursor",
        "--form",
        "launcher",
        "--format",
        "json",
        // The scan alone would block the rug pull's description: this entry proves the pins.
        "--scan",
        "warn",
        "--",
        "changed",
      ],
      { env },
    );
    assert.equal(config.code, 0, config.stderr);
    const { entry, notices } = JSON.parse(config.stdout);
    assert.ok(!notices.some((n: string) => NOT_PINNED.test(n)), notices.join("\n"));
    await approve(cache, "innocent");
    const start = async () => {
      const client = new Client({ name: "cursor-like", version: "1.0.0" });
      const transport = new StdioClientTransport({
        command: entry.command,
        args: entry.args,
        env: { ...entry.env, HOME: work, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        stderr: "ignore",
      });
      await client.connect(transport);
      return client;
    };
    const pulled = await start();
    try {
      assert.deepEqual(await toolNames(pulled), ["arm"]);
      assert.match(await callText(pulled, "read_file"), /^refused: .*description changed/);
    } finally {
      await pulled.close();
    }
    // The positive control: approved, the entry reaches the canary.
    await approve(cache, "changed");
    const approved = await start();
    try {
      assert.equal(await callText(approved, "read_file"), `${CANARY} read_file`);
    } finally {
      await approved.close();
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
