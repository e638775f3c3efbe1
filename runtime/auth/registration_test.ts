import assert from "node:assert/strict";
import { OAuthClientMetadataSchema } from "@modelcontextprotocol/sdk/shared/auth.js";
import { OAuthError } from "./oauth_error.ts";
import {
  checkClientIdUrl,
  MAX_CLIENT_METADATA_BYTES,
  parseClientMetadataDocument,
  parseRegistrationRequest,
  redirectUriAllowed,
} from "./registration.ts";

const isCode = (code: string) => (e: unknown) => e instanceof OAuthError && e.code === code;
const req = (extra: Record<string, unknown>) =>
  JSON.stringify({ redirect_uris: ["http://127.0.0.1:33418/callback"], ...extra });

Deno.test("parseRegistrationRequest() accepts what the MCP SDK client sends", () => {
  // The metadata the SDK's client sends for a public client.
  const sent = OAuthClientMetadataSchema.parse({
    redirect_uris: ["http://localhost:8090/callback"],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    client_name: "MCP client",
    client_uri: "https://example.com",
    software_id: "ignored",
  });
  assert.deepEqual(parseRegistrationRequest(JSON.stringify(sent)), {
    redirect_uris: ["http://localhost:8090/callback"],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    client_name: "MCP client",
    client_uri: "https://example.com",
  });
  const minimal = parseRegistrationRequest(req({}));
  assert.deepEqual(minimal.grant_types, ["authorization_code"]);
  assert.equal(minimal.token_endpoint_auth_method, "none");
});

Deno.test("parseRegistrationRequest() accepts https and loopback http redirect URIs only", () => {
  for (
    const ok of [
      "https://claude.ai/api/mcp/auth_callback",
      "http://127.0.0.1/cb",
      "http://[::1]:9/cb",
      "http://localhost:3000/cb?x=1",
      "com.example.app:/oauth/callback", // a private-use scheme (RFC 8252 §7.1)
      "cursor://anysphere.cursor-retrieval/oauth/callback",
    ]
  ) assert.deepEqual(parseRegistrationRequest(req({ redirect_uris: [ok] })).redirect_uris, [ok]);
  for (
    const bad of [
      "http://example.com/cb",
      "http://192.168.1.2/cb",
      "http://127.0.0.1.evil.example/cb",
      "javascript:alert(1)",
      "data:text/html,x",
      "file:///etc/passwd",
      "blob:https://a.example/x",
      "vbscript:x",
      "about:blank",
      "com.example.app:/cb#frag",
      "com.example.app:/\u202ebc", // a right-to-left override shown on the consent page
      "https://a.example/cb#frag",
      "https://a.example/cb#",
      "https://user:pw@a.example/cb",
      "/relative",
      "",
      42,
    ]
  ) {
    assert.throws(
      () => parseRegistrationRequest(req({ redirect_uris: [bad] })),
      isCode("invalid_redirect_uri"),
      String(bad),
    );
  }
  for (
    const bad of [undefined, [], "https://a.example/cb", Array(11).fill("https://a.example/cb")]
  ) {
    assert.throws(
      () => parseRegistrationRequest(req({ redirect_uris: bad })),
      isCode("invalid_redirect_uri"),
    );
  }
});

Deno.test("parseRegistrationRequest() refuses confidential clients and other grants", () => {
  for (
    const extra of [
      { token_endpoint_auth_method: "client_secret_basic" },
      { token_endpoint_auth_method: "private_key_jwt" },
      { grant_types: ["client_credentials"] },
      { grant_types: ["refresh_token"] },
      { grant_types: ["implicit", "authorization_code"] },
      { grant_types: "authorization_code" },
      { response_types: ["token"] },
      { client_name: "" },
      { client_name: "x".repeat(201) },
      { client_name: "evil\nname" },
      { client_name: 5 },
      { client_uri: "javascript:alert(1)" },
      { scope: 'a"b' },
      { scope: "a  b" },
    ]
  ) {
    assert.throws(
      () => parseRegistrationRequest(req(extra)),
      isCode("invalid_client_metadata"),
      JSON.stringify(extra),
    );
  }
});

Deno.test("parseRegistrationRequest() refuses names that hide characters", () => {
  for (
    const name of [
      "Claude\u200b \u202e(deifirev)\u202c", // zero-width space and a right-to-left override
      "Claude\u2066x\u2069",
      "Claude\u{e0041}", // a tag character
      "Claude\u00ad", // soft hyphen
      "Claude\tCode",
    ]
  ) {
    assert.throws(
      () => parseRegistrationRequest(req({ client_name: name })),
      (e) => isCode("invalid_client_metadata")(e) && /hidden character/.test((e as Error).message),
      JSON.stringify(name),
    );
  }
  assert.throws(
    () => parseRegistrationRequest(req({ client_uri: "https://a.example/\u202e" })),
    isCode("invalid_client_metadata"),
  );
  // Positive control: visible non-ASCII names are fine.
  for (const name of ["Claude", "Café Ñandú", "クロード", "Claude 🤖"]) {
    assert.equal(parseRegistrationRequest(req({ client_name: name })).client_name, name);
  }
});

