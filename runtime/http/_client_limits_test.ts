import assert from "node:assert/strict";
import { ClientLimits } from "./_client_limits.ts";

Deno.test("ClientLimits.take() allows a burst, then the sustained rate", () => {
  const limits = new ClientLimits({ ratePerSecond: 10, burst: 5, maxConcurrent: 100 });
  let allowed = 0;
  for (let i = 0; i < 20; i++) if (limits.take("a", 0)) allowed++;
  assert.equal(allowed, 5);
  assert.equal(limits.take("b", 0), true, "another client has its own budget");
  assert.equal(limits.take("a", 50), false, "half a token after 50 ms");
  assert.equal(limits.take("a", 100), true, "one token after 100 ms");
  assert.equal(limits.take("a", 100), false);
  let later = 0;
  for (let i = 0; i < 20; i++) if (limits.take("a", 10_000)) later++;
  assert.equal(later, 5, "the budget refills to the burst, not beyond");
});

Deno.test("ClientLimits.acquire() caps concurrent requests per client", () => {
  const limits = new ClientLimits({ ratePerSecond: Infinity, burst: 1, maxConcurrent: 2 });
  assert.equal(limits.acquire("a", 0), true);
  assert.equal(limits.acquire("a", 0), true);
  assert.equal(limits.acquire("a", 0), false);
  assert.equal(limits.acquire("b", 0), true);
  limits.release("a");
  assert.equal(limits.acquire("a", 0), true);
  assert.equal(limits.take("a", 0), true, "Infinity disables the rate limit");
});

Deno.test("ClientLimits bounds the number of clients tracked", () => {
  const limits = new ClientLimits({ ratePerSecond: 1, burst: 1, maxConcurrent: 1, maxClients: 3 });
  for (const client of ["a", "b", "c"]) assert.equal(limits.acquire(client, 0), true);
  assert.equal(limits.acquire("d", 0), false, "a fourth client while three hold requests");
  limits.release("a");
  assert.equal(limits.acquire("d", 10_000), true, "an idle client is forgotten to make room");
  assert.ok(limits.size <= 3);
});

Deno.test("ClientLimits() refuses non-positive limits", () => {
  assert.throws(
    () => new ClientLimits({ ratePerSecond: 0, burst: 1, maxConcurrent: 1 }),
    RangeError,
  );
  assert.throws(
    () => new ClientLimits({ ratePerSecond: 1, burst: 1, maxConcurrent: NaN }),
    RangeError,
  );
});
