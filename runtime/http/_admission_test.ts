import assert from "node:assert/strict";
import { Admission, type AdmissionOptions, ANONYMOUS } from "./_admission.ts";
import type { RequestAuthorizer } from "./_authorizer.ts";
import { BearerTokenAuthorizer } from "./bearer_token.ts";

const TOKEN = "t".repeat(32);
const BASE: AdmissionOptions = {
  path: "/mcp",
  allowedHosts: ["127.0.0.1:8080"],
  allowedOrigins: ["https://app.example.com"],
  authorizer: new BearerTokenAuthorizer([TOKEN]),
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

async function statusOf(
  admission: Admission,
  req: Request,
  now = 0,
): Promise<number | "admitted"> {
  const verdict = await admission.admit(req, PEER, now);
  return "response" in verdict ? verdict.response.status : "admitted";
}

Deno.test("Admission.admit() refuses by path, Host, Origin and token before any limit", async () => {
  const cases: [string, Request, number | "admitted"][] = [
    ["wrong path", new Request("http://127.0.0.1:8080/other", { headers: { host: "x" } }), 403],
    [
      "wrong path, right Host",
      new Request("http://127.0.0.1:8080/other", { headers: { host: "127.0.0.1:8080" } }),
      404,
    ],
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
    assert.equal(await statusOf(new Admission(BASE), req), expected, name);
  }
});

Deno.test("Admission.admit() answers preflights and adds CORS headers for browsers", async () => {
  const admission = new Admission(BASE);
  const preflight = await admission.admit(
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
  const verdict = await admission.admit(request({ origin: "https://app.example.com" }), PEER, 0);
  assert.ok("admitted" in verdict);
  assert.equal(verdict.admitted.principal, "token:0");
  assert.equal(verdict.admitted.cors?.["Access-Control-Allow-Origin"], "https://app.example.com");
});

Deno.test("Admission.admit() limits each client's concurrency and rate with 429", async () => {
  const admission = new Admission(BASE);
  const first = await admission.admit(request(), PEER, 0);
  assert.ok("admitted" in first);
  assert.equal(await statusOf(admission, request()), 429, "one request open at a time");
  admission.release(first.admitted.client);
  assert.equal(await statusOf(admission, request()), 429, "burst of 2 spent");
  const other = { remoteAddr: { hostname: "192.0.2.1" } };
  assert.ok(
    "admitted" in await admission.admit(request(), other, 0),
    "another client is not affected",
  );
  assert.equal(await statusOf(admission, request(), 2000), "admitted", "the bucket refills");
});

Deno.test("Admission.allowHosts() accepts a listener's own host afterwards", async () => {
  const admission = new Admission(BASE);
  const req = () => request({ host: "localhost:9090" });
  assert.equal(await statusOf(admission, req()), 403);
  admission.allowHosts(["localhost:9090"]);
  assert.equal(await statusOf(admission, req()), "admitted");
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

Deno.test("Admission.admit() spends no rate or concurrency budget on a refused request", async () => {
  const admission = new Admission({ ...BASE, rateBurst: 1, maxConcurrentPerClient: 1 });
  const refused: [Request, number][] = [
    [request({ authorization: "" }), 401],
    [request({ host: "evil.example:8080" }), 403],
  ];
  // An unauthenticated client on the same address tries many times…
  for (let i = 0; i < 5; i++) {
    for (const [req, status] of refused) assert.equal(await statusOf(admission, req), status);
  }
  // …and the one request the budget allows is still admitted (the positive control: a second
  // one right after is limited, so the budget is real).
  assert.equal(await statusOf(admission, request()), "admitted");
  assert.equal(await statusOf(admission, request()), 429);
});

/** An authorizer that owns `/.well-known/test` and admits `Bearer alice` as "alice". */
function recordingAuthorizer(): RequestAuthorizer & { routed: string[]; checked: number } {
  const seen = {
    routed: [] as string[],
    checked: 0,
    route(request: Request, client: { address: string }): Promise<Response | null> {
      const path = new URL(request.url).pathname;
      seen.routed.push(`${path} from ${client.address}`);
      return Promise.resolve(path === "/.well-known/test" ? new Response("routed") : null);
    },
    check(request: Request): Promise<string | Response> {
      seen.checked++;
      return Promise.resolve(
        request.headers.get("authorization") === "Bearer alice"
          ? "alice"
          : new Response("no", { status: 401, headers: { "WWW-Authenticate": "Bearer x" } }),
      );
    },
  };
  return seen;
}

Deno.test("Admission.admit() asks the authorizer's route() after Host and Origin, then check()", async () => {
  const authorizer = recordingAuthorizer();
  const admission = new Admission({ ...BASE, authorizer, ratePerSecond: 100, rateBurst: 100 });
  const at = (path: string, headers: Record<string, string> = {}) =>
    new Request(`http://127.0.0.1:8080${path}`, {
      headers: { host: "127.0.0.1:8080", ...headers },
    });
  // A bad Host or Origin never reaches the authorizer.
  assert.equal(await statusOf(admission, at("/.well-known/test", { host: "evil.example" })), 403);
  assert.equal(
    await statusOf(admission, at("/.well-known/test", { origin: "https://evil.example" })),
    403,
  );
  assert.deepEqual(authorizer.routed, []);
  // Its own route is answered by it, with CORS headers for an allowed browser origin.
  const routed = await admission.admit(
    at("/.well-known/test", { origin: "https://app.example.com" }),
    PEER,
    0,
  );
  assert.ok("response" in routed);
  assert.equal(await routed.response.text(), "routed");
  assert.equal(
    routed.response.headers.get("access-control-allow-origin"),
    "https://app.example.com",
  );
  assert.deepEqual(authorizer.routed, ["/.well-known/test from 127.0.0.1"]);
  // Any other path it does not own is 404; the MCP path is never routed.
  assert.equal(await statusOf(admission, at("/other")), 404);
  assert.equal(authorizer.checked, 0);
  const refused = await admission.admit(at("/mcp", { authorization: "Bearer bob" }), PEER, 0);
  assert.ok("response" in refused);
  assert.equal(refused.response.status, 401);
  assert.equal(refused.response.headers.get("www-authenticate"), "Bearer x");
  const admitted = await admission.admit(at("/mcp", { authorization: "Bearer alice" }), PEER, 0);
  assert.ok("admitted" in admitted);
  assert.equal(admitted.admitted.principal, "alice");
  assert.deepEqual(authorizer.routed, [
    "/.well-known/test from 127.0.0.1",
    "/other from 127.0.0.1",
  ]);
});

Deno.test("Admission.admit() gives route() the forwarded address and rate-limits its routes", async () => {
  const authorizer = recordingAuthorizer();
  const admission = new Admission({ ...BASE, authorizer, trustProxy: ["127.0.0.1"] });
  const req = () =>
    new Request("http://127.0.0.1:8080/.well-known/test", {
      headers: { host: "127.0.0.1:8080", "x-forwarded-for": "203.0.113.9" },
    });
  assert.equal(await statusOf(admission, req()), 200);
  assert.equal(await statusOf(admission, req()), 200);
  assert.equal(await statusOf(admission, req()), 429, "the burst of 2 is spent");
  assert.deepEqual(authorizer.routed, [
    "/.well-known/test from 203.0.113.9",
    "/.well-known/test from 203.0.113.9",
  ]);
});

Deno.test("Admission.admit() without an authorizer admits anonymously and owns no route", async () => {
  const { authorizer: _, ...open } = BASE;
  const admission = new Admission(open);
  const verdict = await admission.admit(request({ authorization: "" }), PEER, 0);
  assert.ok("admitted" in verdict);
  assert.equal(verdict.admitted.principal, ANONYMOUS);
  const other = new Request("http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp", {
    headers: { host: "127.0.0.1:8080" },
  });
  assert.equal(await statusOf(admission, other), 404);
});
