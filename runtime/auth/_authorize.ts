// The authorization endpoint: validate the request, show the sign-in and consent page, check the
// owner's passphrase (and TOTP code) under lockout, and send the code or the error back.
import { equalText, randomToken } from "./_bytes.ts";
import type { AuthorizationCodes } from "./codes.ts";
import type { ClientStore, KnownClient } from "./client_store.ts";
import {
  consentCookie,
  consentCookieName,
  pageResponse,
  readConsentCookie,
  renderConsentPage,
  renderErrorPage,
} from "./consent_page.ts";
import { clientKey } from "../http/_client_address.ts";
import type { SignInLockout } from "./lockout.ts";
import { SignInQueue } from "./_sign_in_queue.ts";
import type { AuthEndpoints } from "./metadata.ts";
import { OAuthError, type OAuthErrorCode } from "./oauth_error.ts";
import { readPassphraseFile, verifyPassphrase } from "./passphrase.ts";
import { checkPkceChallenge } from "./pkce.ts";
import { redirectUriAllowed } from "./registration.ts";
import { readTotpFile, type TotpVerifier } from "./totp.ts";

/** What the authorization endpoint needs from the server around it. */
export interface AuthorizeContext {
  endpoints: AuthEndpoints;
  serverName: string;
  clients: ClientStore;
  codes: AuthorizationCodes;
  lockout: SignInLockout;
  passphraseFile: string;
  totpFile?: string;
  totp: TotpVerifier;
  now: () => number;
}

interface Pending {
  client: KnownClient;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: string;
  scope: string;
  csrf: string;
  expiresAt: number;
}

const PENDING_TTL_MS = 10 * 60_000;
const MAX_PENDING = 1000;
const MAX_FORM_BYTES = 8192;
const MAX_CHECKING = 4;
const SCOPE = "mcp";

/** Answers GET and POST on the authorization endpoint. */
export class AuthorizeEndpoint {
  #ctx: AuthorizeContext;
  #secure: boolean;
  #pending = new Map<string, Pending>();
  #queue: SignInQueue;

  constructor(ctx: AuthorizeContext) {
    this.#ctx = ctx;
    this.#queue = new SignInQueue({ slots: MAX_CHECKING, pace: () => ctx.lockout.pace() });
    this.#secure = ctx.endpoints.issuer.startsWith("https:");
  }

  /** Handle one request to the authorization endpoint. */
  async handle(request: Request, address: string): Promise<Response> {
    if (request.method === "GET") return await this.#start(new URL(request.url).searchParams);
    if (request.method === "POST") return await this.#submit(request, address);
    return new Response("Method not allowed", { status: 405, headers: { Allow: "GET, POST" } });
  }

