import assert from "node:assert/strict";
import {
  forwardable,
  isInitializeRequest,
  pathOf,
  randomSessionId,
  whenBodyEnds,
} from "./_http_io.ts";

Deno.test("forwardable() hides credentials and lists no header at all", () => {
  const request = new Request("http://127.0.0.1/mcp", {
    headers: {
      authorization: "Bearer secret-secret-secret",
      cookie: "a=b",
      "proxy-authorization": "Basic x",
      "mcp-session-id": "abc",
    },
  });
  const view = forwardable(request);
  assert.equal(view.headers.get("Authorization"), null);
  assert.equal(view.headers.get("cookie"), null);
  assert.equal(view.headers.has("proxy-authorization"), false);
  assert.equal(view.headers.get("mcp-session-id"), "abc", "positive control");
  assert.deepEqual([...view.headers.entries()], []);
});

Deno.test("pathOf() reads the path of an absolute URL", () => {
  const cases: [string, string][] = [
    ["http://h/mcp", "/mcp"],
    ["http://h:8080/mcp?x=1", "/mcp"],
    ["http://h/mcp#frag", "/mcp"],
    ["http://h", "/"],
    ["http://h/a/b?c#d", "/a/b"],
  ];
  for (const [url, path] of cases) assert.equal(pathOf(url), path, url);
});

Deno.test("isInitializeRequest() accepts only a single initialize request", () => {
  assert.equal(isInitializeRequest({ jsonrpc: "2.0", id: 0, method: "initialize" }), true);
  assert.equal(isInitializeRequest({ jsonrpc: "2.0", method: "initialize" }), false);
  assert.equal(isInitializeRequest([{ jsonrpc: "2.0", id: 0, method: "initialize" }]), false);
  assert.equal(isInitializeRequest(null), false);
});

Deno.test("randomSessionId() gives distinct url-safe ids of 256 bits", () => {
  const ids = new Set(Array.from({ length: 100 }, randomSessionId));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{43}$/);
});

Deno.test("whenBodyEnds() waits for a GET event stream to end, not for other responses", async () => {
  let ends = 0;
  const json = whenBodyEnds(new Request("http://h/mcp"), Response.json({}), () => ends++);
  assert.equal(ends, 1);
  await json.body?.cancel();
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("data: x\n\n"));
      controller.close();
    },
  });
  const sse = whenBodyEnds(
    new Request("http://h/mcp"),
    new Response(stream, { headers: { "content-type": "text/event-stream" } }),
    () => ends++,
  );
  assert.equal(ends, 1, "not before the stream is read");
  assert.equal(await sse.text(), "data: x\n\n");
  assert.equal(ends, 2);
});
