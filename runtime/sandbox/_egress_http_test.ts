import assert from "node:assert/strict";
import { headerValues, originHead, parseHead, plainResponse } from "./_egress_http.ts";

Deno.test("parseHead() parses a request head and refuses malformed ones", () => {
  const head = parseHead("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nX-A:  1 \r\nx-a: 2");
  assert.ok(typeof head !== "string");
  assert.equal(head.method, "GET");
  assert.equal(head.target, "http://a.test/");
  assert.deepEqual(headerValues(head, "X-A"), ["1", "2"]);
  for (
    const bad of [
      "GET http://a.test/ HTTP/2.0",
      "GET  http://a.test/ HTTP/1.1",
      "get http://a.test/ HTTP/1.1",
      "GET http://a.test/ HTTP/1.1\r\n folded: x",
      "GET http://a.test/ HTTP/1.1\r\nBad Name: x",
      "GET http://a.test/ HTTP/1.1\r\nNoColon",
      "GET http://a.test/ HTTP/1.1\r\nX: a\nHost: evil.test",
      "GET http://a.test/ HTTP/1.1\r\nX: a\0b",
      "GET http://a.test/ HTTP/1.1\r\n: empty",
    ]
  ) {
    assert.equal(typeof parseHead(bad), "string", JSON.stringify(bad));
  }
});

Deno.test("originHead() keeps end-to-end headers only and closes after one request", () => {
  const head = parseHead(
    "GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\nProxy-Authorization: Basic x\r\n" +
      "Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nTE: trailers\r\nUpgrade: h2c\r\n" +
      "Accept: */*\r\nProxy-Anything: y",
  );
  assert.ok(typeof head !== "string");
  const text = new TextDecoder().decode(originHead(head, "/x", "a.test"));
  assert.equal(
    text,
    "GET /x HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nConnection: close\r\n\r\n",
  );
});

Deno.test("plainResponse() writes one line, whatever the reason holds", () => {
  const text = new TextDecoder().decode(plainResponse(403, "no\r\nSet-Cookie: x=1"));
  assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
  assert.ok(text.endsWith("\r\n\r\nno Set-Cookie: x=1\n"));
  assert.equal(text.split("\r\n").filter((l) => /^Set-Cookie/i.test(l)).length, 0);
});
