import assert from "node:assert/strict";
import { join } from "../_path.ts";
import { removeDeadSockets, startEgress } from "./egress_launch.ts";
import { egressSocketDir } from "./egress_inside.ts";

Deno.test("removeDeadSockets() removes only old socket folders where no proxy answers", async () => {
  const base = await Deno.makeTempDir({ prefix: "mcp-run-egress-base-" });
  const old = new Date(Date.now() - 120_000);
  const made = async (name: string, age: Date | undefined) => {
    const dir = join(base, name);
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "proxy.sock"), "");
    if (age) await Deno.utime(dir, age, age);
    return dir;
  };
  const dead = await made("socket-dead", old);
  const young = await made("socket-young", undefined);
  const live = join(base, "socket-live");
  await Deno.mkdir(live);
  const listener = Deno.listen({ transport: "unix", path: join(live, "proxy.sock") });
  await Deno.utime(live, old, old);
  const forwarder = await made("forwarder", old);
  try {
    await removeDeadSockets(base);
    const left = [...Deno.readDirSync(base)].map((e) => e.name).sort();
    assert.deepEqual(left, ["forwarder", "socket-live", "socket-young"]);
    assert.ok([young, live, forwarder].every((d) => Deno.statSync(d).isDirectory));
    assert.throws(() => Deno.statSync(dead), Deno.errors.NotFound);
  } finally {
    listener.close();
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("startEgress() with inside refuses a socket outside its launch's folder and removes nothing there", async () => {
  const cacheRoot = await Deno.makeTempDir({ prefix: "mcp-run-egress-inside-" });
  // The user's folder a tampered plan names as the socket's: it must survive.
  const victim = join(cacheRoot, "precious");
  await Deno.mkdir(victim);
  await Deno.writeTextFile(join(victim, "CANARY"), "keep");
  const forwarderDir = join(cacheRoot, "egress", "forwarder");
  const base = { cacheRoot, serverName: "t", suffix: "a1", allow: ["a.test"], deny: [] };
  try {
    for (
      const socketPath of [
        join(victim, "proxy.sock"),
        join(cacheRoot, "egress", "socket-b2", "proxy.sock"),
      ]
    ) {
      await assert.rejects(
        () => startEgress({ ...base, inside: { socketPath, forwarderDir, runtime: "python" } }),
        {
          name: "RangeError",
          message: /a launch's proxy listens only on .*socket-a1\/proxy\.sock/,
        },
      );
    }
    assert.equal(await Deno.readTextFile(join(victim, "CANARY")), "keep");
    // Positive control: the launch's own socket starts (no sidecar) and its folder goes on stop.
    const dir = egressSocketDir(cacheRoot, "a1");
    const socketPath = join(dir, "proxy.sock");
    const egress = await startEgress({
      ...base,
      inside: { socketPath, forwarderDir, runtime: "python" },
    });
    assert.equal(egress.network, "none");
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    assert.ok(Deno.statSync(join(forwarderDir, "egress_forwarder.py")).isFile);
    const conn = await Deno.connect({ transport: "unix", path: socketPath });
    conn.close();
    await egress.stop();
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound);
  } finally {
    await Deno.remove(cacheRoot, { recursive: true });
  }
});
