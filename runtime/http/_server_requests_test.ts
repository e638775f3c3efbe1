import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import { BridgeErrorCode, type Message } from "./_messages.ts";
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

Deno.test("ServerRequests.forward() sends to the one session, else answers the server itself", async () => {
  const requests = new ServerRequests();
  const toServer: Message[] = [];
  const send = (m: Message) => void toServer.push(m);
  const sampling = { jsonrpc: "2.0", id: "s1", method: "sampling/createMessage" } as const;
  requests.forward(sampling, new Set([link(), link()]), send);
  requests.forward({ jsonrpc: "2.0", id: "p1", method: "ping" }, new Set(), send);
  assert.deepEqual(toServer.map((m) => [m.id, m.error?.code ?? m.result]), [
    ["s1", BridgeErrorCode.InternalError],
    ["p1", {}],
  ]);
  const gone = link();
  gone.down.send = () => Promise.resolve(false);
  requests.forward(sampling, new Set([gone]), send);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(toServer[2].error?.message, "The client session cannot be reached");
  assert.equal(requests.get("s1"), undefined);
});

Deno.test("ServerRequests passes only the asked session's answer, and fails a leaver's requests", () => {
  const requests = new ServerRequests();
  const toServer: Message[] = [];
  const send = (m: Message) => void toServer.push(m);
  const [a, b] = [link(), link()];
  requests.open("s1", { link: a }, undefined);
  requests.open("s2", { link: a }, undefined);
  requests.answer(b, { jsonrpc: "2.0", id: "s1", result: {} }, send);
  assert.equal(toServer.length, 0, "not b's to answer");
  requests.answer(a, { jsonrpc: "2.0", id: "s1", result: {} }, send);
  assert.deepEqual(toServer.map((m) => m.id), ["s1"]);
  requests.drop(a, send);
  assert.deepEqual(toServer.map((m) => [m.id, m.error?.message]), [
    ["s1", undefined],
    ["s2", "The client session closed"],
  ]);
  assert.equal(requests.get("s2"), undefined);
});
