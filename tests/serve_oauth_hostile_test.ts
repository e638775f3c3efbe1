// Hostile requests through a real `mcp-run serve --auth oauth` (the authorizer's own tests cover
// it alone): a token issued by another serve instance, and a cross-site post of the sign-in form
// when serve sits behind a TLS-terminating proxy under its public URL. Each with its positive
// control: the same request done right succeeds.
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, tempDir } from "./_helpers.ts";
import { startServe } from "./_serve_cli.ts";
import { freePort, setPassphrase } from "./_oauth_browser.ts";
import { authEndpoints } from "../runtime/auth/metadata.ts";
import { pkceChallenge } from "../runtime/auth/pkce.ts";
import { PASSPHRASE, REDIRECT, signedInToken, VERIFIER } from "../runtime/auth/_oauth_fixture.ts";

const MANIFEST = join(ROOT, "tests/testdata/serve_fixture.jsonc");
const cache = tempDir("mcp-run-serve-oauth-hostile-cache-");

/** An MCP initialize request body. */
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  },
});

/** Starts `serve --auth oauth` on `port` with `publicUrl`; returns a stop function. */
async function serveOAuth(
  state: string,
  port: number,
  publicUrl: string,
  extra: string[] = [],
): Promise<() => Promise<void>> {
  const served = await startServe([
    MANIFEST,
    "--port",
    String(port),
    "--auth",
    "oauth",
    "--public-url",
    publicUrl,
    "--state-dir",
    state,
    "--cache",
    cache,
    ...extra,
  ]);
  return async () => {
    served.child.kill("SIGTERM");
    assert.equal((await served.child.status).code, 0, served.stderr());
  };
}

/** POSTs an MCP initialize with a bearer token; returns the status and the challenge. */
async function initialize(url: string, token: string): Promise<[number, string]> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: INITIALIZE,
  });
  await response.body?.cancel();
  return [response.status, response.headers.get("www-authenticate") ?? ""];
}

Deno.test("mcp-run serve --auth oauth refuses a token another serve instance issued", async () => {
  const state = join(tempDir(), "state");
  await setPassphrase(state, PASSPHRASE);
  // Two instances of the same server, one state root (one token store), two public URLs.
  const [portA, portB] = [freePort(), freePort()];
  const [urlA, urlB] = [portA, portB].map((port) => `http://127.0.0.1:${port}/mcp`);
  const stopA = await serveOAuth(state, portA, urlA);
  const stopB = await serveOAuth(state, portB, urlB);
  try {
    const tokenA = await signedInToken(urlA);
    const tokenB = await signedInToken(urlB);
    // Positive control: each token opens its own instance.
    assert.equal((await initialize(urlA, tokenA))[0], 200);
    assert.equal((await initialize(urlB, tokenB))[0], 200);
    // The token is in the store B reads, but it names A as its audience.
    const [status, challenge] = await initialize(urlB, tokenA);
    assert.equal(status, 401);
    assert.match(challenge, /error="invalid_token"/);
    assert.equal((await initialize(urlA, tokenB))[0], 401);
  } finally {
    await stopB();
    await stopA();
  }
});