Deno.test("parseRegistrationRequest() refuses oversized and malformed bodies", () => {
  const big = req({ software_statement: "x".repeat(MAX_CLIENT_METADATA_BYTES) });
  assert.throws(() => parseRegistrationRequest(big), /exceeds 8192 bytes/);
  // Multi-byte characters count as bytes, not UTF-16 units.
  const wide = req({
    client_uri: "https://a.example/" + "é".repeat(MAX_CLIENT_METADATA_BYTES / 2),
  });
  assert.throws(() => parseRegistrationRequest(wide), /exceeds/);
  for (const bad of ["", "{", "[]", "null", '"x"', "1"]) {
    assert.throws(() => parseRegistrationRequest(bad), isCode("invalid_client_metadata"), bad);
  }
  // Positive control: just under the limit passes.
  const near = req({ software_statement: "x".repeat(MAX_CLIENT_METADATA_BYTES - 100) });
  assert.equal(parseRegistrationRequest(near).redirect_uris.length, 1);
});

Deno.test("redirectUriAllowed() matches exact strings, but any port on http loopback", () => {
  const reg = [
    "https://a.example/cb",
    "http://127.0.0.1:3000/cb",
    "http://[::1]/cb",
    "com.example.app:/cb",
  ];
  for (
    const ok of [
      "https://a.example/cb",
      "http://127.0.0.1:3000/cb",
      "http://127.0.0.1:3001/cb", // RFC 8252 §7.3: the port is chosen at request time
      "http://127.0.0.1/cb",
      "http://[::1]:51004/cb",
      "com.example.app:/cb",
    ]
  ) assert.ok(redirectUriAllowed(reg, ok), ok);
  for (
    const bad of [
      "https://a.example/cb/",
      "https://a.example/cb?x",
      "https://A.example/cb",
      "https://a.example/c",
      "https://a.example/cb/../cb",
      "https://a.example:8443/cb", // https stays exact
      "http://127.0.0.1:3001/cb/",
      "http://127.0.0.1:3001/cb#x",
      "http://localhost:3000/cb", // another host
      "http://127.0.0.2:3000/cb",
      "http://u@127.0.0.1:3001/cb",
      "com.example.app:/cb2",
      "com.evil.app:/cb",
      null,
      undefined,
    ]
  ) assert.ok(!redirectUriAllowed(reg, bad), String(bad));
});

Deno.test("checkClientIdUrl() accepts https URLs with a path in normal form only", () => {
  assert.equal(checkClientIdUrl("https://app.example/client.json").pathname, "/client.json");
  for (
    const bad of [
      "http://app.example/client.json",
      "https://app.example",
      "https://app.example/",
      "https://app.example/a/../client.json",
      "https://app.example/%2e%2e/client.json",
      "https://APP.example/client.json",
      "https://u:p@app.example/client.json",
      "https://app.example/client.json?x=1",
      "https://app.example/client.json#f",
      "my-client",
      "https://app.example/" + "x".repeat(2000),
    ]
  ) assert.throws(() => checkClientIdUrl(bad), isCode("invalid_client"), bad);
});

Deno.test("parseClientMetadataDocument() requires its own client_id, a name and no secret", () => {
  const id = "https://app.example/client.json";
  const doc = (extra: Record<string, unknown>) =>
    JSON.stringify({
      client_id: id,
      client_name: "App",
      redirect_uris: ["https://app.example/cb"],
      ...extra,
    });
  assert.equal(parseClientMetadataDocument(id, doc({})).client_name, "App");
  for (
    const extra of [
      { client_id: "https://evil.example/client.json" },
      { client_id: undefined },
      { client_name: undefined },
      { client_secret: "s" },
      { redirect_uris: ["http://evil.example/cb"] },
      { token_endpoint_auth_method: "client_secret_post" },
      { padding: "x".repeat(MAX_CLIENT_METADATA_BYTES) },
    ]
  ) {
    assert.throws(
      () => parseClientMetadataDocument(id, doc(extra)),
      isCode("invalid_client"),
      JSON.stringify(extra),
    );
  }
  assert.throws(() => parseClientMetadataDocument(id, "<html>"), isCode("invalid_client"));
});
