// The built-in OAuth 2.1 authorization server and protected resource, as the HTTP bridge's
// authorizer: discovery documents, authorize, token, register and revoke endpoints, and the
// bearer-token check of MCP requests.
import type { AuthorizerClient, RequestAuthorizer } from "../http/_authorizer.ts";
import { AuthorizeEndpoint, readCapped } from "./_authorize.ts";
import { ClientStore } from "./client_store.ts";
import { fetchClientMetadata } from "./client_metadata_fetch.ts";
import { AuthorizationCodes } from "./codes.ts";
import { SignInLockout } from "./lockout.ts";
import {
  type AuthEndpoints,
  authEndpoints,
  authorizationServerMetadata,
  protectedResourceMetadata,
  wwwAuthenticate,
} from "./metadata.ts";
import { OAuthError } from "./oauth_error.ts";
import { readPassphraseFile } from "./passphrase.ts";
import { MAX_CLIENT_METADATA_BYTES, parseRegistrationRequest } from "./registration.ts";
import { JsonFileTokenStore } from "./token_file_store.ts";
import { TokenService } from "./tokens.ts";
import { readTotpFile, TotpVerifier } from "./totp.ts";

/** Options for {@link openOAuthAuthorizer}. */
export interface OAuthAuthorizerOptions {
  /** The MCP endpoint's public URL, e.g. `https://mcp.example.com/mcp` (issuer and audience). */
  publicUrl: string;
  /** The server's state folder (made 0700): tokens.json and clients.json. */
  stateDir: string;
  /** The owner's passphrase record ({@linkcode writePassphraseFile}), read at each sign-in. */
  passphraseFile: string;
  /** The server's name, shown on the consent page. */
  serverName: string;
  /** Access token lifetime in seconds (default 3600). */
  accessTokenSeconds?: number;
  /** Refresh token lifetime in seconds (default 30 days). */
  refreshTokenSeconds?: number;
  /**
   * A TOTP secret file (0600), read at each sign-in: while it exists, sign-in also needs the
   * authenticator's code (so one added or removed while serving applies at the next sign-in).
   */
  totpFile?: string;
  /**
   * Where the last used TOTP step is kept, so a restart does not accept a used code again
   * (default `<stateDir>/totp-step`; give one file for every server sharing the TOTP secret).
   */
  totpStateFile?: string;
  /** Fetches client ID metadata documents (default {@linkcode fetchClientMetadata}). */
  fetchClientMetadata?: (url: URL) => Promise<string>;
  /** Lockout of addresses that keep failing to sign in (default: 5 failures, then 1 s doubling). */
  lockout?: SignInLockout;
  /** Told of unexpected failures (an unreadable state file); clients see only a 500. */
  onError?: (error: Error) => void;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

const SCOPE = "mcp";
const MAX_FORM_BYTES = 16 * 1024;
const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Open the OAuth authorizer of one served MCP server: mcp-run as the protected resource and as
 * the small authorization server its owner signs in to. It answers
 *
 * - `GET /.well-known/oauth-protected-resource[/path]` (RFC 9728) and
 *   `GET /.well-known/oauth-authorization-server` or `/.well-known/openid-configuration`
 *   (RFC 8414), with CORS for browser clients;
 * - `GET|POST /oauth/authorize`: the sign-in and consent page (passphrase, optional TOTP, CSRF
 *   cookie, lockout), then the code (PKCE S256 only, exact redirect URI) with `state` and `iss`;
 * - `POST /oauth/token`: `authorization_code` and `refresh_token` (rotated) grants, form-encoded,
 *   public clients;
 * - `POST /oauth/register` (RFC 7591) and `POST /oauth/revoke` (RFC 7009);
 *
 * and checks MCP requests' `Authorization: Bearer` access tokens, which must be issued for this
 * resource; the principal is the sign-in (token family), stable across refreshes. Tokens and
 * clients are kept in `stateDir`, so they survive a restart; pending sign-ins and codes do not.
 *
 * Requires `--allow-read` and `--allow-write` on `stateDir`, `--allow-read` on the passphrase
 * and TOTP files, and `--allow-net` to fetch client metadata documents.
 *
 * @param o The public URL, state folder, passphrase file, name and options.
 * @returns The authorizer; `close()` releases it.
 * @throws {TypeError} If the public URL is unusable (see {@linkcode authEndpoints}).
 * @throws {RangeError} If a token lifetime is out of bounds (access 1 s to 1 day, refresh from
 *   the access lifetime to 365 days).
 * @throws {SyntaxError} If the passphrase or TOTP file, tokens.json or clients.json is malformed.
 * @throws {Deno.errors.NotFound} If the TOTP file is given but missing.
 * @example
 * ```ts ignore
 * import { openOAuthAuthorizer } from "./authorization_server.ts";
 * const auth = await openOAuthAuthorizer({
 *   publicUrl: "https://mcp.example.com/mcp",
 *   stateDir: "/var/lib/mcp-run/serve/docs",
 *   passphraseFile: "/var/lib/mcp-run/passphrase",
 *   serverName: "docs",
 * });
 * Deno.serve(async (req, info) =>
 *   await auth.route(req, { address: info.remoteAddr.hostname }) ??
 *     (typeof await auth.check(req) === "string" ? new Response("ok") : new Response(null, { status: 401 }))
 * );
 * ```
 */
export async function openOAuthAuthorizer(
  o: OAuthAuthorizerOptions,
): Promise<RequestAuthorizer & { close(): Promise<void> }> {
  const endpoints = authEndpoints(o.publicUrl);
  const now = o.now ?? Date.now;
  const accessSeconds = o.accessTokenSeconds ?? 3600;
  const refreshSeconds = o.refreshTokenSeconds ?? 30 * 24 * 3600;
  if (!Number.isSafeInteger(accessSeconds) || accessSeconds < 1 || accessSeconds > 86_400) {
    throw new RangeError(
      `Cannot issue access tokens for ${accessSeconds} s: give 1 to 86400 s; access tokens stay short-lived and are refreshed`,
    );
  }
  if (
    !Number.isSafeInteger(refreshSeconds) || refreshSeconds < accessSeconds ||
    refreshSeconds > 365 * 86_400
  ) {
    throw new RangeError(
      `Cannot issue refresh tokens for ${refreshSeconds} s: give from the access token lifetime (${accessSeconds} s) to 365 days`,
    );
  }
  await Deno.mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") await Deno.chmod(o.stateDir, 0o700);
  await readPassphraseFile(o.passphraseFile); // a malformed file fails now, not at sign-in
  if (o.totpFile) {
    await readTotpFile(o.totpFile).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // a malformed file fails now
    });
  }
  const tokens = new TokenService(new JsonFileTokenStore(`${o.stateDir}/tokens.json`), {
    accessTtlMs: accessSeconds * 1000,
    refreshTtlMs: refreshSeconds * 1000,
    now,
  });
  await tokens.grants(); // a malformed tokens.json fails now
  const clients = new ClientStore(`${o.stateDir}/clients.json`, {
    fetchDocument: o.fetchClientMetadata ?? ((url) => fetchClientMetadata(url)),
    onError: o.onError,
    now,
  });
  await clients.find("-"); // a malformed clients.json fails now
  const codes = new AuthorizationCodes({ now, onReplay: (f) => tokens.revokeFamily(f) });
  const authorize = new AuthorizeEndpoint({
    endpoints,
    serverName: o.serverName,
    clients,
    codes,
    lockout: o.lockout ?? new SignInLockout({ now }),
    passphraseFile: o.passphraseFile,
    totpFile: o.totpFile,
    totp: new TotpVerifier({ now, stateFile: o.totpStateFile ?? `${o.stateDir}/totp-step` }),
    now,
  });
  return new OAuthAuthorizer(o, endpoints, { tokens, clients, codes, authorize, now });
}

