import assert from "node:assert/strict";
import { SignInLockout } from "./lockout.ts";

function lockout(extra: Record<string, number> = {}) {
  // The global budget is out of the way unless a test sets it.
  const clock = { t: 0 };
  return {
    l: new SignInLockout({
      threshold: 3,
      baseMs: 1000,
      maxMs: 8000,
      globalThreshold: 1000,
      now: () => clock.t,
      ...extra,
    }),
    clock,
  };
}

Deno.test("SignInLockout.fail() locks out after the threshold, doubling each time up to the cap", () => {
  const { l, clock } = lockout();
  const ip = "203.0.113.7";
  assert.equal(l.fail(ip), 0);
  assert.equal(l.fail(ip), 0);
  assert.equal(l.retryAfter(ip), 0);
  assert.equal(l.fail(ip), 1000);
  assert.equal(l.retryAfter(ip), 1000);
  clock.t += 1000;
  assert.equal(l.retryAfter(ip), 0);
  assert.deepEqual([l.fail(ip), l.fail(ip), l.fail(ip), l.fail(ip), l.fail(ip)], [
    2000,
    4000,
    8000,
    8000,
    8000,
  ]);
  // Another address is not affected.
  assert.equal(l.retryAfter("203.0.113.8"), 0);
});

Deno.test("SignInLockout.succeed() forgets the failures", () => {
  const { l } = lockout();
  for (let i = 0; i < 3; i++) l.fail("198.51.100.1");
  assert.ok(l.retryAfter("198.51.100.1") > 0);
  l.succeed("198.51.100.1");
  assert.equal(l.retryAfter("198.51.100.1"), 0);
  assert.equal(l.fail("198.51.100.1"), 0);
});

Deno.test("SignInLockout forgets failures after a quiet period", () => {
  const { l, clock } = lockout({ forgetMs: 60_000 });
  l.fail("198.51.100.1");
  l.fail("198.51.100.1");
  clock.t += 60_000;
  assert.equal(l.fail("198.51.100.1"), 0);
});

Deno.test("SignInLockout counts one IPv6 /64 and IPv4-mapped addresses together", () => {
  const { l } = lockout();
  l.fail("2001:db8:1:2::1");
  l.fail("[2001:db8:1:2:ffff::9]");
  assert.equal(l.fail("2001:0db8:0001:0002:abcd::"), 1000);
  assert.ok(l.retryAfter("2001:db8:1:2::77") > 0);
  assert.equal(l.retryAfter("2001:db8:1:3::1"), 0);
  l.fail("::ffff:192.0.2.1");
  l.fail("192.0.2.1");
  assert.equal(l.fail("::FFFF:192.0.2.1"), 1000);
});

Deno.test("SignInLockout bounds its memory but never forgets an address still locked out", () => {
  const { l, clock } = lockout({ maxEntries: 2, threshold: 1 });
  l.fail("192.0.2.1");
  l.fail("192.0.2.2");
  l.fail("192.0.2.3"); // no room: both others are locked out
  assert.ok(l.retryAfter("192.0.2.1") > 0, "a locked-out address is not evicted by new ones");
  assert.ok(l.retryAfter("192.0.2.2") > 0);
  for (let i = 4; i < 200; i++) l.fail(`192.0.2.${i}`);
  assert.ok(l.retryAfter("192.0.2.1") > 0, "not even by a flood of new addresses");
  // Positive control: once the lockouts end, the least recently failed make room.
  clock.t += 10_000;
  l.fail("198.51.100.9");
  assert.ok(l.retryAfter("198.51.100.9") > 0, "the new address is tracked");
});

Deno.test("SignInLockout.pace() slows every sign-in once many addresses have failed", () => {
  const { l, clock } = lockout({
    threshold: 5,
    globalThreshold: 20,
    globalWindowMs: 60_000,
    globalBaseMs: 250,
    globalMaxMs: 4000,
  });
  for (let i = 0; i < 20; i++) l.fail(`198.51.100.${i}`);
  assert.equal(l.pace(), 0, "positive control: within the global budget");
  const paces = [];
  for (let i = 20; i < 60; i++) {
    l.fail(`198.51.100.${i}`); // one failure each: no address reaches its own threshold
    assert.equal(l.retryAfter(`198.51.100.${i}`), 0);
    paces.push(l.pace());
  }
  assert.deepEqual(paces.slice(0, 6), [250, 500, 1000, 2000, 4000, 4000], "doubling");
  assert.equal(Math.max(...paces), 4000, "capped: the owner still gets a try every few seconds");
  clock.t += 60_001;
  assert.equal(l.pace(), 0, "the window passes");
});

Deno.test("SignInLockout locks an IPv6 /48 once several of its /64 networks fail", () => {
  const { l } = lockout({ threshold: 3 });
  l.fail("2001:db8:7:1::1");
  l.fail("2001:db8:7:2::1");
  assert.equal(l.retryAfter("2001:db8:7:3::1"), 0, "two networks are not yet a group");
  l.fail("2001:db8:7:3::1"); // the third network: the /48 has 3 failures, its threshold
  assert.ok(l.retryAfter("2001:db8:7:99::1") > 0, "a fresh /64 of the /48 is locked out");
  assert.equal(l.retryAfter("2001:db8:8:1::1"), 0, "positive control: another /48");
  assert.equal(l.retryAfter("192.0.2.1"), 0);
});

Deno.test("SignInLockout() refuses nonsense options", () => {
  assert.throws(() => new SignInLockout({ threshold: 0 }), RangeError);
  assert.throws(() => new SignInLockout({ baseMs: -1 }), RangeError);
  assert.throws(() => new SignInLockout({ maxMs: NaN }), RangeError);
});

Deno.test("SignInLockout counts every form of an address under one key", () => {
  const { l } = lockout({ threshold: 1 });
  l.fail("::ffff:c000:207"); // IPv4-mapped, hex form: 192.0.2.7
  assert.ok(l.retryAfter("192.0.2.7") > 0, "the mapped hex form is the IPv4 address");
  assert.ok(l.retryAfter("::ffff:192.0.2.7") > 0);
  l.fail("2001:db8:1:2::1");
  assert.ok(l.retryAfter("2001:db8:1:2:ffff::9") > 0, "one /64 is one key");
  assert.equal(l.retryAfter("2001:db8:1:3::1"), 0, "another /64 is not");
});
