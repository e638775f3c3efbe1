import assert from "node:assert/strict";
import { deferredChild } from "./_deferred_child.ts";

const cat = () =>
  new Deno.Command("cat", { stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();

Deno.test("deferredChild() passes what was written before the start to the started process", async () => {
  const gate = Promise.withResolvers<void>();
  const child = deferredChild(async () => {
    await gate.promise;
    return cat();
  });
  assert.equal(child.pid, 0);
  const writer = child.stdin.getWriter();
  const written = writer.write(new TextEncoder().encode("early\n"));
  gate.resolve();
  await written;
  await writer.close();
  assert.equal(await new Response(child.stdout).text(), "early\n");
  assert.equal((await child.status).code, 0);
  assert.ok(child.pid > 0);
});

Deno.test("deferredChild() never starts a process signalled before its start, and ends at once", async () => {
  const gate = Promise.withResolvers<void>();
  let started = false;
  const child = deferredChild(async (cancelled) => {
    await gate.promise;
    if (cancelled()) throw new Error("stopped before it started");
    started = true;
    return cat();
  });
  child.kill("SIGTERM");
  const status = await child.status;
  assert.deepEqual(status, { success: false, code: 143, signal: "SIGTERM" });
  gate.resolve();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(started, false);
  assert.equal(await new Response(child.stdout).text(), "");
});

Deno.test("deferredChild() ends a failed start like a process that exited 1, the reason on stderr", async () => {
  const child = deferredChild(() => Promise.reject(new Error("the sidecar did not start")));
  assert.equal((await child.status).code, 1);
  assert.equal(await new Response(child.stderr).text(), "the sidecar did not start\n");
  assert.equal(await new Response(child.stdout).text(), "");
});
