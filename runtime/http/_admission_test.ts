import assert from "node:assert/strict";
import { Admission, type AdmissionOptions } from "./_admission.ts";

const TOKEN = "t".repeat(32);
const BASE: AdmissionOptions = {
  path: "/mcp",
  allowedHosts: ["127.0.0.1:8080"],
  allowedOrigins: ["https://app.example.com"],
  tokens: [TOKEN],
  trustProxy: [],
  ratePerSecond: 1,
  rateBurst: 2,
  maxConcurrentPerClient: 1,
  maxBodyBytes: 16,
  bodyTimeoutMs: 1000,
};
const PEER = { remoteAddr: { hostname: "127.0.0.1" } };

function request(headers: Record<string, string> = {}, init: RequestInit = {}): Request {
  return new Request("http://127.0.0.1:8080/mcp", {
    method: "POST",
    ...init,
    headers: { host: "127.0.0.1:8080", authorization: `Bearer ${TOKEN}`, ...headers },
  });
}

function statusOf(admission: Admission, req: Request, now = 0): number | "admitted" {
  const verdict = admission.admit(req, PEER, now);
  return "response" in verdict ? verdict.response.status : "admitted";
}

Deno.test("Admission.admit() refuses by path, Host, Origin and token before any limit", () => {
  const cases: [string, Request, number | "admitted"][] = [
    ["wrong path", new Request("http://127.0.0.1:8080/other", { headers: { host: "x" } }), 404],
    ["healthz", new Request("http://127.0.0.1:8080/healthz"), 200],
    ["healthz POST", new Request("http://127.0.0.1:8080/healthz", { method: "POST" }), 405],
    ["no Host", new Request("http://127.0.0.1:8080/mcp"), 403],
    ["other Host", request({ host: "evil.example:8080" }), 403],
    ["other Origin", request({ origin: "https://evil.example" }), 403],
    ["null Origin", request({ origin: "null" }), 403],
    ["no token", request({ authorization: "" }), 401],
    ["wrong token", request({ authorization: `Bearer ${"x".repeat(32)}` }), 401],
    ["allowed Origin", request({ origin: "https://app.example.com" }), "admitted"],
    ["own origin", request({ origin: "http://127.0.0.1:8080" }), "admitted"],
  ];
  for (const [name, req, expected] of cases) {
    // A fresh gate each time, so that rate limits never decide a case.
    assert.equal(statusOf(new Admission(BASE), req), expected, name);
  }
});

Deno.test("Admission.admit() answers preflights and adds CORS headers for browsers", () => {
  const admission = new Admission(BASE);
  const preflight = admission.admit(
    request({ origin: "https://app.example.com" }, { method: "OPTIONS" }),
    PEER,
    0,
  );
  assert.ok("response" in preflight);
  assert.equal(preflight.response.status, 204);
  assert.equal(
    preflight.response.headers.get("access-control-allow-origin"),
    "https://app.example.com",
  );
  const verdict = admission.admit(request({ origin: "https://app.example.com" }), PEER, 0);
  assert.ok("admitted" in verdict);
  assert.equal(verdict.admitted.tokenIndex, 0);
  assert.equal(verdict.admitted.cors?.["Access-Control-Allow-Origin"], "https://app.example.com");
});

Deno.test("Admission.admit() limits each client's concurrency and rate with 429", () => {
  const admission = new Admission(BASE);
  const first = admission.admit(request(), PEER, 0);
  assert.ok("admitted" in first);
  assert.equal(statusOf(admission, request()), 429, "one request open at a time");
  admission.release(first.admitted.client);
  assert.equal(statusOf(admission, request()), 429, "burst of 2 spent");
  const other = { remoteAddr: { hostname: "192.0.2.1" } };
  assert.ok("admitted" in admission.admit(request(), other, 0), "another client is not affected");
  assert.equal(statusOf(admission, request(), 2000), "admitted", "the bucket refills");
});

Deno.test("Admission.allowHosts() accepts a listener's own host afterwards", () => {
  const admission = new Admission(BASE);
  const req = () => request({ host: "localhost:9090" });
  assert.equal(statusOf(admission, req()), 403);
  admission.allowHosts(["localhost:9090"]);
  assert.equal(statusOf(admission, req()), "admitted");
  assert.throws(() => admission.allowHosts(["*"]), TypeError);
});

Deno.test("Admission.readBody() refuses bad methods, large, slow and malformed bodies", async () => {
  const admission = new Admission({ ...BASE, bodyTimeoutMs: 50 });
  const status = async (req: Request, peer = {}) => {
    const read = await admission.readBody(req, peer);
    return "response" in read ? read.response.status : read.body;
  };
  assert.equal(await status(request({}, { method: "PUT", body: "{}" })), 405);
  assert.equal(await status(request({}, { method: "GET" })), undefined);
  assert.deepEqual(await status(request({}, { body: '{"a":1}' })), { a: 1 });
  assert.equal(await status(request({}, { body: "x".repeat(17) })), 413);
  assert.equal(await status(request({ "content-length": "1000" }, { body: "{}" })), 413);
  assert.equal(await status(request({}, { body: "{" })), 400);
  let closed = false;
  const slow = new ReadableStream<Uint8Array>({ start() {} }); // never sends a byte
  assert.equal(await status(request({}, { body: slow }), { close: () => closed = true }), 408);
  assert.equal(closed, true, "a slow body closes its connection");
});

Deno.test("Admission.admit() spends no rate or concurrency budget on a refused request", () => {
  const admission = new Admission({ ...BASE, rateBurst: 1, maxConcurrentPerClient: 1 });
  const refused: [Request, number][] = [
    [request({ authorization: "" }), 401],
    [request({ host: "evil.example:8080" }), 403],
    [new Request("http://127.0.0.1:8080/other", { headers: { host: "127.0.0.1:8080" } }), 404],
  ];
  // An unauthenticated client on the same address tries many times…
  for (let i = 0; i < 5; i++) {
    for (const [req, status] of refused) assert.equal(statusOf(admission, req), status);
  }
  // …and the one request the budget allows is still admitted (the positive control: a second
  // one right after is limited, so the budget is real).
  assert.equal(statusOf(admission, request()), "admitted");
  assert.equal(statusOf(admission, request()), 429);
});
