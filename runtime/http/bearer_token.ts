/**
 * Bearer tokens for the HTTP bridge: read from a file only the user can read, and compared in
 * constant time.
 *
 * @module
 */
import { timingSafeEqual } from "node:crypto";
import type { AuthorizerClient, RequestAuthorizer } from "./_authorizer.ts";
import { jsonError } from "./_http_io.ts";

/** Fewest characters a token may have. */
export const MIN_TOKEN_LENGTH = 16;

const encoder = new TextEncoder();

/**
 * Checks an `Authorization: Bearer …` header against a set of tokens. Each comparison takes the
 * same time whatever the presented value, so timing does not reveal how much of a token matched.
 */
export class TokenVerifier {
  readonly #tokens: Uint8Array[];

  /**
   * Encodes the accepted tokens once, after checking each one's strength.
   *
   * @param tokens The accepted tokens.
   * @throws {RangeError} If there is no token or one is shorter than {@linkcode MIN_TOKEN_LENGTH}.
   * @example
   * ```ts
   * const verifier = new TokenVerifier(["0123456789abcdef0123"]);
   * verifier.verify("Bearer 0123456789abcdef0123"); // 0
   * verifier.verify("Bearer nope"); // -1
   * ```
   */
  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new RangeError("Cannot verify bearer tokens: none was given");
    for (const token of tokens) checkToken(token);
    this.#tokens = tokens.map((token) => encoder.encode(token));
  }

  /**
   * Finds which token an `Authorization` header carries.
   *
   * @param authorization The header value, or null when absent.
   * @returns The index of the matching token, or -1.
   */
  verify(authorization: string | null): number {
    if (authorization === null) return -1;
    const match = /^Bearer +(\S+) *$/i.exec(authorization);
    if (match === null) return -1;
    const presented = encoder.encode(match[1]);
    let found = -1;
    for (let index = 0; index < this.#tokens.length; index++) {
      // Every token is compared, so the time does not reveal which one matched.
      if (constantTimeEqual(presented, this.#tokens[index]) && found === -1) found = index;
    }
    return found;
  }
}

/**
 * Bearer-token authentication as a {@linkcode RequestAuthorizer}: every MCP request must carry
 * one of the configured tokens (`Authorization: Bearer …`), compared in constant time. It owns
 * no routes. Sessions are bound to the token that created them: the principal key is
 * `token:<index>`.
 */
export class BearerTokenAuthorizer implements RequestAuthorizer {
  readonly #verifier: TokenVerifier;

  /**
   * Checks each token's strength once.
   *
   * @param tokens The accepted tokens.
   * @throws {RangeError} If there is no token or one is weak (see {@linkcode TokenVerifier}).
   * @example
   * ```ts
   * const auth = new BearerTokenAuthorizer(["0123456789abcdef0123"]);
   * const request = new Request("http://127.0.0.1/mcp", {
   *   headers: { authorization: "Bearer 0123456789abcdef0123" },
   * });
   * console.log(await auth.check(request)); // token:0
   * ```
   */
  constructor(tokens: readonly string[]) {
    this.#verifier = new TokenVerifier(tokens);
  }

  /**
   * Owns no route.
   *
   * @param _request The HTTP request.
   * @param _client Who sent it.
   * @returns Always null.
   */
  route(_request: Request, _client: AuthorizerClient): Promise<Response | null> {
    return Promise.resolve(null);
  }

  /**
   * Finds which token the request carries.
   *
   * @param request The HTTP request.
   * @returns `token:<index>` of the matching token, or a 401 response with a Bearer challenge.
   */
  check(request: Request): Promise<string | Response> {
    const index = this.#verifier.verify(request.headers.get("authorization"));
    if (index >= 0) return Promise.resolve(`token:${index}`);
    return Promise.resolve(
      jsonError(401, -32000, "Unauthorized: a valid bearer token is required", {
        "WWW-Authenticate": 'Bearer realm="mcp-run"',
      }),
    );
  }
}

/**
 * Compares two byte strings in time that depends only on the length of `expected`.
 *
 * `node:crypto`'s `timingSafeEqual` only takes equal lengths, so the presented value is first
 * copied into a buffer as long as the secret: neither a length check nor the copy depends on the
 * secret's content, and the length of the secret is not revealed by an early return.
 *
 * @param presented The untrusted value.
 * @param expected The secret.
 * @returns Whether they are equal.
 * @example
 * ```ts
 * constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function constantTimeEqual(presented: Uint8Array, expected: Uint8Array): boolean {
  const padded = new Uint8Array(expected.length);
  padded.set(presented.subarray(0, expected.length));
  return timingSafeEqual(padded, expected) && presented.length === expected.length;
}

function checkToken(token: string): void {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new RangeError(
      `Cannot use a bearer token of ${token.length} characters: use at least ${MIN_TOKEN_LENGTH}, ` +
        "for example from `openssl rand -hex 32`",
    );
  }
  if (/[^\x21-\x7e]/.test(token)) {
    throw new RangeError(
      "Cannot use a bearer token with spaces or non-ASCII characters: use printable ASCII only",
    );
  }
}

/**
 * Reads bearer tokens from a file: one per line, blank lines and `#` comments ignored. The file
 * must not be readable by group or others (`chmod 600`).
 *
 * Requires `--allow-read` for the file.
 *
 * @param path The token file.
 * @returns The tokens.
 * @throws {Deno.errors.NotFound} If the file does not exist; the message says how to make one.
 * @throws {RangeError} If it is not a file, is readable by others, holds no token or a weak one.
 * @example
 * ```ts ignore
 * const tokens = await readTokenFile("/home/me/.config/mcp-run/token");
 * ```
 */
export async function readTokenFile(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Deno.errors.NotFound(
      `Cannot use token file "${path}": it does not exist; create one with ` +
        `\`(umask 077; openssl rand -hex 32 > ${path})\``,
      { cause: error },
    );
  }
  if (!info.isFile) {
    throw new RangeError(
      `Cannot use token file "${path}": it is not a file; give a file with one token per line`,
    );
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw new RangeError(
      `Cannot use token file "${path}": it is readable by other users, run \`chmod 600 ${path}\``,
    );
  }
  const tokens = (await Deno.readTextFile(path)).split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (tokens.length === 0) {
    throw new RangeError(`Cannot use token file "${path}": it holds no token`);
  }
  for (const token of tokens) {
    try {
      checkToken(token);
    } catch (error) {
      throw new RangeError(`Cannot use token file "${path}": ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return tokens;
}
