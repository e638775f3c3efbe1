import assert from "node:assert/strict";
import { SignInLockout } from "./lockout.ts";

function lockout(extra: Record<string, number> = {}) {
  const clock = { t: 0 };
  return {
    l: new SignInLockout({ threshold: 3, baseMs: 1000, maxMs: 8000, now: () => clock.t, ...extra }),
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

Deno.test("SignInLockout bounds its memory", () => {
  const { l } = lockout({ maxEntries: 2, threshold: 1 });
  l.fail("192.0.2.1");
  l.fail("192.0.2.2");
  l.fail("192.0.2.3");
  assert.equal(l.retryAfter("192.0.2.1"), 0, "the oldest is forgotten");
  assert.ok(l.retryAfter("192.0.2.3") > 0);
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
