// Authorization codes: single use, short-lived, bound to client, redirect URI, PKCE challenge
// and resource.
import { sha256Hex } from "../sandbox/_tree_digest.ts";
import { randomToken } from "./_bytes.ts";
import { OAuthError } from "./oauth_error.ts";
import { verifyPkce } from "./pkce.ts";

/** What an authorization code was issued for. */
export interface CodeGrant {
  /** The client that asked. */
  clientId: string;
  /** The exact redirect URI of the authorization request. */
  redirectUri: string;
  /** The S256 code challenge (checked with {@linkcode checkPkceChallenge} first). */
  codeChallenge: string;
  /** The resource (audience) the tokens will be for. */
  resource: string;
  /** The granted scope. */
  scope: string;
}

/** A redeemed code: its grant and the token family to issue into. */
export interface RedeemedCode extends CodeGrant {
  /** The family of the tokens issued from this code; revoked if the code is replayed. */
  family: string;
}

/** What the token endpoint received with the code. */
export interface CodeRedemption {
  /** The `client_id` parameter. */
  clientId: string;
  /** The `redirect_uri` parameter. */
  redirectUri: string | null | undefined;
  /** The `code_verifier` parameter. */
  codeVerifier: string | null | undefined;
  /** The `resource` parameter (RFC 8707), if sent. */
  resource?: string | null;
}

/** Options for {@link AuthorizationCodes}. */
export interface AuthorizationCodesOptions {
  /** Code lifetime in ms (default 60 s). */
  ttlMs?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
  /** Called with the family of the tokens issued from a code that is presented again. */
  onReplay?: (family: string) => Promise<unknown>;
}

interface Entry {
  grant: CodeGrant;
  family: string;
  expiresAt: number;
  used: boolean;
}

/**
 * The authorization codes awaiting exchange, in memory (a restart only makes a pending sign-in
 * start over). Codes are stored hashed. A code presented twice is refused and the tokens issued
 * from it are revoked through `onReplay` (RFC 6749 §4.1.2).
 *
 * @example
 * ```ts
 * import { AuthorizationCodes } from "./codes.ts";
 * const codes = new AuthorizationCodes();
 * const code = await codes.issue({
 *   clientId: "c",
 *   redirectUri: "http://127.0.0.1:3000/cb",
 *   codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
 *   resource: "https://mcp.example.com/mcp",
 *   scope: "mcp",
 * });
 * const grant = await codes.redeem(code, {
 *   clientId: "c",
 *   redirectUri: "http://127.0.0.1:3000/cb",
 *   codeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
 * });
 * console.log(grant.resource); // https://mcp.example.com/mcp
 * ```
 */
export class AuthorizationCodes {
  #codes = new Map<string, Entry>();
  #ttl: number;
  #now: () => number;
  #onReplay?: (family: string) => Promise<unknown>;

  /**
   * Create an empty set of codes.
   *
   * @param options Lifetime, clock and replay hook.
   */
  constructor(options: AuthorizationCodesOptions = {}) {
    this.#ttl = options.ttlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#onReplay = options.onReplay;
  }

  /**
   * Issue a code for an approved authorization request.
   *
   * @param grant What the code grants.
   * @returns The code, to send to the redirect URI.
   */
  async issue(grant: CodeGrant): Promise<string> {
    this.#sweep();
    const code = randomToken();
    this.#codes.set(await sha256Hex(code), {
      grant: { ...grant },
      family: randomToken(16),
      expiresAt: this.#now() + this.#ttl,
      used: false,
    });
    return code;
  }

  /**
   * Redeem a code at the token endpoint. The code is spent by the first attempt, even a
   * failed one, so a guessed verifier cannot be retried.
   *
   * @param code The `code` parameter.
   * @param request The other parameters of the token request.
   * @returns The grant and the family to issue tokens into.
   * @throws {OAuthError} `invalid_grant` if the code is unknown, expired, already used, issued
   *   to another client, for another redirect URI or resource, or the PKCE verifier does not
   *   match.
   */
  async redeem(code: string, request: CodeRedemption): Promise<RedeemedCode> {
    const entry = this.#codes.get(await sha256Hex(code));
    if (!entry || entry.expiresAt <= this.#now()) {
      throw new OAuthError(
        "invalid_grant",
        "The authorization code is unknown or expired; sign in again",
      );
    }
    if (entry.used) {
      await this.#onReplay?.(entry.family);
      throw new OAuthError(
        "invalid_grant",
        "The authorization code was already used; the tokens issued from it are revoked, sign in again",
      );
    }
    entry.used = true;
    const g = entry.grant;
    if (request.clientId !== g.clientId) {
      throw new OAuthError("invalid_grant", "The authorization code was issued to another client");
    }
    if (request.redirectUri !== g.redirectUri) {
      throw new OAuthError(
        "invalid_grant",
        "The redirect_uri differs from the one of the authorization request; send exactly the same URI",
      );
    }
    if (request.resource != null && request.resource !== g.resource) {
      throw new OAuthError(
        "invalid_grant",
        `The resource "${request.resource}" differs from the authorized "${g.resource}"`,
      );
    }
    await verifyPkce(request.codeVerifier, g.codeChallenge);
    return { ...g, family: entry.family };
  }

  #sweep(): void {
    const now = this.#now();
    for (const [hash, e] of this.#codes) if (e.expiresAt <= now) this.#codes.delete(hash);
  }
}
