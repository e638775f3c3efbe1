import assert from "node:assert/strict";
import { join } from "node:path";
import { detectClients } from "./detect_clients.ts";
import { CLIENTS } from "./registry.ts";
import type { ClientEnvironment } from "./types.ts";

Deno.test({
  name: "detectClients() reports which clients are set up and where their files are",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mcp-run-detect-" });
    const environment: ClientEnvironment = {
      os: "linux",
      home: join(dir, "home"),
      cwd: join(dir, "project"),
    };
    await Deno.mkdir(join(dir, "home", ".cursor"), { recursive: true });
    await Deno.writeTextFile(join(dir, "home", ".cursor", "mcp.json"), "{}");
    await Deno.mkdir(join(dir, "home", ".config", "zed"), { recursive: true });
    await Deno.mkdir(join(dir, "project", ".vscode"), { recursive: true });
    await Deno.mkdir(join(dir, "project", ".continue", "mcpServers"), { recursive: true });

    const rows = await detectClients({ environment });
    assert.equal(rows.length, CLIENTS.reduce((n, c) => n + c.scopes.length, 0));
    const row = (client: string, scope: string) =>
      rows.find((r) => r.client === client && r.scope === scope)!;
    assert.deepEqual(row("cursor", "user"), {
      client: "cursor",
      displayName: "Cursor",
      scope: "user",
      file: join(dir, "home", ".cursor", "mcp.json"),
      present: true,
      configured: true,
    });
    assert.equal(row("zed", "user").present, true);
    assert.equal(row("zed", "user").configured, false);
    assert.equal(row("vscode", "project").present, true);
    assert.equal(row("vscode", "project").file, join(dir, "project", ".vscode", "mcp.json"));
    assert.equal(row("continue", "project").configured, true);
    assert.equal(row("continue", "project").file, join(dir, "project", ".continue", "mcpServers"));
    for (const absent of ["claude-desktop", "windsurf", "goose"]) {
      assert.equal(row(absent, "user").present, false, absent);
    }
    assert.equal(row("claude-code", "project").present, false);
  },
});
