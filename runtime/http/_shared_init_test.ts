import assert from "node:assert/strict";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { LinkState } from "./_link.ts";
import { SharedInit } from "./_shared_init.ts";

function session(sent: JSONRPCMessage[], closed = false): LinkState {
  return {
    down: {
      send: (message: JSONRPCMessage) => {
        sent.push(message);
        return Promise.resolve(true);
      },
      close: () => {},
    },
    inflight: new Map(),
    serverRequests: new Set(),
    subscriptions: new Set(),
    closed,
  };
}

Deno.test("SharedInit forwards the first initialize, holds the next, answers the later ones", () => {
  const init = new SharedInit();
  const sent: JSONRPCMessage[] = [];
  const gone: JSONRPCMessage[] = [];
  assert.equal(init.request(session(sent), 1), "forward");
  assert.equal(init.request(session(sent), 2), "waiting");
  assert.equal(init.request(session(gone, true), 3), "waiting");
  assert.equal(init.passInitialized(), false, "not before the server answered");
  init.succeeded({ serverInfo: { name: "s" } });
  assert.deepEqual(sent, [{ jsonrpc: "2.0", id: 2, result: { serverInfo: { name: "s" } } }]);
  assert.deepEqual(gone, [], "a session that left gets nothing");
  assert.equal(init.request(session(sent), 4), "answered");
  assert.equal((sent[1] as { id: number }).id, 4);
  assert.equal(init.passInitialized(), true);
  assert.equal(init.passInitialized(), false, "only once");
});

Deno.test("SharedInit.failed() answers every waiting session with the error", () => {
  const init = new SharedInit();
  const sent: JSONRPCMessage[] = [];
  init.request(session(sent), 1);
  init.request(session(sent), 2);
  init.failed(-32001, "Request timed out after 5 ms");
  assert.deepEqual(sent, [{
    jsonrpc: "2.0",
    id: 2,
    error: { code: -32001, message: "Request timed out after 5 ms" },
  }]);
  assert.equal(init.request(session(sent), 3), "forward", "the next session tries again");
});
