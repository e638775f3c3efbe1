import assert from "node:assert/strict";
import { BridgeErrorCode, errorResponse, isToken, settle } from "./_messages.ts";

Deno.test("errorResponse() builds a JSON-RPC error for the request's own id", () => {
  assert.deepEqual(errorResponse("a", BridgeErrorCode.RequestTimeout, "late"), {
    jsonrpc: "2.0",
    id: "a",
    error: { code: -32001, message: "late" },
  });
  assert.deepEqual(errorResponse(0, -32000, "gone"), {
    jsonrpc: "2.0",
    id: 0,
    error: { code: -32000, message: "gone" },
  });
});

Deno.test("BridgeErrorCode keeps JSON-RPC's reserved codes and MCP's cancellation code", () => {
  assert.deepEqual({ ...BridgeErrorCode }, {
    ServerUnavailable: -32000,
    RequestTimeout: -32001,
    InvalidRequest: -32600,
    InternalError: -32603,
    RequestCancelled: -32800,
  });
  const codes = Object.values(BridgeErrorCode);
  assert.equal(new Set(codes).size, codes.length, "two reasons share a code");
});

Deno.test("isToken() accepts only strings and numbers", () => {
  for (const value of ["", "x", 0, -1, 1.5]) assert.equal(isToken(value), true, String(value));
  for (const value of [null, undefined, true, {}, [], 1n, Symbol("x")]) {
    assert.equal(isToken(value), false, String(value));
  }
});

Deno.test("settle() keeps a rejection from going unhandled", async () => {
  // An unhandled rejection would fail this test run.
  settle(Promise.reject(new Error("ignored")));
  await new Promise((r) => setTimeout(r, 10));
});
