import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import type { Message } from "./_messages.ts";
import { fanOut, isSubscribed, trackSubscription } from "./_fan_out.ts";

function session(...uris: string[]): LinkState & { got: string[] } {
  const got: string[] = [];
  return {
    got,
    down: {
      send: (message: JSONRPCMessage) => {
        got.push((message as Message).method!);
        return Promise.resolve(true);
      },
      close: () => {},
    },
    inflight: new Map(),
    serverRequests: new Set(),
    subscriptions: new Set(uris),
    closed: false,
  };
}

const note = (method: string, params?: Record<string, unknown>): Message => ({
  jsonrpc: "2.0",
  method,
  params,
});

Deno.test("fanOut() sends list_changed to all and resource updates to subscribers only", () => {
  const a = session("file:///x");
  const b = session();
  const links = new Set([a, b]);
  assert.equal(fanOut(links, note("notifications/tools/list_changed")), true);
  assert.equal(fanOut(links, note("notifications/resources/updated", { uri: "file:///x" })), true);
  assert.equal(fanOut(links, note("notifications/message", { data: "x" })), false);
  assert.deepEqual(a.got, ["notifications/tools/list_changed", "notifications/resources/updated"]);
  assert.deepEqual(b.got, ["notifications/tools/list_changed"]);
});

Deno.test("trackSubscription() holds back an unsubscribe another session still needs", () => {
  const a = session();
  const b = session();
  const links = new Set([a, b]);
  const request = (method: string, uri: unknown): Message => ({
    jsonrpc: "2.0",
    id: 1,
    method,
    params: { uri },
  });
  assert.equal(trackSubscription(a, links, request("resources/subscribe", "u")), false);
  assert.equal(trackSubscription(b, links, request("resources/subscribe", "u")), false);
  assert.equal(trackSubscription(a, links, request("resources/unsubscribe", "u")), true);
  assert.equal(isSubscribed(links, "u"), true);
  assert.equal(trackSubscription(b, links, request("resources/unsubscribe", "u")), false);
  assert.equal(isSubscribed(links, "u"), false);
  assert.equal(trackSubscription(a, links, request("resources/unsubscribe", 7)), false);
});
