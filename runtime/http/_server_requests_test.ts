import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import { routeOf, ServerRequests } from "./_server_requests.ts";

function link(...inflight: (string | number)[]): LinkState {
  return {
    down: { send: (_: JSONRPCMessage) => Promise.resolve(true), close: () => {} },
    inflight: new Map(inflight.map((id) => [id, undefined as never])),
    serverRequests: new Set(),
    subscriptions: new Set(),
    closed: false,
  };
}

Deno.test("routeOf() picks a session only when exactly one can be meant", () => {
  const idle = link();
  const busy = link(1, 2);
  assert.deepEqual(routeOf(new Set([idle])), { link: idle });
  assert.deepEqual(routeOf(new Set([idle, busy])), { link: busy, related: 2 });
  assert.equal(routeOf(new Set([idle, link()])), undefined, "two idle sessions");
  assert.equal(routeOf(new Set([busy, link(5)])), undefined, "two busy sessions");
  assert.equal(routeOf(new Set()), undefined);
});

Deno.test("ServerRequests tracks requests and their progress tokens per session", () => {
  const requests = new ServerRequests();
  const a = link();
  const b = link();
  const first = requests.open("s1", { link: a }, "tok");
  const second = requests.open("s2", { link: b }, "tok");
  assert.equal(requests.progressOwner("tok"), a, "a token in use is not taken over");
  assert.equal(second.progressToken, undefined);
  assert.deepEqual([...a.serverRequests], ["s1"]);
  requests.end("s1", first);
  assert.equal(requests.get("s1"), undefined);
  assert.equal(requests.progressOwner("tok"), undefined);
  assert.deepEqual([...a.serverRequests], []);
  assert.equal(requests.get("s2"), second);
});
