import assert from "node:assert/strict";
import { SignInQueue } from "./_sign_in_queue.ts";

const tick = () => new Promise((r) => setTimeout(r, 1));

Deno.test("SignInQueue.run() gives each key one place and turns the rest away", async () => {
  const q = new SignInQueue({ slots: 1, maxWaiting: 2 });
  let release = () => {};
  const first = q.run("a", () => new Promise<string>((r) => release = () => r("a done")));
  assert.equal(await q.run("a", () => Promise.resolve("again")), undefined, "one per key");
  const b = q.run("b", () => Promise.resolve("b done"));
  const c = q.run("c", () => Promise.resolve("c done"));
  assert.equal(await q.run("d", () => Promise.resolve("d")), undefined, "waiting is bounded");
  release();
  assert.deepEqual(await Promise.all([first, b, c]), [
    { value: "a done" },
    { value: "b done" },
    { value: "c done" },
  ]);
  assert.deepEqual(await q.run("a", () => Promise.resolve(1)), { value: 1 }, "the place is freed");
});

Deno.test("SignInQueue.run() serves a newcomer before keys that keep coming back", async () => {
  const q = new SignInQueue({ slots: 2 });
  const order: string[] = [];
  let stop = false;
  const busy = ["x", "y"].map(async (key) => {
    while (!stop) {
      await q.run(key, async () => {
        await tick();
        order.push(key);
      });
    }
  });
  await tick();
  await q.run("owner", async () => {
    order.push("owner");
    await tick();
  });
  stop = true;
  await Promise.all(busy);
  assert.ok(
    order.indexOf("owner") <= 3,
    `the owner waited for at most one check of each: ${order}`,
  );
});

Deno.test("SignInQueue.run() keeps the pace between check starts", async () => {
  const q = new SignInQueue({ slots: 4, pace: () => 30 });
  const starts: number[] = [];
  await Promise.all(
    ["a", "b", "c"].map((key) => q.run(key, () => Promise.resolve(starts.push(Date.now())))),
  );
  assert.ok(starts[2] - starts[0] >= 55, `paced: ${starts.map((t) => t - starts[0])}`);
});

Deno.test("SignInQueue() refuses nonsense bounds", () => {
  assert.throws(() => new SignInQueue({ slots: 0 }), RangeError);
  assert.throws(() => new SignInQueue({ maxWaiting: 0 }), RangeError);
});
