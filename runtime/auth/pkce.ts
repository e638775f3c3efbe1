// PKCE (RFC 7636), S256 only: the checks on the challenge at authorization and the verifier at
// the token endpoint.
import { base64url, equalText, sha256 } from "./_bytes.ts";
import { OAuthError } from "./oauth_error.ts";

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Check the `code_challenge` and `code_challenge_method` of an authorization request. Only
 * S256 is accepted: `plain` would let anyone who sees the request redeem the code.
 *
 * @param challenge The `code_challenge` parameter.
 * @param method The `code_challenge_method` parameter.
 * @returns The challenge, checked.
 * @throws {OAuthError} `invalid_request` if the challenge is missing or malformed, or the
 *   method is not S256.
 * @example
 * ```ts
 * import { checkPkceChallenge } from "./pkce.ts";
 * checkPkceChallenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "S256");
 * ```
 */
export function checkPkceChallenge(
  challenge: string | null | undefined,
  method: string | null | undefined,
): string {
  if (method !== "S256") {
    throw new OAuthError(
      "invalid_request",
      `Cannot accept code_challenge_method "${
        method ?? ""
      }": only S256 is supported; send the SHA-256 of the verifier, base64url-encoded`,
    );
  }
  if (!challenge || !CHALLENGE.test(challenge)) {
    throw new OAuthError(
      "invalid_request",
      "Cannot accept the code_challenge: it must be 43 base64url characters (an S256 hash)",
    );
  }
  return challenge;
}

/**
 * Compute the S256 challenge of a verifier: base64url(SHA-256(verifier)).
 *
 * @param verifier The `code_verifier`.
 * @returns The challenge.
 * @example
 * ```ts
 * import { pkceChallenge } from "./pkce.ts";
 * console.log(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
 * // E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
 * ```
 */
export async function pkceChallenge(verifier: string): Promise<string> {
  return base64url(await sha256(verifier));
}

/**
 * Check a `code_verifier` against the challenge stored with the authorization code, in
 * constant time.
 *
 * @param verifier The `code_verifier` sent to the token endpoint.
 * @param challenge The S256 challenge from the authorization request.
 * @returns Nothing when they match.
 * @throws {OAuthError} `invalid_grant` if the verifier is missing, malformed or does not match.
 * @example
 * ```ts
 * import { verifyPkce } from "./pkce.ts";
 * await verifyPkce(
 *   "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
 *   "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
 * );
 * ```
 */
export async function verifyPkce(
  verifier: string | null | undefined,
  challenge: string,
): Promise<void> {
  if (!verifier || !VERIFIER.test(verifier)) {
    throw new OAuthError(
      "invalid_grant",
      "Cannot accept the code_verifier: it must be 43 to 128 unreserved characters (RFC 7636 §4.1)",
    );
  }
  if (!equalText(await pkceChallenge(verifier), challenge)) {
    throw new OAuthError(
      "invalid_grant",
      "The code_verifier does not match the code_challenge; restart the authorization",
    );
  }
}
