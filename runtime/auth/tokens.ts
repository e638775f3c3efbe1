// Opaque access and refresh tokens: issued at random, stored only as SHA-256 hashes, access
// tokens bound to one resource, refresh tokens rotated on each use with reuse detection.
import { createHash } from "node:crypto";
import { randomToken } from "./_bytes.ts";
import { OAuthError } from "./oauth_error.ts";

// Every authenticated request hashes its token: synchronously, since WebCrypto's digest costs
// ten times more. Lowercase hex, as stored.
function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** One stored token: never the token itself, only its hash and what it grants. */
export interface StoredToken {
  /** SHA-256 of the token, lowercase hex. */
  hash: string;
  /** Access tokens authorize requests; refresh tokens obtain new pairs. */
  kind: "access" | "refresh";
  /** The client the token was issued to. */
  clientId: string;
  /** The resource (audience) the token is valid for. */
  resource: string;
  /** The granted scope, space-separated. */
  scope: string;
  /** The grant all tokens descending from one authorization share; revoked as a whole. */
  family: string;
  /** Expiry, milliseconds since the epoch. */
  expiresAt: number;
  /** For refresh tokens: already exchanged (a second use means it leaked). */
  used?: boolean;
  /** When it was issued, ms since the epoch (absent in files written before it was kept). */
  issuedAt?: number;
  /** When the sign-in its family descends from was made, ms since the epoch (as issuedAt). */
  signedInAt?: number;
}

/** What a {@link TokenStore.edit} change returns: the new token list and a result for the caller. */
export interface TokenEdit<T> {
  /** Every token to keep, replacing the current list. */
  tokens: StoredToken[];
  /** What the caller learns. */
  result: T;
}

/**
 * Where tokens are kept. The service calls only these methods, so a memory map, a JSON file
 * or a database plug in alike.
 */
export interface TokenStore {
  /**
   * Find a token by hash.
   *
   * @param hash The token's SHA-256, hex.
   * @returns The token, or undefined.
   */
  get(hash: string): Promise<StoredToken | undefined>;
  /**
   * Add or replace a token.
   *
   * @param token The token to store.
   * @returns Once stored.
   */
  put(token: StoredToken): Promise<void>;
  /**
   * Change the tokens in one atomic step (for a file: one locked read and write), so issuing a
   * pair, or claiming a refresh token and issuing its successor, is all or nothing and of two
   * concurrent exchanges of one refresh token exactly one sees it unused.
   *
   * @param change Given the current tokens (copies), returns the tokens to keep and a result.
   * @returns The change's result.
   */
  edit<T>(change: (tokens: StoredToken[]) => TokenEdit<T>): Promise<T>;
  /**
   * Every stored token.
   *
   * @returns Copies of the tokens, in no particular order.
   */
  list(): Promise<StoredToken[]>;
  /**
   * Delete every token `match` selects (expired ones, a revoked family).
   *
   * @param match Selects the tokens to delete.
   * @returns How many were deleted.
   */
  deleteWhere(match: (token: StoredToken) => boolean): Promise<number>;
}

/**
 * A {@link TokenStore} in memory; state is lost when the process ends.
 *
 * @example
 * ```ts
 * import { MemoryTokenStore, TokenService } from "./tokens.ts";
 * const tokens = new TokenService(new MemoryTokenStore());
 * ```
 */
export class MemoryTokenStore implements TokenStore {
  #tokens = new Map<string, StoredToken>();

  /**
   * Find a token by hash.
   *
   * @param hash The token's SHA-256, hex.
   * @returns A copy of the token, or undefined.
   */
  get(hash: string): Promise<StoredToken | undefined> {
    const t = this.#tokens.get(hash);
    return Promise.resolve(t && { ...t });
  }

  /**
   * Add or replace a token.
   *
   * @param token The token to store.
   * @returns Once stored.
   */
  put(token: StoredToken): Promise<void> {
    this.#tokens.set(token.hash, { ...token });
    return Promise.resolve();
  }

