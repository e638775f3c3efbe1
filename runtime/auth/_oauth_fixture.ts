// Test fixture: the OAuth authorizer served on loopback in front of a tiny protected handler,
// and a browser stand-in that signs in on the consent page.
import { type OAuthAuthorizerOptions, openOAuthAuthorizer } from "./authorization_server.ts";
import { type AuthEndpoints, authEndpoints } from "./metadata.ts";
import { hashPassphrase, writePassphraseFile } from "./passphrase.ts";
import { pkceChallenge } from "./pkce.ts";
import type { RequestAuthorizer } from "../http/_authorizer.ts";

/** The owner's passphrase in every fixture. */
export const PASSPHRASE = "correct horse battery staple";
/** A loopback redirect URI, as native clients register. */
export const REDIRECT = "http://127.0.0.1:33418/callback";
/** A PKCE verifier and its S256 challenge (RFC 7636 appendix B). */
export const VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/** A served authorizer. */
export interface Served {
  publicUrl: string;
  e: AuthEndpoints;
  auth: RequestAuthorizer & { close(): Promise<void> };
  dir: string;
  stateDir: string;
  passphraseFile: string;
  /** Stop the server and remove the state. */
  close(): Promise<void>;
}

/**
 * Serve an authorizer on 127.0.0.1 with `/mcp` protected by `check()` (answering the
 * principal as JSON).
 */
export async function serveAuthorizer(
  options: Partial<OAuthAuthorizerOptions> = {},
): Promise<Served> {
  const dir = await Deno.makeTempDir({ prefix: "mcp-run-oauth-" });
  const passphraseFile = `${dir}/passphrase`;
  await writePassphraseFile(passphraseFile, await hashPassphrase(PASSPHRASE, { iterations: 1e5 }));
  const ref: { auth?: RequestAuthorizer } = {};
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req, info) => {
      const routed = await ref.auth!.route(req, { address: info.remoteAddr.hostname });
      if (routed) return routed;
      if (new URL(req.url).pathname !== "/mcp") return new Response("not found", { status: 404 });
      const principal = await ref.auth!.check(req);
      return typeof principal === "string" ? Response.json({ principal }) : principal;
    },
  );
  const publicUrl = `http://127.0.0.1:${server.addr.port}/mcp`;
  const stateDir = `${dir}/serve/test`;
  const auth = await openOAuthAuthorizer({
    publicUrl,
    stateDir,
    passphraseFile,
    serverName: "test-server",
    fetchClientMetadata: () => Promise.reject(new Error("no network in tests")),
    ...options,
  });
  ref.auth = auth;
  return {
    publicUrl,
    e: authEndpoints(publicUrl),
    auth,
    dir,
    stateDir,
    passphraseFile,
    async close() {
      await auth.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Register a client dynamically; returns its client_id. */
export async function registerClient(
  e: AuthEndpoints,
  metadata: Record<string, unknown> = {},
): Promise<string> {
  const res = await fetch(e.registration, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      client_name: "Test client",
      grant_types: ["authorization_code", "refresh_token"],
      ...metadata,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${await res.text()}`);
  return (await res.json()).client_id;
}

/** The authorization URL of a request, with overridable parameters (null drops one). */
export async function authorizeUrl(
  e: AuthEndpoints,
  clientId: string,
  params: Record<string, string | null> = {},
): Promise<URL> {
  const url = new URL(e.authorization);
  const all: Record<string, string | null> = {
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: await pkceChallenge(VERIFIER),
    code_challenge_method: "S256",
    state: "st-1",
    resource: e.resource,
    scope: "mcp",
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== null) url.searchParams.set(k, v);
  return url;
}

/** How the browser stand-in fills in and posts the consent form. */
export interface SignInOptions {
  passphrase?: string;
  totp?: string;
  action?: "approve" | "deny";
  /** Replace the cookie sent back (null: send none). */
  cookie?: string | null;
  /** Replace the form's CSRF token. */
  csrf?: string;
}

/** The consent page as a browser sees it: the form's fields and the cookie. */
export interface ConsentForm {
  response: Response;
  html: string;
  fields: Record<string, string>;
  cookie: string | null;
}

/** GET the authorization URL and parse the consent form out of the page. */
export async function openConsent(url: URL | string): Promise<ConsentForm> {
  const response = await fetch(url, { redirect: "manual" });
  const html = await response.text();
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2];
  }
  const setCookie = response.headers.get("set-cookie");
  return { response, html, fields, cookie: setCookie ? setCookie.split(";")[0] : null };
}

/** Post the consent form as a browser would; returns the (unfollowed) response. */
export async function submitConsent(
  url: URL | string,
  form: ConsentForm,
  o: SignInOptions = {},
): Promise<Response> {
  const body = new URLSearchParams({
    request: form.fields.request ?? "",
    csrf: o.csrf ?? form.fields.csrf ?? "",
    passphrase: o.passphrase ?? PASSPHRASE,
    action: o.action ?? "approve",
  });
  if (o.totp !== undefined) body.set("totp", o.totp);
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
  };
  const cookie = o.cookie === undefined ? form.cookie : o.cookie;
  if (cookie) headers.Cookie = cookie;
  return await fetch(url, { method: "POST", headers, body, redirect: "manual" });
}

/** Sign in on the consent page and return the redirect's Location (throws if none). */
export async function signIn(url: URL | string, o: SignInOptions = {}): Promise<URL> {
  const form = await openConsent(url);
  if (form.response.status !== 200) {
    throw new Error(`consent page answered ${form.response.status}: ${form.html}`);
  }
  const res = await submitConsent(url, form, o);
  await res.body?.cancel();
  const location = res.headers.get("location");
  if (!location) throw new Error(`sign-in answered ${res.status} without a redirect`);
  return new URL(location);
}

/** POST a form to the token endpoint; returns status and JSON body. */
export async function tokenRequest(
  e: AuthEndpoints,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(e.token, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Call the protected endpoint with a bearer token; returns the status. */
export async function callMcp(publicUrl: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return await fetch(publicUrl, { headers });
}

/** Run the whole flow for a registered client; returns the token response. */
export async function obtainTokens(
  s: Pick<Served, "e">,
  clientId: string,
): Promise<{ access_token: string; refresh_token: string }> {
  const location = await signIn(await authorizeUrl(s.e, clientId));
  const { status, body } = await tokenRequest(s.e, {
    grant_type: "authorization_code",
    code: location.searchParams.get("code")!,
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_verifier: VERIFIER,
    resource: s.e.resource,
  });
  if (status !== 200) throw new Error(`token request failed: ${JSON.stringify(body)}`);
  return body as { access_token: string; refresh_token: string };
}

/** An access token for the resource at `publicUrl`: a new client registered and signed in. */
export async function signedInToken(publicUrl: string): Promise<string> {
  const e = authEndpoints(publicUrl);
  return (await obtainTokens({ e }, await registerClient(e))).access_token;
}
