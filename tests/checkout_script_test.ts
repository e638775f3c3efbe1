/**
 * The checkout's `./mcp-run` script: how many times it starts Deno before the CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";

Deno.test("./mcp-run checks the pinned Deno's version once, then runs the CLI with it", async () => {
  // A stand-in Deno in a tools folder of its own: it logs each call and answers --version with
  // the pinned version, so nothing is installed.
  const tools = tempDir("mcp-run-tools-");
  const log = join(tools, "calls");
  const version = Deno.readTextFileSync(join(ROOT, "tools", "deno-version")).trim();
  const bin = join(tools, "node_modules", "deno", "deno");
  Deno.mkdirSync(join(tools, "node_modules", "deno"), { recursive: true });
  Deno.writeTextFileSync(
    bin,
    `#!/bin/sh\necho "$1" >> '${log}'\n[ "$1" = --version ] && echo "deno ${version} (stable)"\nexit 0\n`,
  );
  Deno.chmodSync(bin, 0o755);
  const out = await new Deno.Command(join(ROOT, "mcp-run"), {
    args: ["list"],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", MCP_RUN_TOOLS: tools },
    clearEnv: true,
    stdin: "null",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.deepEqual(Deno.readTextFileSync(log).split("\n").filter(Boolean), ["--version", "run"]);
});
