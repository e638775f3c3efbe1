/**
 * How the bridge authenticates: one interface for bearer tokens, OAuth and no authentication.
 *
 * @module
 */

/** Who sent a request, as the bridge knows it when it asks an authorizer. */
export interface AuthorizerClient {
  /** The client's address (the forwarded one when it came through a trusted proxy). */
  address: string;
}

/**
 * The bridge's authentication. The bridge asks `route` first (after its Host and Origin checks)
 * so the authorizer can answer its own endpoints, then `check` for every MCP request.
 */
export interface RequestAuthorizer {
  /**
   * Answers the routes the authorizer owns (discovery documents, authorize, token, register,
   * revoke).
   *
   * @param request The HTTP request.
   * @param client Who sent it.
   * @returns The response, or null for a path the authorizer does not own.
   */
  route(request: Request, client: AuthorizerClient): Promise<Response | null>;
  /**
   * Checks an MCP request's credentials.
   *
   * @param request The HTTP request.
   * @returns A principal key that sessions are bound to (stable for one sign-in, across token
   *   refreshes), or the 401/403 response to send.
   */
  check(request: Request): Promise<string | Response>;
  /** Releases what the authorizer holds (files, timers). */
  close?(): Promise<void>;
}
