import assert from "node:assert/strict";
import { BridgeErrorCode } from "./_messages.ts";
import { Multiplexer } from "./_multiplexer.ts";
import { PassThrough } from "./_pass_through.ts";
import type { Upstream } from "./_upstream.ts";
import {
  call,
  FakeSession,
  linkedUpstream,
  turn,
  type UpstreamClass,
} from "./_upstream_fixture.ts";

// What both session modes share, run in each.
for (const mode of [PassThrough, Multiplexer] as UpstreamClass<Upstream>[]) {
  const name = mode.name;

  Deno.test(`Upstream (${name}) answers requests in flight when the server crashes, and ends sessions`, async () => {
    const { upstream, server, attach } = linkedUpstream(mode);
    const [down, link] = attach();
    link.receive(call(1));
    await turn();
    await server.close();
    assert.equal(upstream.closed, true);
    assert.equal(down.closed, true);
    assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.ServerUnavailable);
    assert.equal(down.sent[0].message.error?.message, "The MCP server exited");
    link.receive(call(2));
    assert.equal(down.sent.length, 1, "a session of an ended server is closed");
    assert.throws(() => upstream.attach(new FakeSession()), RangeError);
    await upstream.close();
  });

  Deno.test(`Upstream (${name}) times out a request and cancels it on the server`, async () => {
    const { upstream, atServer, attach } = linkedUpstream(mode, { requestTimeoutMs: 20 });
    const [down, link] = attach();
    link.receive(call(1));
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.RequestTimeout);
    assert.equal(atServer[1].method, "notifications/cancelled");
    assert.equal(atServer[1].params?.requestId, atServer[0].id);
    assert.equal(link.inflight, 0);
    await upstream.close();
  });

  Deno.test(`Upstream (${name}) cancels a session's requests on the server when it detaches`, async () => {
    const { upstream, atServer, attach } = linkedUpstream(mode);
    const [down, link] = attach();
    link.receive(call(1));
    await turn();
    link.detach();
    await turn();
    assert.equal(atServer[1].method, "notifications/cancelled");
    assert.equal(atServer[1].params?.requestId, atServer[0].id);
    assert.equal(upstream.links, 0);
    assert.equal(down.inflightCount, 0);
    await upstream.close();
  });

  Deno.test(`Upstream (${name}) refuses a request id already in flight on the session`, async () => {
    const { upstream, atServer, attach } = linkedUpstream(mode);
    const [down, link] = attach();
    link.receive(call(1));
    link.receive(call(1));
    await turn();
    assert.equal(atServer.length, 1);
    assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.InvalidRequest);
    await upstream.close();
  });

  Deno.test(`Upstream (${name}) sends a server request to the busy session and its answer back`, async () => {
    const { upstream, atServer, attach, fromServer } = linkedUpstream(mode);
    const [down, link] = attach();
    link.receive(call(3));
    await turn();
    await fromServer({ id: "s1", method: "sampling/createMessage", params: {} });
    assert.deepEqual(down.sent.map((s) => [s.message.id, s.related]), [["s1", 3]]);
    link.receive({ jsonrpc: "2.0", id: "s1", result: { text: "hi" } });
    link.receive({ jsonrpc: "2.0", id: "s1", result: { text: "twice" } });
    await turn();
    const answers = atServer.filter((m) => m.id === "s1");
    assert.deepEqual(answers, [{ jsonrpc: "2.0", id: "s1", result: { text: "hi" } }]);
    await upstream.close();
  });

  Deno.test(`Upstream (${name}) passes a client's cancellation on with the server's id`, async () => {
    const { upstream, atServer, attach } = linkedUpstream(mode);
    const [down, link] = attach();
    link.receive(call(4));
    await turn();
    link.receive({
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 4 },
    });
    await turn();
    assert.equal(atServer[1].params?.requestId, atServer[0].id);
    assert.equal(down.sent[0].message.error?.code, BridgeErrorCode.RequestCancelled);
    assert.equal(link.inflight, 0);
    await upstream.close();
  });
}
