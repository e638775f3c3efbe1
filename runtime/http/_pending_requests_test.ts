import assert from "node:assert/strict";
import type { Message } from "./_messages.ts";
import { type Pending, PendingRequests } from "./_pending_requests.ts";

const request = (id: number | string, token?: string): Message => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: token === undefined ? { name: "x" } : { name: "x", _meta: { progressToken: token } },
});

function table(shared: boolean, expired: [Pending<string>, number][] = []) {
  const pending: PendingRequests<string> = new PendingRequests<string>({
    shared,
    requestTimeoutMs: 20,
    onExpired: (entry, ms) => {
      expired.push([entry, ms]);
      pending.delete(entry); // as the multiplexer does when it answers for the server
    },
  });
  return pending;
}

Deno.test("PendingRequests.open() keeps ids and tokens when isolated, and refuses a taken id", () => {
  const pending = table(false);
  const opened = pending.open("a", request(7, "p"));
  assert.ok(opened !== undefined);
  assert.equal(opened.out.id, 7);
  assert.equal(opened.pending.childToken, "p");
  assert.equal(pending.byProgressToken("p"), opened.pending);
  assert.equal(pending.open("a", request(7)), undefined);
  pending.clear();
});

Deno.test("PendingRequests.open() gives fresh ids and tokens when shared, leaving the rest as is", () => {
  const pending = table(true);
  const first = pending.open("a", request(1, "t"))!;
  const second = pending.open("b", request(1, "t"))!;
  assert.notEqual(first.out.id, second.out.id);
  assert.equal(second.out.params?._meta?.progressToken, second.out.id);
  assert.equal(second.out.params?.name, "x");
  assert.equal(second.pending.clientToken, "t");
  assert.equal(pending.get(second.out.id!), second.pending);
  const own = pending.openOwn("resources/unsubscribe");
  assert.equal(pending.get(own)?.link, undefined);
  pending.delete(second.pending);
  assert.equal(pending.get(second.out.id!), undefined);
  assert.equal(pending.byProgressToken(second.pending.childToken!), undefined);
  assert.equal(pending.size, 2);
  pending.clear();
});

Deno.test("PendingRequests reports requests past their deadline; initialize waits longer", async () => {
  const expired: [Pending<string>, number][] = [];
  const pending = table(false, expired);
  const slow = { ...request(2), method: "initialize" };
  pending.open("a", request(1));
  pending.open("a", slow);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.deepEqual(expired.map(([p, ms]) => [p.clientId, ms]), [[1, 20]]);
  assert.equal(pending.timeoutOf(pending.get(2)!), 30_000);
  pending.clear();
});
