import assert from "node:assert/strict";
import { join } from "../_path.ts";
import { removeDeadSockets } from "./egress_launch.ts";

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
