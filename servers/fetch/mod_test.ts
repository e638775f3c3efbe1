import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { FetchToolError, parseHttpUrl } from "./mod.ts";

Deno.test("parseHttpUrl() accepts only absolute http(s) URLs without credentials", () => {
  assert.equal(parseHttpUrl("https://example.com/x?y").hostname, "example.com");
  assert.equal(parseHttpUrl("http://127.0.0.1:8080/").port, "8080");
  for (
    const bad of [
      "file:///etc/passwd",
      "data:text/plain,hi",
      "ftp://example.com/",
      "javascript:alert(1)",
      "blob:https://example.com/x",
      "/relative/path",
      "example.com",
      "https://user:pass@example.com/",
    ]
  ) {
    assert.throws(() => parseHttpUrl(bad), FetchToolError, bad);
  }
});

/** A loopback HTTP server that records the paths it was asked for. */
function startSite(
  handler: (url: URL) => Response,
): { origin: string; hits: string[]; close: () => Promise<void> } {
  const hits: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      hits.push(url.pathname);
      return handler(url);
    },
  );
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    hits,
    close: () => server.shutdown(),
  };
}

async function startFetchServer(allowNet: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "--no-prompt",
      "--config",
      new URL("./deno.json", import.meta.url).pathname,
      `--allow-net=${allowNet.join(",")}`,
      new URL("./mod.ts", import.meta.url).pathname,
    ],
    stderr: "pipe",
  });
  const client = new Client({ name: "test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

async function callFetch(
  client: Client,
  args: Record<string, unknown>,
): Promise<{ text: string; isError: boolean }> {
  const result = await client.callTool({ name: "fetch", arguments: args });
  const content = result.content as { type: string; text: string }[];
  return { text: content[0].text, isError: result.isError === true };
}

Deno.test("fetch tool reaches granted hosts only, checking every redirect hop", async () => {
  const canary = startSite(() => new Response("<p>canary secret</p>", { headers: html }));
  const html = { "content-type": "text/html; charset=utf-8" };
  const site = startSite((url) => {
    switch (url.pathname) {
      case "/page":
        return new Response(
          `<html><head><script>evil()</script></head><body><h1>Docs</h1>` +
            `<p>Hello &amp; welcome, see <a href="/next">next</a>.</p></body></html>`,
          { headers: html },
        );
      case "/local-redirect":
        return Response.redirect(`${new URL(url).origin}/page`, 302);
      case "/to-canary":
        return Response.redirect(`${canary.origin}/secret`, 302);
      case "/loop":
        return new Response(null, {
          status: 301,
          headers: { location: "/loop" },
        });
      case "/binary":
        return new Response(new Uint8Array([0, 1, 2]), {
          headers: { "content-type": "image/png" },
        });
      case "/long":
        return new Response("x".repeat(12_000), {
          headers: { "content-type": "text/plain" },
        });
      default:
        return new Response("missing", { status: 404 });
    }
  });
  const siteHost = new URL(site.origin).host;
  const canaryHost = new URL(canary.origin).host;
  const client = await startFetchServer([siteHost]);
  try {
    const page = await callFetch(client, { url: `${site.origin}/page` });
    assert.equal(page.isError, false);
    assert.match(
      page.text,
      /# Docs\n\nHello & welcome, see \[next\]\(http:\/\/127\.0\.0\.1:\d+\/next\)\./,
    );
    assert.doesNotMatch(page.text, /evil/);

    const raw = await callFetch(client, {
      url: `${site.origin}/page`,
      raw: true,
    });
    assert.match(raw.text, /<script>evil\(\)<\/script>/);

    const followed = await callFetch(client, {
      url: `${site.origin}/local-redirect`,
    });
    assert.match(
      followed.text,
      /^Contents of http:\/\/127\.0\.0\.1:\d+\/page:/,
    );

    // The redirect leads to a host that was not granted: Deno refuses the hop.
    const escaped = await callFetch(client, {
      url: `${site.origin}/to-canary`,
    });
    assert.equal(escaped.isError, true);
    assert.match(
      escaped.text,
      new RegExp(`network access to "${canaryHost}" was not granted`),
    );
    const direct = await callFetch(client, { url: `${canary.origin}/secret` });
    assert.equal(direct.isError, true);
    assert.deepEqual(canary.hits, []);

    const loop = await callFetch(client, { url: `${site.origin}/loop` });
    assert.match(loop.text, /more than 5 redirects/);
    assert.equal(site.hits.filter((path) => path === "/loop").length, 6);

    const file = await callFetch(client, { url: "file:///etc/passwd" });
    assert.equal(file.isError, true);
    assert.match(file.text, /only http: and https: URLs/);

    const binary = await callFetch(client, { url: `${site.origin}/binary` });
    assert.match(binary.text, /content type "image\/png" is not text/);

    const missing = await callFetch(client, { url: `${site.origin}/nothing` });
    assert.match(missing.text, /answered 404/);

    const first = await callFetch(client, {
      url: `${site.origin}/long`,
      max_length: 10_000,
    });
    assert.match(first.text, /start_index=10000/);
    const rest = await callFetch(client, {
      url: `${site.origin}/long`,
      start_index: 10_000,
    });
    assert.equal(rest.text.split("\n\n")[1], "x".repeat(2000));
  } finally {
    await client.close();
  }

  // Positive control: with the canary's host granted too, the same redirect reaches it.
  const trusting = await startFetchServer([siteHost, canaryHost]);
  try {
    const reached = await callFetch(trusting, {
      url: `${site.origin}/to-canary`,
    });
    assert.equal(reached.isError, false);
    assert.match(reached.text, /canary secret/);
    assert.deepEqual(canary.hits, ["/secret"]);
  } finally {
    await trusting.close();
    await site.close();
    await canary.close();
  }
});
