import assert from "node:assert/strict";
import { join } from "node:path";
import { withFileLock } from "./_cache_lock.ts";

Deno.test("withFileLock() lets one holder in at a time and returns each result", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "lock");
    const events: string[] = [];
    const hold = (name: string) =>
      withFileLock(path, async () => {
        events.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name} out`);
        return name;
      });
    assert.deepEqual(await Promise.all([hold("a"), hold("b")]), ["a", "b"]);
    // Either may get the lock first; neither comes in before the other is out.
    const first = events[0].split(" ")[0];
    const second = first === "a" ? "b" : "a";
    assert.deepEqual(events, [`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock() tells a waiter once that another holder keeps it waiting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "lock");
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let taken!: () => void;
    const holding = new Promise<void>((r) => taken = r);
    const first = withFileLock(path, () => {
      taken();
      return held;
    });
    // The second comes only once the first holds the lock (which of two racing gets it first is
    // not set).
    await holding;
    let notices = 0;
    let noticed!: () => void;
    const notice = new Promise<void>((r) => noticed = r);
    const second = withFileLock(path, () => Promise.resolve("second"), {
      onWait: () => {
        notices++;
        noticed();
      },
      noticeAfterMs: 50,
    });
    // However slow the machine, the notice comes while the first holds the lock, and only once.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([notice, new Promise((r) => timer = setTimeout(r, 10_000))]);
    clearTimeout(timer);
    assert.equal(notices, 1);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(notices, 1);
    release();
    await first;
    assert.equal(await second, "second");
    assert.equal(notices, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock() says nothing to a waiter that got the lock at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let notices = 0;
    await withFileLock(join(dir, "lock"), () => Promise.resolve(), {
      onWait: () => notices++,
      noticeAfterMs: 1,
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(notices, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock() releases the lock when the holder throws", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "lock");
    await assert.rejects(
      withFileLock(path, () => Promise.reject(new RangeError("boom"))),
      RangeError,
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([
      withFileLock(path, () => Promise.resolve("next")),
      new Promise((r) => timer = setTimeout(() => r("still locked"), 2000)),
    ]);
    clearTimeout(timer);
    assert.equal(next, "next");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withFileLock() excludes another process holding the same lock", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "lock");
    // Another process takes the lock, says so, and keeps it until its stdin ends.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `const f = await Deno.open(${JSON.stringify(path)}, { create: true, write: true });
         await f.lock(true); console.log("locked");
         for await (const _ of Deno.stdin.readable) { /* hold */ }`,
      ],
      stdin: "piped",
      stdout: "piped",
      env: { NO_COLOR: "1" },
      clearEnv: true,
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value?.trim(), "locked");
    let entered = false;
    const mine = withFileLock(path, () => Promise.resolve(entered = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(entered, false, "entered while another process held the lock");
    await child.stdin.close();
    await mine;
    assert.equal(entered, true);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
