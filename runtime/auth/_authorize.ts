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
import { Sealer } from "./_sealed.ts";
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
  /** Read at each sign-in; while it is missing, no code is asked. */
  totpFile?: string;
  totp: TotpVerifier;
  now: () => number;
}

/**
 * Refuses a sign-in file others can read or write (changed while serving): the sign-in then
 * fails, the owner is told the exact chmod. A missing file is left to its reader; the user's own
 * private group may have access (as in `checkStatePrivacy`).
 */
async function checkPrivate(file: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  // The group may read it when it is the user's own private group (gid = uid), as a pod's.
  const gid = Deno.gid();
  const ownGroup = gid !== null && info.gid === gid && gid === Deno.uid();
  if (info.mode !== null && (info.mode & (ownGroup ? 0o007 : 0o077)) !== 0) {
    throw new Error(
      `Cannot check a sign-in with "${file}": it is readable or writable by other users; run ` +
        `\`chmod 600 ${file}\``,
    );
  }
}

/** A sign-in between the consent page and its form: sealed into the form, not kept here. */
interface Pending {
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  resource: string;
  scope: string;
  csrf: string;
  expiresAt: number;
}

const PENDING_TTL_MS = 10 * 60_000;
/** The longest `state` accepted: it travels in the sealed form and back to the client. */
export const MAX_STATE_LENGTH = 1024;
const MAX_FORM_BYTES = 16 * 1024;
const MAX_CHECKING = 4;
const SCOPE = "mcp";

/** Answers GET and POST on the authorization endpoint. */
export class AuthorizeEndpoint {
  #ctx: AuthorizeContext;
  #secure: boolean;
  #sealer = new Sealer();
  /** Forms that signed in, until they expire: each gives one code. Only the owner adds one. */
  #spent = new Map<string, number>();
  #queue: SignInQueue;
  /** Whether the TOTP file existed when last read: the form then asks for a code. */
  #totpOn: boolean;

  constructor(ctx: AuthorizeContext) {
    this.#ctx = ctx;
    this.#totpOn = ctx.totpFile !== undefined;
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
    if (state !== null && state.length > MAX_STATE_LENGTH) {
      return this.#redirect(redirectUri!, {
        error: "invalid_request",
        error_description: `The state parameter exceeds ${MAX_STATE_LENGTH} characters`,
        state: null,
      }, 302);
    }
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
    const pending: Pending = {
      clientId: client.clientId,
      redirectUri: redirectUri!,
      state,
      codeChallenge,
      resource,
      scope: SCOPE,
      csrf: randomToken(),
      expiresAt: this.#ctx.now() + PENDING_TTL_MS,
    };
    await this.#totpSecret(); // the form asks for a code when a TOTP file exists now
    return this.#page(await this.#sealer.seal(pending), pending, client, 200);
  }

  /**
   * The owner's TOTP secret, read at each use (as the passphrase is): one added while serving
   * is asked for at the next sign-in, one removed no longer is. `null` when there is none.
   */
  async #totpSecret(): Promise<Uint8Array | null> {
    if (this.#ctx.totpFile === undefined) return null;
    try {
      await checkPrivate(this.#ctx.totpFile);
      const secret = await readTotpFile(this.#ctx.totpFile);
      this.#totpOn = true;
      return secret;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      this.#totpOn = false;
      return null;
    }
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
    const pending = await this.#sealer.open(id) as Pending | undefined;
    if (!pending || pending.expiresAt <= this.#ctx.now() || this.#spent.has(pending.csrf)) {
      return errorPage(
        400,
        "This sign-in expired, was already completed, or was not started here (or the server restarted); start again from the client",
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
    let client: KnownClient | undefined;
    try {
      client = await this.#ctx.clients.find(pending.clientId);
    } catch (e) {
      if (!(e instanceof OAuthError)) throw e;
      return errorPage(400, e.message);
    }
    if (!client) {
      return errorPage(
        400,
        "The client of this sign-in is no longer registered; start again from the client",
      );
    }
    const action = form.get("action");
    if (action === "deny") {
      return this.#redirect(pending.redirectUri, {
        error: "access_denied",
        error_description: "The owner denied access",
        state: pending.state,
      }, 303);
    }
    if (action !== "approve") return errorPage(400, "Choose Approve or Deny");
    const wait = this.#ctx.lockout.retryAfter(address);
    if (wait > 0) return this.#lockedOut(id, pending, client, wait);
    const outcome = await this.#queue.run(clientKey(address), async () => {
      // Checked again in turn: a failure counted while this one waited may have locked it out.
      const locked = this.#ctx.lockout.retryAfter(address);
      if (locked > 0) return locked;
      await checkPrivate(this.#ctx.passphraseFile);
      const record = await readPassphraseFile(this.#ctx.passphraseFile);
      if (!record) return "unset";
      let ok = await verifyPassphrase(form.get("passphrase") ?? "", record);
      const secret = await this.#totpSecret();
      if (secret !== null) {
        // Checked whatever the passphrase, so the time taken does not tell whether it was
        // right; spent only with a right passphrase.
        const codeOk = await this.#ctx.totp.verify(secret, form.get("totp") ?? "", ok);
        ok = ok && codeOk;
      }
      if (ok) this.#ctx.lockout.succeed(address);
      return ok || this.#ctx.lockout.fail(address);
    });
    if (outcome === undefined) {
      return this.#page(id, pending, client, 429, "Another sign-in is being checked; try again", {
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
      if (outcome.value > 0) return this.#lockedOut(id, pending, client, outcome.value);
      return this.#page(id, pending, client, 403, "Wrong passphrase or code; try again");
    }
    // The same form approved twice at once: only the first gets a code.
    if (this.#spent.has(pending.csrf)) {
      return errorPage(400, "This sign-in was already completed; start again from the client");
    }
    this.#spend(pending);
    const code = await this.#ctx.codes.issue({
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      resource: pending.resource,
      scope: pending.scope,
    });
    return this.#redirect(pending.redirectUri, { code, state: pending.state }, 303);
  }

  #lockedOut(id: string, pending: Pending, client: KnownClient, ms: number): Response {
    const seconds = Math.ceil(ms / 1000);
    return this.#page(
      id,
      pending,
      client,
      429,
      `Too many failed sign-ins from your address; wait ${seconds} s before trying again`,
      { "Retry-After": String(seconds) },
    );
  }

  #page(
    id: string,
    p: Pending,
    client: KnownClient,
    status: number,
    error?: string,
    headers?: Record<string, string>,
  ): Response {
    const html = renderConsentPage({
      serverName: this.#ctx.serverName,
      resource: p.resource,
      clientId: client.clientId,
      clientName: client.metadata.client_name,
      clientSource: client.source,
      redirectUri: p.redirectUri,
      requestId: id,
      csrfToken: p.csrf,
      totp: this.#totpOn,
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

  #spend(pending: Pending): void {
    const now = this.#ctx.now();
    for (const [csrf, expiresAt] of this.#spent) if (expiresAt <= now) this.#spent.delete(csrf);
    this.#spent.set(pending.csrf, pending.expiresAt);
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
