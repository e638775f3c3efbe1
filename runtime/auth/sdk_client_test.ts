// The documents and checks of this folder, driven by the MCP SDK's own client auth code,
// in-process: a fetch function answers from the documents, no sockets.
import assert from "node:assert/strict";
import {
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { AuthorizationCodes } from "./codes.ts";
import {
  authEndpoints,
  authorizationServerMetadata,
  protectedResourceMetadata,
  wwwAuthenticate,
} from "./metadata.ts";
import { checkPkceChallenge } from "./pkce.ts";
import { parseRegistrationRequest, redirectUriAllowed } from "./registration.ts";
import { MemoryTokenStore, TokenService } from "./tokens.ts";

const PUBLIC = "https://mcp.example.com/mcp";

function serveDocuments(): { fetchFn: typeof fetch; seen: string[] } {
  const e = authEndpoints(PUBLIC);
  const docs = new Map<string, unknown>([
    [e.resourceMetadata, protectedResourceMetadata(PUBLIC)],
    [e.authorizationServerMetadata, authorizationServerMetadata(PUBLIC)],
  ]);
  const seen: string[] = [];
  const fetchFn = (input: string | URL | Request): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push(url);
    const doc = docs.get(url);
    return Promise.resolve(
      doc ? Response.json(doc) : new Response("not found", { status: 404 }),
    );
  };
  return { fetchFn: fetchFn as typeof fetch, seen };
}

Deno.test("wwwAuthenticate() and the metadata documents lead the SDK client through discovery", async () => {
  const challenge = new Response(null, {
    status: 401,
    headers: { "WWW-Authenticate": wwwAuthenticate(PUBLIC, { error: "invalid_token" }) },
  });
  const params = extractWWWAuthenticateParams(challenge);
  assert.equal(params.resourceMetadataUrl?.href, authEndpoints(PUBLIC).resourceMetadata);

  const { fetchFn, seen } = serveDocuments();
  const info = await discoverOAuthServerInfo(PUBLIC, {
    resourceMetadataUrl: params.resourceMetadataUrl,
    fetchFn,
  });
  // Found through the resource metadata, not the SDK's fallback to the server's origin.
  assert.equal(info.resourceMetadata?.resource, PUBLIC);
  assert.equal(info.authorizationServerUrl, "https://mcp.example.com");
  assert.equal(info.authorizationServerMetadata?.token_endpoint, authEndpoints(PUBLIC).token);
  assert.deepEqual(seen.slice(0, 2), [
    authEndpoints(PUBLIC).resourceMetadata,
    authEndpoints(PUBLIC).authorizationServerMetadata,
  ]);
});

Deno.test("AuthorizationCodes.redeem() accepts the SDK client's PKCE pair and resource", async () => {
  const { fetchFn } = serveDocuments();
  const info = await discoverOAuthServerInfo(PUBLIC, { fetchFn });
  const redirect = "http://127.0.0.1:33418/callback";
  const client = parseRegistrationRequest(JSON.stringify({
    redirect_uris: [redirect],
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    client_name: "SDK test client",
  }));
  const { authorizationUrl, codeVerifier } = await startAuthorization(info.authorizationServerUrl, {
    metadata: info.authorizationServerMetadata,
    clientInformation: { client_id: "client-1", redirect_uris: client.redirect_uris },
    redirectUrl: redirect,
    resource: new URL(PUBLIC),
    scope: "mcp",
  });
  const q = authorizationUrl.searchParams;
  assert.equal(
    authorizationUrl.origin + authorizationUrl.pathname,
    authEndpoints(PUBLIC).authorization,
  );
  assert.ok(redirectUriAllowed(client.redirect_uris, q.get("redirect_uri")));
  assert.equal(q.get("resource"), PUBLIC);

  const tokens = new TokenService(new MemoryTokenStore());
  const codes = new AuthorizationCodes({ onReplay: (f) => tokens.revokeFamily(f) });
  const code = await codes.issue({
    clientId: q.get("client_id")!,
    redirectUri: q.get("redirect_uri")!,
    codeChallenge: checkPkceChallenge(q.get("code_challenge"), q.get("code_challenge_method")),
    resource: q.get("resource")!,
    scope: q.get("scope")!,
  });
  const grant = await codes.redeem(code, {
    clientId: "client-1",
    redirectUri: redirect,
    codeVerifier,
    resource: PUBLIC,
  });
  const pair = await tokens.issue(grant);
  assert.equal((await tokens.verifyAccess(pair.access_token, PUBLIC)).clientId, "client-1");
});
