import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const GUARD = fileURLToPath(new URL("./child_guard.ts", import.meta.url));

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat); // a zombie is dead
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

Deno.test({
  name: "trackProcess() kills what is still registered when its launcher dies by SIGKILL",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    // A launcher that guards its children, starts two, unregisters one, prints both pids and
    // waits to be killed.
    const script = `
      import { guardChildren, trackProcess } from ${JSON.stringify(GUARD)};
      guardChildren();
      const start = () => new Deno.Command("sleep", { args: ["300"], stdin: "null" }).spawn();
      const kept = start();
      const released = start();
      trackProcess(kept.pid);
      trackProcess(released.pid)();
      console.log(JSON.stringify([kept.pid, released.pid]));
      setInterval(() => {}, 1000);
    `;
    const launcher = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = launcher.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    const [kept, released] = JSON.parse(text) as number[];
    try {
      await new Promise((r) => setTimeout(r, 300)); // the registrations reach the supervisor
      launcher.kill("SIGKILL");
      await launcher.status;
      await reader.cancel();
      assert.ok(await waitUntil(() => !alive(kept), 5000), "the registered child was killed");
      // Positive control: the unregistered one, started the same way, outlives the launcher.
      assert.ok(alive(released), "the unregistered child survives");
    } finally {
      for (const pid of [kept, released]) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
    }
  },
});
