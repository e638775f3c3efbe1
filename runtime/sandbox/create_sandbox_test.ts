import assert from "node:assert/strict";
import { join } from "node:path";
import { createSandbox, type Isolation } from "./create_sandbox.ts";
import { DenoSandbox } from "./deno_sandbox.ts";
import { denoLaunchPlan } from "./launch_plan.ts";
import { serverFixture } from "../policy/_server_fixture.ts";

Deno.test("createSandbox() builds the backend each isolation names", async () => {
  const deno = await createSandbox("deno", { cacheRoot: "/c" });
  assert.ok(deno instanceof DenoSandbox);
  assert.equal(deno.isolation, "deno");
  assert.equal(deno.unit, "process");
  const docker = await createSandbox("docker", { cacheRoot: "/c" });
  assert.ok(!(docker instanceof DenoSandbox));
  assert.equal(docker.isolation, "docker");
});

Deno.test("createSandbox() refuses an isolation it does not know", async () => {
  for (const name of ["", "Docker", "none", "__proto__", "podman"]) {
    await assert.rejects(() => createSandbox(name as Isolation, { cacheRoot: "/c" }), {
      name: "RangeError",
      message: `Unknown isolation "${name}": use deno, docker or gvisor`,
    });
  }
});

Deno.test("DenoSandbox.plan() is the native launch plan and touches nothing", async () => {
  const root = join(await Deno.makeTempDir(), "cache");
  try {
    const options = { cacheRoot: root, deno: "/opt/deno", source: { DEBUG: "1" }, prlimit: null };
    const server = serverFixture({ env: ["DEBUG"] });
    const sandbox = await createSandbox("deno", options);
    assert.deepEqual(sandbox.plan(server), denoLaunchPlan(server, options));
    assert.throws(() => Deno.statSync(root), Deno.errors.NotFound, "planning created the cache");
  } finally {
    await Deno.remove(join(root, ".."), { recursive: true });
  }
});

Deno.test("DenoSandbox.spawn() starts the plan it is given, with nothing inherited", async () => {
  const sandbox = await createSandbox("deno", { cacheRoot: "/c" });
  const child = sandbox.spawn(serverFixture({ name: "given" }), {
    plan: { program: "/bin/sh", args: ["-c", "echo $HOME-$0"], env: { HOME: "planned" }, cwd: "/" },
    onStderr: () => {},
  });
  const [line] = await Array.fromAsync(child.lines);
  assert.equal(line.kind === "line" && new TextDecoder().decode(line.bytes), "planned-/bin/sh");
  assert.equal(child.name, "given");
  assert.equal((await child.status).code, 0);
});