/** A response read off the wire. */
interface RawResponse {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * One HTTP/1.1 request as a proxy sends it: to the loopback listener, with the public `Host`
 * (which fetch cannot set) and `X-Forwarded-For`. The answer is read to the connection's end.
 */
async function proxied(
  port: number,
  method: string,
  target: string,
  headers: Record<string, string>,
  body = "",
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = new TextEncoder().encode(body);
  const head = Object.entries({
    ...headers,
    "Content-Length": String(bytes.length),
    Connection: "close",
  }).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  await conn.write(new TextEncoder().encode(`${method} ${target} HTTP/1.1\r\n${head}\r\n`));
  if (bytes.length > 0) await conn.write(bytes);
  const raw = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
  const split = raw.indexOf("\r\n\r\n");
  const [statusLine, ...lines] = raw.slice(0, split).split("\r\n");
  const parsed = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    parsed.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  let text = raw.slice(split + 4);
  if (parsed.get("transfer-encoding")?.includes("chunked")) {
    let out = "";
    for (;;) {
      const end = text.indexOf("\r\n");
      const size = parseInt(text.slice(0, end), 16);
      if (!size) break;
      out += text.slice(end + 2, end + 2 + size);
      text = text.slice(end + 4 + size);
    }
    text = out;
  }
  return { status: Number(statusLine.split(" ")[1]), headers: parsed, body: text };
}

Deno.test("mcp-run serve --auth oauth behind --trust-proxy accepts the sign-in form only from its public origin", async () => {
  const state = join(tempDir(), "state");
  await setPassphrase(state, PASSPHRASE);
  const port = freePort();
  const publicUrl = "https://mcp.example.com/mcp";
  const e = authEndpoints(publicUrl);
  const stop = await serveOAuth(state, port, publicUrl, [
    "--trust-proxy",
    "127.0.0.1",
    "--allowed-origin",
    "https://app.example.com",
  ]);
  try {
    const proxy = { Host: "mcp.example.com", "X-Forwarded-For": "203.0.113.7" };
    const registered = await proxied(
      port,
      "POST",
      new URL(e.registration).pathname,
      { ...proxy, "Content-Type": "application/json" },
      JSON.stringify({ redirect_uris: [REDIRECT], client_name: "Proxied client" }),
    );
    assert.equal(registered.status, 201, registered.body);
    const clientId = JSON.parse(registered.body).client_id;
    const authorize = new URL(e.authorization);
    for (
      const [name, value] of Object.entries({
        response_type: "code",
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: await pkceChallenge(VERIFIER),
        code_challenge_method: "S256",
        state: "st-proxy",
        resource: publicUrl,
      })
    ) authorize.searchParams.set(name, value);
    const target = authorize.pathname + authorize.search;
    const page = await proxied(port, "GET", target, proxy);
    assert.equal(page.status, 200, page.body);
    const cookie = page.headers.get("set-cookie")!.split(";")[0];
    assert.match(cookie, /^__Host-/, "the public URL is https: a __Host- cookie");
    const field = (name: string) =>
      new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(page.body)![1];
    const form = new URLSearchParams({
      request: field("request"),
      csrf: field("csrf"),
      passphrase: PASSPHRASE,
      action: "approve",
    }).toString();
    const post = (origin: string) =>
      proxied(port, "POST", authorize.pathname, {
        ...proxy,
        Origin: origin,
        Cookie: cookie,
        "Content-Type": "application/x-www-form-urlencoded",
      }, form);
    // The listener's own loopback origin is not the public one (a page served by anything else
    // on this machine); neither is another site: the bridge's Origin allowlist refuses them.
    for (const origin of [`http://127.0.0.1:${port}`, "https://evil.example", "null"]) {
      const refused = await post(origin);
      assert.equal(refused.status, 403, `${origin}: ${refused.body}`);
      assert.match(refused.body, /Origin not allowed/);
      assert.equal(refused.headers.get("location"), null);
    }
    // A web client the owner allowed to call the MCP endpoint passes the bridge, but the sign-in
    // form takes posts only from the public origin itself.
    const app = await post("https://app.example.com");
    assert.equal(app.status, 403, app.body);
    assert.match(app.body, /posted from another site/);
    assert.equal(app.headers.get("location"), null);
    // Positive control: the same form from the public origin signs in.
    const accepted = await post("https://mcp.example.com");
    assert.equal(accepted.status, 303, accepted.body);
    const location = new URL(accepted.headers.get("location")!);
    assert.equal(location.origin + location.pathname, REDIRECT);
    assert.equal(location.searchParams.get("state"), "st-proxy");
    assert.ok(location.searchParams.get("code"));
    assert.equal(location.searchParams.get("iss"), e.issuer);
  } finally {
    await stop();
  }
});
