/**
 * An OAuth error response (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2): the `error` code a
 * client acts on, a human description, and the HTTP status to answer with.
 *
 * @example
 * ```ts
 * import { OAuthError } from "./oauth_error.ts";
 *
 * const error = new OAuthError("invalid_grant", "The authorization code was already used");
 * console.log(error.status, JSON.stringify(error.toJSON()));
 * ```
 */
export class OAuthError extends Error {
  /** The RFC error code, such as `invalid_grant` or `invalid_redirect_uri`. */
  readonly code: OAuthErrorCode;
  /** The HTTP status to answer with (401 for `invalid_token` and `invalid_client`, else 400). */
  readonly status: number;

  /**
   * Create the error.
   *
   * @param code The RFC error code.
   * @param description What went wrong and what to do; sent as `error_description`.
   * @param options The underlying cause, if any.
   */
  constructor(code: OAuthErrorCode, description: string, options?: ErrorOptions) {
    super(description, options);
    this.name = "OAuthError";
    this.code = code;
    this.status = code === "invalid_token" || code === "invalid_client" ? 401 : 400;
  }

  /**
   * The JSON body of the error response.
   *
   * @returns `{ error, error_description }`.
   */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}

/** The error codes mcp-run's authorization server and resource answer with. */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "invalid_target"
  | "unsupported_response_type"
  | "invalid_token"
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  | "access_denied";