  /**
   * Change the tokens in one step.
   *
   * @param change Given copies of the tokens, returns the tokens to keep and a result.
   * @returns The change's result.
   */
  edit<T>(change: (tokens: StoredToken[]) => TokenEdit<T>): Promise<T> {
    const { tokens, result } = change([...this.#tokens.values()].map((t) => ({ ...t })));
    this.#tokens = new Map(tokens.map((t) => [t.hash, { ...t }]));
    return Promise.resolve(result);
  }

  /**
   * Every stored token.
   *
   * @returns Copies of the tokens.
   */
  list(): Promise<StoredToken[]> {
    return Promise.resolve([...this.#tokens.values()].map((t) => ({ ...t })));
  }

  /**
   * Delete every token `match` selects.
   *
   * @param match Selects the tokens to delete.
   * @returns How many were deleted.
   */
  deleteWhere(match: (token: StoredToken) => boolean): Promise<number> {
    let n = 0;
    for (const [hash, t] of this.#tokens) if (match(t) && this.#tokens.delete(hash)) n++;
    return Promise.resolve(n);
  }
}

/** What a client receives from the token endpoint (RFC 6749 §5.1). */
export interface TokenResponse {
  /** The opaque access token. */
  access_token: string;
  /** Always `Bearer`. */
  token_type: "Bearer";
  /** Seconds until the access token expires. */
  expires_in: number;
  /** The refresh token; each use returns a new one and retires this one. */
  refresh_token: string;
  /** The granted scope. */
  scope: string;
}

/** What a valid access token grants. */
export interface AccessGrant {
  /** The client the token was issued to. */
  clientId: string;
  /** The granted scope. */
  scope: string;
  /** Expiry, milliseconds since the epoch. */
  expiresAt: number;
  /** The token family: one sign-in, stable across refresh rotation (a session principal). */
  family: string;
}

/** One sign-in as `mcp-run tokens list` shows it: a token family, without any token. */
export interface GrantSummary {
  /** The family id, what {@linkcode TokenService.revokeFamily} takes. */
  family: string;
  /** The client. */
  clientId: string;
  /** The resource the tokens are for. */
  resource: string;
  /** The granted scope. */
  scope: string;
  /** When the family's unused refresh token expires, ms since the epoch (0 if none is left). */
  refreshExpiresAt: number;
  /** When its newest access token expires, ms since the epoch (0 if none is left). */
  accessExpiresAt: number;
  /** When the owner signed in, ms since the epoch (0 if not recorded). */
  signedInAt: number;
  /** When its newest tokens were issued (the last refresh), ms since the epoch (0 if not recorded). */
  refreshedAt: number;
}

/** Options for {@link TokenService}. */
export interface TokenServiceOptions {
  /** Access token lifetime in ms (default 1 hour). */
  accessTtlMs?: number;
  /** Refresh token lifetime in ms (default 30 days). */
  refreshTtlMs?: number;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

/** What an issued pair is for. */
export interface GrantRequest {
  /** The client. */
  clientId: string;
  /** The resource (audience), the MCP endpoint's public URL. */
  resource: string;
  /** The granted scope, space-separated. */
  scope: string;
  /** The family to issue into (the authorization code's), default a new one. */
  family?: string;
}

/**
 * Issue, verify, rotate and revoke tokens over a {@link TokenStore}. Tokens are 256 random
 * bits; only their SHA-256 is stored, so a leaked store yields no usable token.
 *
 * @example
 * ```ts
 * import { MemoryTokenStore, TokenService } from "./tokens.ts";
 * const tokens = new TokenService(new MemoryTokenStore());
 * const resource = "https://mcp.example.com/mcp";
 * const pair = await tokens.issue({ clientId: "c", resource, scope: "mcp" });
 * const grant = await tokens.verifyAccess(pair.access_token, resource);
 * console.log(grant.clientId); // c
 * ```
 */
export class TokenService {
  #store: TokenStore;
  #accessTtl: number;
  #refreshTtl: number;
  #now: () => number;

  /**
   * Create the service.
   *
   * @param store Where tokens are kept.
   * @param options Lifetimes and clock.
   */
  constructor(store: TokenStore, options: TokenServiceOptions = {}) {
    this.#store = store;
    this.#accessTtl = options.accessTtlMs ?? 60 * 60_000;
    this.#refreshTtl = options.refreshTtlMs ?? 30 * 24 * 60 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Issue a new access and refresh token pair, in the grant's family or a new one.
   *
   * @param grant The client, resource and scope.
   * @returns The token response.
   */
  async issue(grant: GrantRequest): Promise<TokenResponse> {
    return await this.#issue(grant, grant.family ?? randomToken(16));
  }

  /**
   * Check an access token from an `Authorization: Bearer` header for this resource.
   *
   * @param token The token.
   * @param resource The resource being accessed (the MCP endpoint's public URL).
   * @returns What the token grants.
   * @throws {OAuthError} `invalid_token` if unknown, expired, not an access token, or issued
   *   for another resource.
   */
  async verifyAccess(token: string, resource: string): Promise<AccessGrant> {
    const t = await this.#store.get(await sha256Hex(token));
    if (!t || t.kind !== "access") {
      throw new OAuthError(
        "invalid_token",
        "The access token is unknown or revoked; sign in again",
      );
    }
    if (t.expiresAt <= this.#now()) {
      throw new OAuthError("invalid_token", "The access token expired; refresh it");
    }
    if (t.resource !== resource) {
      throw new OAuthError(
        "invalid_token",
        `The access token was issued for "${t.resource}", not this resource; request a token with resource="${resource}"`,
      );
    }
    return { clientId: t.clientId, scope: t.scope, expiresAt: t.expiresAt, family: t.family };
  }

  /**
   * Exchange a refresh token for a new pair (RFC 6749 §6), retiring it. Presenting a retired
   * refresh token again means it was copied: the whole family is revoked, so both the thief
   * and the legitimate client must sign in again (OAuth 2.1 §4.3.1).
   *
   * @param refreshToken The refresh token.
   * @param clientId The client presenting it.
   * @returns The new token response.
   * @throws {OAuthError} `invalid_grant` if unknown, expired, reused, or issued to another client
   *   (the last two revoke the family).
   */
  async rotate(refreshToken: string, clientId: string): Promise<TokenResponse> {
    const hash = await sha256Hex(refreshToken);
    const next = await this.#newPair();
    const now = this.#now();
    // Claiming the token, issuing its successor or revoking its family: one locked edit.
    const outcome = await this.#store.edit<RotateOutcome>((tokens) => {
      const t = tokens.find((x) => x.hash === hash);
      if (!t || t.kind !== "refresh") return { tokens, result: "unknown" };
      const revoked = tokens.filter((x) => x.family !== t.family);
      // A second use means it was copied; another client holding it means it leaked.
      if (t.used) return { tokens: revoked, result: "reused" };
      if (t.clientId !== clientId) return { tokens: revoked, result: "other client" };
      if (t.expiresAt <= now) return { tokens, result: "expired" };
      const claimed = tokens.map((x) => x === t ? { ...x, used: true } : x);
      const signedIn = t.signedInAt;
      return { tokens: [...claimed, ...this.#stored(next, t, t.family, now, signedIn)], result: t };
    });
    if (outcome === "unknown") {
      throw new OAuthError(
        "invalid_grant",
        "The refresh token is unknown or revoked; sign in again",
      );
    }
    if (outcome === "reused") {
      throw new OAuthError(
        "invalid_grant",
        "The refresh token was already used, so it may have been copied; every token of this sign-in is revoked, sign in again",
      );
    }
    if (outcome === "other client") {
      throw new OAuthError(
        "invalid_grant",
        "The refresh token was issued to another client; every token of that sign-in is revoked",
      );
    }
    if (outcome === "expired") {
      throw new OAuthError("invalid_grant", "The refresh token expired; sign in again");
    }
    return this.#response(next, outcome.scope);
  }

  /**
   * Revoke a token and every token of its family (RFC 7009). Unknown tokens are ignored, as
   * the RFC requires.
   *
   * @param token An access or refresh token.
   * @returns How many tokens were deleted.
   */
  async revoke(token: string): Promise<number> {
    const t = await this.#store.get(await sha256Hex(token));
    return t ? await this.revokeFamily(t.family) : 0;
  }

  /**
   * Revoke every token of a family, such as the one issued from a replayed authorization code.
   *
   * @param family The family.
   * @returns How many tokens were deleted.
   */
  async revokeFamily(family: string): Promise<number> {
    return await this.#store.deleteWhere((t) => t.family === family);
  }

  /**
   * The live sign-ins, one per token family, newest refresh expiry first. Expired tokens are
   * not counted.
   *
   * @returns The summaries.
   */
  async grants(): Promise<GrantSummary[]> {
    const now = this.#now();
    const families = new Map<string, GrantSummary>();
    for (const t of await this.#store.list()) {
      if (t.expiresAt <= now || t.used) continue;
      const g = families.get(t.family) ?? {
        family: t.family,
        clientId: t.clientId,
        resource: t.resource,
        scope: t.scope,
        refreshExpiresAt: 0,
        accessExpiresAt: 0,
        signedInAt: 0,
        refreshedAt: 0,
      };
      g.signedInAt = Math.max(g.signedInAt, t.signedInAt ?? 0);
      g.refreshedAt = Math.max(g.refreshedAt, t.issuedAt ?? 0);
      if (t.kind === "refresh") g.refreshExpiresAt = Math.max(g.refreshExpiresAt, t.expiresAt);
      else g.accessExpiresAt = Math.max(g.accessExpiresAt, t.expiresAt);
      families.set(t.family, g);
    }
    return [...families.values()].sort((a, b) => b.refreshExpiresAt - a.refreshExpiresAt);
  }

  /**
   * Delete expired tokens (used refresh tokens are kept until they expire, to detect reuse).
   *
   * @returns How many were deleted.
   */
  async sweep(): Promise<number> {
    const now = this.#now();
    return await this.#store.deleteWhere((t) => t.expiresAt <= now);
  }

  async #issue(grant: GrantRequest, family: string): Promise<TokenResponse> {
    const pair = await this.#newPair();
    const now = this.#now();
    await this.#store.edit((tokens) => ({
      tokens: [...tokens, ...this.#stored(pair, grant, family, now)],
      result: undefined,
    }));
    return this.#response(pair, grant.scope);
  }

  /** A new random pair and the hashes it is stored under. */
  async #newPair(): Promise<NewPair> {
    const access = `mcpr_at_${randomToken()}`;
    const refresh = `mcpr_rt_${randomToken()}`;
    return {
      access,
      refresh,
      accessHash: await sha256Hex(access),
      refreshHash: await sha256Hex(refresh),
    };
  }

  #stored(
    pair: NewPair,
    grant: Pick<StoredToken, "clientId" | "resource" | "scope">,
    family: string,
    now: number,
    signedInAt: number | undefined = now,
  ): StoredToken[] {
    const base = {
      clientId: grant.clientId,
      resource: grant.resource,
      scope: grant.scope,
      family,
      issuedAt: now,
      ...(signedInAt === undefined ? {} : { signedInAt }),
    };
    return [
      { ...base, hash: pair.accessHash, kind: "access", expiresAt: now + this.#accessTtl },
      { ...base, hash: pair.refreshHash, kind: "refresh", expiresAt: now + this.#refreshTtl },
    ];
  }

  #response(pair: NewPair, scope: string): TokenResponse {
    return {
      access_token: pair.access,
      token_type: "Bearer",
      expires_in: Math.floor(this.#accessTtl / 1000),
      refresh_token: pair.refresh,
      scope,
    };
  }
}

type RotateOutcome = "unknown" | "reused" | "other client" | "expired" | StoredToken;

interface NewPair {
  access: string;
  refresh: string;
  accessHash: string;
  refreshHash: string;
}
