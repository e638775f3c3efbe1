import assert from "node:assert/strict";
import { join } from "node:path";
import { readLaunchHint, rememberLaunch } from "./_launch_hint.ts";
import { serverDirs } from "../sandbox/cache_dirs.ts";

const SERVER = { name: "time", specifier: "npm:@example/time@1.0.0" };

Deno.test("rememberLaunch() records the server, and the next readLaunchHint() of that command line checks its cache", async () => {
  const root = Deno.makeTempDirSync({ prefix: "mcp-run-hint-" });
  try {
    const argv = ["run", "time", "--cache", root];
    const first = readLaunchHint(argv, {});
    assert.ok(first?.file.startsWith(join(root, "launches")));
    assert.equal(first?.sealCheck, undefined, "nothing remembered yet");
    await rememberLaunch(first, SERVER, root);
    const next = readLaunchHint(argv, {});
    assert.equal(next?.file, first?.file);
    assert.equal(next?.sealCheck?.dir, serverDirs(SERVER.name, SERVER.specifier, root).dir);
    assert.equal(next?.sealCheck?.specifier, SERVER.specifier);
    assert.equal(await next?.sealCheck?.holds, false, "a cache never pulled has no seal");
    // Another command line has a hint of its own.
    assert.notEqual(readLaunchHint([...argv, "-p", "x=1"], {})?.file, first?.file);
    assert.equal(readLaunchHint([...argv, "-p", "x=1"], {})?.sealCheck, undefined);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("readLaunchHint() finds the cache root as the CLI does, and never throws", () => {
  const root = Deno.makeTempDirSync({ prefix: "mcp-run-hint-" });
  try {
    const at = (argv: string[], env: Record<string, string> = {}) =>
      readLaunchHint(argv, env)?.file;
    assert.ok(at(["run", "x", `--cache=${root}`])?.startsWith(join(root, "launches/")));
    assert.ok(at(["run", "x"], { MCP_RUN_CACHE: root })?.startsWith(join(root, "launches/")));
    assert.ok(
      at(["run", "x", "--", "--cache", "/elsewhere"], { MCP_RUN_CACHE: root })?.startsWith(root),
      "a server's own --cache after -- is not mcp-run's",
    );
    assert.equal(at(["run", "x"], {}), undefined, "no HOME and no cache root: no hint");
    Deno.mkdirSync(join(root, "launches"));
    for (const name of Deno.readDirSync(join(root, "launches"))) assert.fail(name.name);
    const file = at(["run", "x", "--cache", root])!;
    Deno.writeTextFileSync(file, "not json");
    assert.equal(readLaunchHint(["run", "x", "--cache", root], {})?.sealCheck, undefined);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
