import assert from "node:assert/strict";
import { join } from "node:path";
import { orphanRemoval, reapOrphansLater } from "./docker_orphans.ts";

Deno.test("reapOrphansLater() puts the removal off until a server stops", async () => {
  const dir = await Deno.makeTempDir();
  const docker = join(dir, "docker");
  const log = join(dir, "calls");
  await Deno.writeTextFile(docker, `#!/bin/sh\necho "$1" >> '${log}'\n`);
  await Deno.chmod(docker, 0o755);
  const calls = () => {
    try {
      return Deno.readTextFileSync(log).split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  try {
    reapOrphansLater({ docker });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(calls(), [], "no docker client runs while the server starts");
    await orphanRemoval();
    if (Deno.build.os === "linux") assert.deepEqual(calls(), ["ps"], "the removal ran at stop");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
