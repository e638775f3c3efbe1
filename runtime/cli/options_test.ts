import assert from "node:assert/strict";
import { parseCommandLine, readContext } from "./options.ts";

async function context(args: string[], command = "run") {
  const parsed = await parseCommandLine(args);
  return await readContext(parsed.values, {
    command,
    env: { HOME: "/nonexistent", MCP_RUN_CACHE: "/tmp/mcp-run-options-test" },
    defaults: {},
    print: () => {},
    printError: () => {},
  });
}

Deno.test("readContext() refuses --allow-build under gvisor, saying the build would run under runc", async () => {
  for (const command of ["run", "pull", "serve", "flags"]) {
    await assert.rejects(
      () => context(["--isolation", "gvisor", "--allow-build"], command),
      {
        name: "UsageError",
        message:
          /^--allow-build needs --isolation docker: building a source distribution runs the package's own code in the pull container, which runs under the host's kernel \(runc\), not gVisor/,
      },
    );
  }
  // Positive controls: docker takes it, and gvisor takes its other container options.
  const docker = await context(["--isolation", "docker", "--allow-build"]);
  assert.equal(docker.docker.allowBuild, true);
  const gvisor = await context(["--isolation", "gvisor", "--memory", "256m"]);
  assert.equal(gvisor.sandbox.isolation, "gvisor");
});