  async #start(params: URLSearchParams): Promise<Response> {
    const duplicate = [...new Set(params.keys())].find((k) => params.getAll(k).length > 1);
    if (duplicate) return errorPage(400, `The parameter "${duplicate}" is repeated`);
    const clientId = params.get("client_id");
    if (!clientId) {
      return errorPage(400, "The request has no client_id; start again from the client");
    }
    let client: KnownClient | undefined;
    try {
      client = await this.#ctx.clients.find(clientId);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      return errorPage(400, e.message);
    }
    if (!client) {
      return errorPage(
        400,
        `The client "${clientId}" is not registered here (registrations are bounded, so an old one may have been forgotten); remove and add the connector again`,
      );
    }
    const redirectUri = params.get("redirect_uri");
    if (!redirectUriAllowed(client.metadata.redirect_uris, redirectUri)) {
      // Never redirect to an unregistered URI: that would make this server an open redirector.
      return errorPage(
        400,
        `The redirect URI "${
          redirectUri ?? ""
        }" is not one the client registered; nothing was sent to it`,
      );
    }
    const state = params.get("state");
    const back = (code: OAuthErrorCode, description: string) =>
      this.#redirect(redirectUri!, { error: code, error_description: description, state }, 302);
    if (params.get("response_type") !== "code") {
      return back("unsupported_response_type", 'Only response_type "code" is supported');
    }
    let codeChallenge: string;
    try {
      codeChallenge = checkPkceChallenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
      );
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      return back(e.code, e.message);
    }
    const resource = params.get("resource") ?? this.#ctx.endpoints.resource;
    if (resource !== this.#ctx.endpoints.resource) {
      return back(
        "invalid_target",
        `This server issues tokens only for "${this.#ctx.endpoints.resource}"`,
      );
    }
    const scopes = (params.get("scope") ?? SCOPE).split(" ").filter(Boolean);
    if (scopes.some((s) => s !== SCOPE)) {
      return back("invalid_scope", `Only the scope "${SCOPE}" is supported`);
    }
    const id = randomToken(16);
    const pending: Pending = {
      client,
      redirectUri: redirectUri!,
      state,
      codeChallenge,
      resource,
      scope: SCOPE,
      csrf: randomToken(),
      expiresAt: this.#ctx.now() + PENDING_TTL_MS,
    };
    this.#remember(id, pending);
    return this.#page(id, pending, 200);
  }

  async #submit(request: Request, address: string): Promise<Response> {
    const origin = request.headers.get("origin");
    if (origin !== null && origin !== this.#ctx.endpoints.issuer) {
      return errorPage(403, "The form was posted from another site; start again from the client");
    }
    if (
      !request.headers.get("content-type")?.toLowerCase().startsWith(
        "application/x-www-form-urlencoded",
      )
    ) {
      return errorPage(415, "The sign-in form must be posted as a form");
    }
    const text = await readCapped(request, MAX_FORM_BYTES);
    if (text === null) return errorPage(413, "The sign-in form is too large");
    const form = new URLSearchParams(text);
    const id = form.get("request") ?? "";
    const pending = this.#pending.get(id);
    if (!pending || pending.expiresAt <= this.#ctx.now()) {
      this.#pending.delete(id);
      return errorPage(
        400,
        "This sign-in expired or was already completed; start again from the client",
      );
    }
    const cookie = readConsentCookie(request, this.#secure);
    if (
      !cookie || !equalText(cookie, pending.csrf) || !equalText(form.get("csrf") ?? "", cookie)
    ) {
      return errorPage(
        403,
        "The form did not come from the sign-in page shown in this browser (CSRF check failed); start again from the client",
      );
    }
    const action = form.get("action");
    if (action === "deny") {
      this.#pending.delete(id);
      return this.#redirect(pending.redirectUri, {
        error: "access_denied",
        error_description: "The owner denied access",
        state: pending.state,
      }, 303);
    }
    if (action !== "approve") return errorPage(400, "Choose Approve or Deny");
    const wait = this.#ctx.lockout.retryAfter(address);
    if (wait > 0) return this.#lockedOut(id, pending, wait);
    const outcome = await this.#queue.run(clientKey(address), async () => {
      // Checked again in turn: a failure counted while this one waited may have locked it out.
      const locked = this.#ctx.lockout.retryAfter(address);
      if (locked > 0) return locked;
      const record = await readPassphraseFile(this.#ctx.passphraseFile);
      if (!record) return "unset";
      let ok = await verifyPassphrase(form.get("passphrase") ?? "", record);
      if (this.#ctx.totpFile) {
        const secret = await readTotpFile(this.#ctx.totpFile);
        ok = ok && await this.#ctx.totp.verify(secret, form.get("totp") ?? "");
      }
      if (ok) this.#ctx.lockout.succeed(address);
      return ok || this.#ctx.lockout.fail(address);
    });
    if (outcome === undefined) {
      return this.#page(id, pending, 429, "Another sign-in is being checked; try again", {
        "Retry-After": "2",
      });
    }
    if (outcome.value === "unset") {
      return errorPage(
        503,
        "No owner passphrase is set on this server; run `mcp-run serve --set-passphrase` there",
      );
    }
    if (outcome.value !== true) {
      if (outcome.value > 0) return this.#lockedOut(id, pending, outcome.value);
      return this.#page(id, pending, 403, "Wrong passphrase or code; try again");
    }
    this.#pending.delete(id);
    const code = await this.#ctx.codes.issue({
      clientId: pending.client.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      resource: pending.resource,
      scope: pending.scope,
    });
    return this.#redirect(pending.redirectUri, { code, state: pending.state }, 303);
  }

  #lockedOut(id: string, pending: Pending, ms: number): Response {
    const seconds = Math.ceil(ms / 1000);
    return this.#page(
      id,
      pending,
      429,
      `Too many failed sign-ins from your address; wait ${seconds} s before trying again`,
      { "Retry-After": String(seconds) },
    );
  }

  #page(
    id: string,
    p: Pending,
    status: number,
    error?: string,
    headers?: Record<string, string>,
  ): Response {
    const html = renderConsentPage({
      serverName: this.#ctx.serverName,
      resource: p.resource,
      clientId: p.client.clientId,
      clientName: p.client.metadata.client_name,
      clientSource: p.client.source,
      redirectUri: p.redirectUri,
      requestId: id,
      csrfToken: p.csrf,
      totp: this.#ctx.totpFile !== undefined,
      error,
    });
    const maxAge = Math.max(1, Math.ceil((p.expiresAt - this.#ctx.now()) / 1000));
    return pageResponse(html, {
      status,
      cookie: consentCookie(p.csrf, this.#secure, maxAge),
      headers,
      redirectUri: p.redirectUri,
    });
  }

  #redirect(uri: string, params: Record<string, string | null>, status: number): Response {
    const url = new URL(uri);
    for (const [k, v] of Object.entries(params)) if (v !== null) url.searchParams.append(k, v);
    url.searchParams.append("iss", this.#ctx.endpoints.issuer);
    const headers = new Headers({
      Location: url.href,
      "Cache-Control": "no-store",
      "Referrer-Policy": "no-referrer",
    });
    // The consent cookie is spent either way.
    headers.append(
      "Set-Cookie",
      `${consentCookieName(this.#secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${
        this.#secure ? "; Secure" : ""
      }`,
    );
    return new Response(null, { status, headers });
  }

  #remember(id: string, pending: Pending): void {
    const now = this.#ctx.now();
    for (const [k, p] of this.#pending) if (p.expiresAt <= now) this.#pending.delete(k);
    this.#pending.set(id, pending);
    while (this.#pending.size > MAX_PENDING) {
      this.#pending.delete(this.#pending.keys().next().value!);
    }
  }
}

function errorPage(status: number, message: string): Response {
  return pageResponse(renderErrorPage("Cannot sign in", message), { status });
}

/**
 * Read a request body as text, or null if it exceeds `max` bytes (the rest is not read).
 *
 * @param request The request.
 * @param max The cap, in bytes.
 * @returns The text, or null when too large.
 */
export async function readCapped(request: Request, max: number): Promise<string | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    parts.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}
