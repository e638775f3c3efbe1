import assert from "node:assert/strict";
import {
  OAuthMetadataSchema,
  OAuthProtectedResourceMetadataSchema,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import {
  checkResourceAllowed,
  resourceUrlFromServerUrl,
} from "@modelcontextprotocol/sdk/shared/auth-utils.js";
import {
  authEndpoints,
  authorizationServerMetadata,
  protectedResourceMetadata,
  wwwAuthenticate,
} from "./metadata.ts";

const URL_ = "https://mcp.example.com/mcp";

Deno.test("authEndpoints() puts the resource path after the well-known prefix", () => {
  const e = authEndpoints(URL_);
  assert.equal(e.resource, URL_);
  assert.equal(e.issuer, "https://mcp.example.com");
  assert.equal(
    e.resourceMetadata,
    "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
  );
  assert.equal(
    e.authorizationServerMetadata,
    "https://mcp.example.com/.well-known/oauth-authorization-server",
  );
  assert.equal(
    authEndpoints("http://127.0.0.1:8808/").resourceMetadata,
    "http://127.0.0.1:8808/.well-known/oauth-protected-resource",
  );
});

Deno.test("authEndpoints() refuses plain http off loopback, credentials, queries and fragments", () => {
  for (
    const bad of [
      "http://mcp.example.com/mcp",
      "http://10.0.0.1/mcp",
      "ftp://mcp.example.com/",
      "https://user:pw@mcp.example.com/mcp",
      "https://mcp.example.com/mcp?x=1",
      "https://mcp.example.com/mcp#f",
      "not a url",
    ]
  ) assert.throws(() => authEndpoints(bad), TypeError, bad);
  assert.equal(authEndpoints("http://localhost:9/mcp").issuer, "http://localhost:9");
  assert.equal(authEndpoints("http://[::1]:9/mcp").issuer, "http://[::1]:9");
});

Deno.test("protectedResourceMetadata() is accepted by the MCP SDK client for the endpoint", () => {
  const doc = protectedResourceMetadata(URL_, { resourceName: "memory" });
  const parsed = OAuthProtectedResourceMetadataSchema.parse(JSON.parse(JSON.stringify(doc)));
  assert.deepEqual(parsed.authorization_servers, ["https://mcp.example.com"]);
  assert.equal(parsed.resource_name, "memory");
  const requested = resourceUrlFromServerUrl(new URL(URL_));
  assert.ok(
    checkResourceAllowed({ requestedResource: requested, configuredResource: doc.resource }),
  );
  // Positive control of the check: another path is refused.
  assert.ok(
    !checkResourceAllowed({
      requestedResource: requested,
      configuredResource: "https://mcp.example.com/other",
    }),
  );
});

Deno.test("authorizationServerMetadata() is accepted by the MCP SDK client and offers S256 only", () => {
  const doc = authorizationServerMetadata(URL_);
  const parsed = OAuthMetadataSchema.parse(JSON.parse(JSON.stringify(doc)));
  assert.equal(parsed.issuer, "https://mcp.example.com");
  assert.deepEqual(parsed.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(parsed.token_endpoint_auth_methods_supported, ["none"]);
  assert.equal(parsed.registration_endpoint, "https://mcp.example.com/oauth/register");
  assert.equal(parsed.client_id_metadata_document_supported, true);
});

Deno.test("wwwAuthenticate() points at the resource metadata and strips quotes", () => {
  assert.equal(
    wwwAuthenticate(URL_),
    'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"',
  );
  const v = wwwAuthenticate(URL_, {
    error: "invalid_token",
    description: 'bad "x"\r\n',
    scope: "mcp",
  });
  assert.match(v, /error="invalid_token", error_description="bad x", scope="mcp"$/);
  const m = v.match(/resource_metadata="([^"]*)"/);
  assert.equal(m?.[1], authEndpoints(URL_).resourceMetadata);
});
