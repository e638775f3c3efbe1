import assert from "node:assert/strict";
import { join } from "node:path";
import { denoLaunchPlan, prepareServer } from "./launch_plan.ts";
import { serverDirs } from "./cache_dirs.ts";
import { CacheError } from "./pull.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

const SOURCE = {
  HOME: "/home/launcher",
  PATH: "/usr/bin",
  AWS_SECRET_ACCESS_KEY: "launcher-secret",
  API_TOKEN: "declared-secret",
  DEBUG: "1",
};

Deno.test("denoLaunchPlan() starts deno in the server's neutral folder with its cache paths", () => {
  const server = serverFixture();
  const plan = denoLaunchPlan(server, { cacheRoot: "/c", deno: "/opt/deno", source: {} });
  const dirs = serverDirs(server.name, server.specifier, "/c");
  assert.equal(plan.program, "/opt/deno");
  assert.equal(plan.args[0], "run");
  assert.ok(plan.args.includes(server.specifier));
  assert.ok(plan.args.some((a) => a.includes(dirs.lockFile)), "the lockfile is the server's own");
  assert.equal(plan.cwd, dirs.cwd);
  assert.equal(plan.env.HOME, dirs.home, "the server never sees the user's home");
  assert.equal(plan.env.DENO_DIR, dirs.denoDir);
});

Deno.test("denoLaunchPlan() defaults to the running Deno", () => {
  assert.equal(
    denoLaunchPlan(serverFixture(), { cacheRoot: "/c", source: {} }).program,
    Deno.execPath(),
  );
});

Deno.test("denoLaunchPlan() passes only declared variables from the launcher's environment", () => {
  const server = serverFixture({ env: ["API_TOKEN", "DEBUG"], secrets: ["API_TOKEN"] });
  const plan = denoLaunchPlan(server, { cacheRoot: "/c", source: SOURCE });
  assert.equal(plan.env.DEBUG, "1");
  assert.equal(plan.env.API_TOKEN, "declared-secret");
  assert.equal(plan.env.AWS_SECRET_ACCESS_KEY, undefined, "an undeclared secret leaked");
  assert.equal(plan.env.PATH, undefined, "PATH is not inherited");
  assert.notEqual(plan.env.HOME, SOURCE.HOME);
});

Deno.test("denoLaunchPlan() sets registry mirrors, the manifest's fixed values and no-prompt", () => {
  const server = serverFixture({ envValues: { MODE: "fast" } });
  const plan = denoLaunchPlan(server, {
    cacheRoot: "/c",
    source: {},
    registries: { NPM_CONFIG_REGISTRY: "http://127.0.0.1:4873/" },
  });
  assert.equal(plan.env.NPM_CONFIG_REGISTRY, "http://127.0.0.1:4873/");
  assert.equal(plan.env.MODE, "fast");
  assert.equal(plan.env.DENO_NO_PROMPT, "1");
});

Deno.test("denoLaunchPlan() refuses a server whose required variable is not set", () => {
  const server = serverFixture({
    env: ["API_TOKEN"],
    secrets: ["API_TOKEN"],
    requiredEnv: ["API_TOKEN"],
  });
  assert.throws(
    () => denoLaunchPlan(server, { cacheRoot: "/c", source: {} }),
    (error: unknown) => error instanceof TypeError && error.message.includes("API_TOKEN"),
  );
  // The positive control: set, it plans.
  denoLaunchPlan(server, { cacheRoot: "/c", source: { API_TOKEN: "x" } });
});

Deno.test("denoLaunchPlan() creates nothing on disk", async () => {
  const root = join(await Deno.makeTempDir(), "cache");
  try {
    denoLaunchPlan(serverFixture(), { cacheRoot: root, source: {} });
    assert.throws(() => Deno.statSync(root), Deno.errors.NotFound);
  } finally {
    await Deno.remove(join(root, ".."), { recursive: true });
  }
});

Deno.test("prepareServer() refuses a server never pulled when auto-pull is off", async () => {
  const root = await Deno.makeTempDir();
  try {
    const server = serverFixture({ specifier: "npm:never-pulled-demo@1.0.0" });
    await assert.rejects(
      prepareServer(server, {
        cacheRoot: root,
        source: {},
        autoPull: false,
        progress: () => {},
        // No network: a lookup would be a bug.
        hostLookup: () => Promise.reject(new Error("no lookup expected")),
      }),
      (error: unknown) => error instanceof CacheError && error.kind === "missing",
    );
    const deno = serverDirs(server.name, server.specifier, root).denoDir;
    assert.throws(() => Deno.statSync(join(deno, "npm")), Deno.errors.NotFound, "it fetched");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("denoLaunchPlan() refuses a server that asks for what the launcher sets for Deno", () => {
  for (const env of [["DENO_DIR"], ["DENO_*"], ["HOME"]]) {
    assert.throws(
      () => denoLaunchPlan(serverFixture({ env }), { cacheRoot: "/c", source: SOURCE }),
      RangeError,
      env[0],
    );
  }
});

Deno.test("denoLaunchPlan() runs deno under prlimit with the caps, denying protected paths", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "site", ".git", "hooks"), { recursive: true });
    const server = serverFixture({ write: [root], read: [root] });
    const plan = denoLaunchPlan(server, {
      cacheRoot: "/c",
      deno: "/opt/deno",
      source: {},
      prlimit: "/usr/bin/prlimit",
      limits: { heapMb: 300, memoryMb: 700 },
    });
    assert.equal(plan.program, "/usr/bin/prlimit");
    assert.deepEqual(plan.args.slice(0, 4), [
      `--data=${(700 + 640) * 1048576}`,
      "--",
      "/opt/deno",
      "run",
    ]);
    assert.ok(plan.args.includes("--v8-flags=--max-old-space-size=300"));
    const deny = plan.args.find((a) => a.startsWith("--deny-write="))!.split("=")[1].split(",");
    // The folders that hold hooks are denied whole natively, at the top and deeper down.
    for (const p of [".git", ".github", ".config", ".vscode", "site/.git"]) {
      assert.ok(deny.includes(join(root, p)), p);
    }
    // No prlimit: deno itself, the heap still capped.
    const bare = denoLaunchPlan(server, { cacheRoot: "/c", deno: "/opt/deno", source: {} });
    assert.equal(bare.program, "/opt/deno");
    assert.ok(bare.args.includes("--v8-flags=--max-old-space-size=512"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