interface Parts {
  tokens: TokenService;
  clients: ClientStore;
  codes: AuthorizationCodes;
  authorize: AuthorizeEndpoint;
  now: () => number;
}

class OAuthAuthorizer implements RequestAuthorizer {
  #o: OAuthAuthorizerOptions;
  #e: AuthEndpoints;
  #p: Parts;
  #paths: Map<string, (r: Request, c: AuthorizerClient) => Promise<Response>>;
  #lastSweep = 0;
  /** The last failure told by {@linkcode OAuthAuthorizer.#failed}, until a check succeeds. */
  #lastFailure: string | undefined;

  constructor(o: OAuthAuthorizerOptions, e: AuthEndpoints, parts: Parts) {
    this.#o = o;
    this.#e = e;
    this.#p = parts;
    const path = (url: string) => new URL(url).pathname;
    const resourcePath = path(e.resource) === "/" ? "" : path(e.resource);
    const resourceDoc = (r: Request) => this.#document(r, this.#resourceMetadata());
    const serverDoc = (r: Request) => this.#document(r, this.#serverMetadata());
    this.#paths = new Map<string, (r: Request, c: AuthorizerClient) => Promise<Response>>([
      ["/.well-known/oauth-protected-resource", resourceDoc],
      [`/.well-known/oauth-protected-resource${resourcePath}`, resourceDoc],
      ["/.well-known/oauth-authorization-server", serverDoc],
      [`/.well-known/oauth-authorization-server${resourcePath}`, serverDoc],
      ["/.well-known/openid-configuration", serverDoc],
      [`/.well-known/openid-configuration${resourcePath}`, serverDoc],
      [path(e.authorization), (r, c) => parts.authorize.handle(r, c.address)],
      [path(e.token), (r) => this.#cors(r, () => this.#token(r))],
      [path(e.registration), (r, c) => this.#cors(r, () => this.#register(r, c.address))],
      [path(e.revocation), (r) => this.#cors(r, () => this.#revoke(r))],
    ]);
  }

  async route(request: Request, client: AuthorizerClient): Promise<Response | null> {
    const handler = this.#paths.get(new URL(request.url).pathname);
    if (!handler) return null;
    try {
      return await handler(request, client);
    } catch (e) {
      this.#o.onError?.(e instanceof Error ? e : new Error(String(e)));
      const description = "The authorization server failed; the owner finds why in its log";
      return Response.json({ error: "server_error", error_description: description }, {
        status: 500,
        headers: { "Cache-Control": "no-store" },
      });
    }
  }

  async check(request: Request): Promise<string | Response> {
    const header = request.headers.get("authorization");
    if (header === null) return this.#challenge(401, {});
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match) {
      return this.#challenge(401, {
        error: "invalid_token",
        description: "The Authorization header is not a Bearer token",
      });
    }
    let grant;
    try {
      grant = await this.#p.tokens.verifyAccess(match[1], this.#e.resource);
    } catch (e) {
      if (!(e instanceof OAuthError)) return this.#failed(e);
      return this.#challenge(401, { error: "invalid_token", description: e.message });
    }
    this.#lastFailure = undefined;
    if (!grant.scope.split(" ").includes(SCOPE)) {
      return this.#challenge(403, {
        error: "insufficient_scope",
        description: `The access token lacks the scope "${SCOPE}"`,
        scope: SCOPE,
      });
    }
    return `oauth:${grant.family}`;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * An MCP request that could not be checked (an unreadable tokens.json): told to the owner
   * once while it keeps failing alike (the message names the file and the fix), a 500 to the
   * client.
   */
  #failed(e: unknown): Response {
    const error = e instanceof Error ? e : new Error(String(e));
    if (error.message !== this.#lastFailure) this.#o.onError?.(error);
    this.#lastFailure = error.message;
    return Response.json(
      { jsonrpc: "2.0", error: { code: -32603, message: "Internal error" }, id: null },
      { status: 500, headers: { "Cache-Control": "no-store" } },
    );
  }

  #challenge(
    status: number,
    c: { error?: "invalid_token" | "insufficient_scope"; description?: string; scope?: string },
  ): Response {
    const body = c.error
      ? { error: c.error, error_description: c.description }
      : { error: "unauthorized", error_description: "Sign in: this MCP server requires OAuth" };
    return Response.json(body, {
      status,
      headers: {
        "WWW-Authenticate": wwwAuthenticate(this.#o.publicUrl, c),
        "Cache-Control": "no-store",
      },
    });
  }

  #resourceMetadata(): unknown {
    return protectedResourceMetadata(this.#o.publicUrl, {
      scopes: [SCOPE],
      resourceName: this.#o.serverName,
    });
  }

  #serverMetadata(): unknown {
    return {
      ...authorizationServerMetadata(this.#o.publicUrl, { scopes: [SCOPE] }),
      authorization_response_iss_parameter_supported: true,
    };
  }

  #document(request: Request, doc: unknown): Promise<Response> {
    return this.#cors(request, () => {
      if (request.method !== "GET" && request.method !== "HEAD") return notAllowed("GET");
      return Promise.resolve(Response.json(doc, { headers: { "Cache-Control": "max-age=300" } }));
    });
  }

  /** CORS for browser clients: any origin may read, never with credentials. */
  async #cors(request: Request, handle: () => Promise<Response>): Promise<Response> {
    const origin = request.headers.get("origin");
    const response = request.method === "OPTIONS"
      ? new Response(null, {
        status: 204,
        headers: {
          "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
          "Access-Control-Allow-Headers": "Content-Type, Authorization, MCP-Protocol-Version",
          "Access-Control-Max-Age": "600",
        },
      })
      : await handle();
    if (origin !== null) {
      response.headers.set("Access-Control-Allow-Origin", origin);
      response.headers.append("Vary", "Origin");
    }
    return response;
  }

  async #token(request: Request): Promise<Response> {
    if (request.method !== "POST") return notAllowed("POST");
    return await this.#oauthJson(async () => {
      const form = await readForm(request);
      const clientId = form.get("client_id");
      if (!clientId) throw new OAuthError("invalid_request", "The client_id parameter is missing");
      const client = await this.#p.clients.find(clientId);
      if (!client) {
        throw new OAuthError(
          "invalid_client",
          `The client "${clientId}" is not registered here; register again`,
        );
      }
      const resource = form.get("resource");
      if (resource !== null && resource !== this.#e.resource) {
        throw new OAuthError(
          "invalid_target",
          `This server issues tokens only for "${this.#e.resource}"`,
        );
      }
      const scope = form.get("scope");
      if (scope !== null && scope.split(" ").some((s) => s && s !== SCOPE)) {
        throw new OAuthError("invalid_scope", `Only the scope "${SCOPE}" is supported`);
      }
      const grantType = form.get("grant_type");
      let body;
      if (grantType === "authorization_code") {
        const grant = await this.#p.codes.redeem(form.get("code") ?? "", {
          clientId,
          redirectUri: form.get("redirect_uri"),
          codeVerifier: form.get("code_verifier"),
          resource,
        });
        body = await this.#p.tokens.issue(grant);
      } else if (grantType === "refresh_token") {
        if (!client.metadata.grant_types.includes("refresh_token")) {
          throw new OAuthError(
            "unauthorized_client",
            'The client did not register the "refresh_token" grant type',
          );
        }
        body = await this.#p.tokens.rotate(form.get("refresh_token") ?? "", clientId);
      } else {
        throw new OAuthError(
          "unsupported_grant_type",
          `The grant type "${
            grantType ?? ""
          }" is not supported; use authorization_code or refresh_token`,
        );
      }
      await this.#p.clients.markUsed(clientId);
      await this.#sweep();
      return Response.json(body, { headers: NO_STORE });
    });
  }

  async #register(request: Request, address: string): Promise<Response> {
    if (request.method !== "POST") return notAllowed("POST");
    return await this.#oauthJson(async () => {
      const text = await readCapped(request, MAX_CLIENT_METADATA_BYTES);
      if (text === null) {
        throw new OAuthError(
          "invalid_client_metadata",
          `The registration request exceeds ${MAX_CLIENT_METADATA_BYTES} bytes`,
        );
      }
      const client = await this.#p.clients.register(parseRegistrationRequest(text), address);
      return Response.json(client, { status: 201, headers: NO_STORE });
    });
  }

  async #revoke(request: Request): Promise<Response> {
    if (request.method !== "POST") return notAllowed("POST");
    return await this.#oauthJson(async () => {
      const form = await readForm(request);
      const token = form.get("token");
      if (!token) throw new OAuthError("invalid_request", "The token parameter is missing");
      // Unknown tokens are answered alike (RFC 7009 §2.2): nothing to learn from the answer.
      await this.#p.tokens.revoke(token);
      return new Response(null, { status: 200, headers: NO_STORE });
    });
  }

  async #oauthJson(handle: () => Promise<Response>): Promise<Response> {
    try {
      return await handle();
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      return Response.json(e.toJSON(), { status: e.status, headers: NO_STORE });
    }
  }

  async #sweep(): Promise<void> {
    if (this.#p.now() - this.#lastSweep < SWEEP_EVERY_MS) return;
    this.#lastSweep = this.#p.now();
    await this.#p.tokens.sweep();
  }
}

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

function notAllowed(allow: string): Promise<Response> {
  return Promise.resolve(
    new Response("Method not allowed", { status: 405, headers: { Allow: allow } }),
  );
}

async function readForm(request: Request): Promise<URLSearchParams> {
  const type = request.headers.get("content-type")?.toLowerCase() ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    throw new OAuthError(
      "invalid_request",
      "The request must be form-encoded (application/x-www-form-urlencoded)",
    );
  }
  const text = await readCapped(request, MAX_FORM_BYTES);
  if (text === null) {
    throw new OAuthError("invalid_request", `The request exceeds ${MAX_FORM_BYTES} bytes`);
  }
  const form = new URLSearchParams(text);
  for (const key of new Set(form.keys())) {
    if (form.getAll(key).length > 1) {
      throw new OAuthError("invalid_request", `The parameter "${key}" is repeated`);
    }
  }
  return form;
}
