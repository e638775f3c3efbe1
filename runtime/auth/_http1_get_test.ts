// http1Get() against canned answers from a plain TCP listener on loopback.
import assert from "node:assert/strict";
import { http1Get } from "./_http1_get.ts";

async function exchange(
  answer: string,
  o: { maxBodyBytes?: number; timeoutMs?: number; hold?: boolean } = {},
): Promise<{ body: string; request: string }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let request = "";
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    request = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    await conn.write(new TextEncoder().encode(answer));
    if (o.hold) await new Promise((r) => setTimeout(r, 300));
    try {
      conn.close();
    } catch { /* closed by the client */ }
  })();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const body = await http1Get(conn, new URL("https://client.example.com/meta.json"), {
      maxBodyBytes: o.maxBodyBytes ?? 100,
      signal: o.timeoutMs ? AbortSignal.timeout(o.timeoutMs) : undefined,
    });
    return { body, request };
  } finally {
    await served;
    listener.close();
  }
}

Deno.test("http1Get() sends a credential-free GET and reads a 200 body", async () => {
  const { body, request } = await exchange(
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
  );
  assert.equal(body, "{}");
  assert.match(request, /^GET \/meta\.json HTTP\/1\.1\r\nHost: client\.example\.com\r\n/);
  assert.doesNotMatch(request, /authorization|cookie/i);
  const chunked = await exchange(
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n5\r\na":1}\r\n0\r\n\r\n',
  );
  assert.equal(chunked.body, '{"a":1}');
});

Deno.test("http1Get() refuses redirects, other statuses, oversized and malformed answers", async () => {
  const cases: [string, RegExp, { hold?: boolean; timeoutMs?: number }?][] = [
    ["HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1/\r\n\r\n", /redirects are not followed/],
    ["HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", /answered 404/],
    [`HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n${"x".repeat(101)}`, /exceeds 100 bytes/],
    [`HTTP/1.1 200 OK\r\n\r\n${"x".repeat(101)}`, /exceeds 100 bytes/],
    [
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n${"x".repeat(101)}\r\n0\r\n\r\n`,
      /exceeds/,
    ],
    ["HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n{}", /encoded as "gzip"/],
    ["SSH-2.0-OpenSSH\r\n\r\n", /not HTTP/],
    ["HTTP/1.1 200 OK\r\nContent-Length: 5", /no complete HTTP head/, { hold: true }],
  ];
  for (const [answer, message, o] of cases) {
    await assert.rejects(exchange(answer, o), message, answer.slice(0, 40));
  }
});

Deno.test("http1Get() gives up when the signal aborts", async () => {
  await assert.rejects(
    exchange("HTTP/1.1 200 OK\r\n", { hold: true, timeoutMs: 50 }),
    /did not answer in time/,
  );
});
