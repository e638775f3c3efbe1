// The owner's sign-in and consent page, its error page, and the headers and CSRF cookie that
// keep both from being framed, scripted, leaked or forged.

/** What the sign-in and consent page shows and posts back. */
export interface ConsentView {
  /** The server's name (the manifest's). */
  serverName: string;
  /** The resource the tokens will be for (the MCP endpoint's public URL). */
  resource: string;
  /** The client ID. */
  clientId: string;
  /** The client's self-declared name, if any. */
  clientName?: string;
  /** Registered dynamically (its name is unverified), or a metadata document's URL. */
  clientSource: "registered" | "document";
  /** The redirect URI the code will go to. */
  redirectUri: string;
  /** The pending authorization request the form posts back. */
  requestId: string;
  /** The CSRF form token, equal to the cookie's value. */
  csrfToken: string;
  /** Whether a TOTP code is asked for. */
  totp: boolean;
  /** A message about the previous attempt (wrong passphrase, locked out). */
  error?: string;
}

/**
 * Escape text for HTML element content and double-quoted attribute values.
 *
 * @param text Untrusted text.
 * @returns The escaped text.
 * @example
 * ```ts
 * import { escapeHtml } from "./consent_page.ts";
 * console.log(escapeHtml('<a href="x">')); // &lt;a href=&quot;x&quot;&gt;
 * ```
 */
export function escapeHtml(text: string): string {
  const entities: Record<string, string> = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    '"': "&quot;",
    "'": "&#39;",
  };
  return text.replace(/[&<>"']/g, (c) => entities[c]);
}

/**
 * Render the sign-in and consent page: who asks (the client's name, marked unverified when it
 * registered itself, or the host vouching for its metadata document), where the code will go
 * (the redirect URI's origin), for which server and resource; a passphrase field, a TOTP field
 * when configured, and Approve and Deny buttons. Every value is escaped; the page has no script.
 *
 * @param view What to show.
 * @returns The HTML document.
 * @example
 * ```ts
 * import { renderConsentPage } from "./consent_page.ts";
 * const html = renderConsentPage({
 *   serverName: "docs", resource: "https://mcp.example.com/mcp", clientId: "c1",
 *   clientName: "<Claude>", clientSource: "registered", redirectUri: "https://claude.ai/cb",
 *   requestId: "r", csrfToken: "t", totp: false,
 * });
 * console.log(html.includes("&lt;Claude&gt;")); // true
 * ```
 */
export function renderConsentPage(view: ConsentView): string {
  const e = escapeHtml;
  const redirect = new URL(view.redirectUri);
  const who = view.clientSource === "document"
    ? `<strong>${e(view.clientName ?? redirect.host)}</strong>, described by <code>${
      e(new URL(view.clientId).host)
    }</code>`
    : `<strong>${e(view.clientName ?? "An unnamed client")}</strong> ` +
      `<em>(registered dynamically, unverified: the name is the client's own claim)</em>`;
  const totp = view.totp
    ? `<label>Authenticator code <input name="totp" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required></label>`
    : "";
  const error = view.error ? `<p class="error" role="alert">${e(view.error)}</p>` : "";
  return page(
    `Sign in to ${view.serverName}`,
    `<h1>Allow access to ${e(view.serverName)}?</h1>
<p>${who} asks to use the MCP server <strong>${e(view.serverName)}</strong> at <code>${
      e(view.resource)
    }</code> on your behalf.</p>
${destination(view.redirectUri)}
${error}<form method="post">
<input type="hidden" name="request" value="${e(view.requestId)}">
<input type="hidden" name="csrf" value="${e(view.csrfToken)}">
<label>Owner passphrase <input type="password" name="passphrase" autocomplete="current-password" autofocus></label>
${totp}<p><button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" formnovalidate>Deny</button></p>
</form>`,
  );
}

/** Where the code goes: a web origin, or, for a private-use scheme, an app on this device. */
function destination(redirectUri: string): string {
  const e = escapeHtml;
  const redirect = new URL(redirectUri);
  if (redirect.protocol === "http:" || redirect.protocol === "https:") {
    return `<p>After you approve, you are sent to <code>${
      e(redirect.origin)
    }</code>. Approve only if you
started this sign-in yourself, from that client.</p>`;
  }
  // Any app can claim a private-use scheme (RFC 8252 §8.6): say so where the owner looks.
  return `<p class="app" role="note"><strong>After you approve, the code goes to an app on this device</strong>
that opens <code>${e(redirect.protocol)}</code> links (<code>${e(redirectUri)}</code>). Any app can
claim such links: approve only if you started this sign-in yourself, from that app, on this
device.</p>`;
}

/**
 * Render an error page, shown instead of redirecting when the redirect URI cannot be trusted.
 *
 * @param title The heading.
 * @param message What went wrong and what to do.
 * @returns The HTML document.
 * @example
 * ```ts
 * import { renderErrorPage } from "./consent_page.ts";
 * console.log(renderErrorPage("Cannot sign in", "Unknown client").includes("Unknown client")); // true
 * ```
 */
export function renderErrorPage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:1rem 0}input{display:block;width:100%;font:inherit;padding:.4rem}
button{font:inherit;padding:.4rem 1.2rem;margin-right:.5rem}.error{color:#b00020}
code{word-break:break-all}.app{border:2px solid #b36b00;padding:.6rem}</style></head>
<body>
${body}
</body></html>
`;
}

/** Options for {@link pageResponse}. */
export interface PageResponseOptions {
  /** The HTTP status (default 200). */
  status?: number;
  /** A `Set-Cookie` value. */
  cookie?: string;
  /** More headers (such as `Retry-After`). */
  headers?: Record<string, string>;
  /**
   * Where the form's answer may redirect to besides this origin: the redirect URI, since
   * browsers apply `form-action` to the redirects that follow a form submission.
   */
  redirectUri?: string;
}

/**
 * Wrap an HTML page in a response that cannot be framed, scripted, cached or leak its URL: a
 * CSP of `default-src 'none'` (inline style only, forms to this origin and the redirect URI's),
 * `X-Frame-Options: DENY`, `Referrer-Policy: same-origin` (with `no-referrer`, browsers post
 * forms with `Origin: null`), `Cache-Control: no-store`.
 *
 * @param html The document.
 * @param options Status, cookie and extra headers.
 * @returns The response.
 * @example
 * ```ts
 * import { pageResponse, renderErrorPage } from "./consent_page.ts";
 * const res = pageResponse(renderErrorPage("Oops", "No"), { status: 400 });
 * console.log(res.headers.get("x-frame-options")); // DENY
 * ```
 */
export function pageResponse(html: string, options: PageResponseOptions = {}): Response {
  const headers = new Headers({
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; form-action ${
      formActionSources(options.redirectUri)
    }; frame-ancestors 'none'; base-uri 'none'`,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    // same-origin, not no-referrer: with no-referrer, browsers post the form with `Origin: null`.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    ...options.headers,
  });
  if (options.cookie) headers.append("Set-Cookie", options.cookie);
  return new Response(html, { status: options.status ?? 200, headers });
}

function formActionSources(redirectUri: string | undefined): string {
  if (!redirectUri) return "'self'";
  const url = new URL(redirectUri);
  // CSP host sources cannot name an IPv6 literal or an app's own scheme: allow the scheme.
  if (url.hostname.startsWith("[") || url.origin === "null") return `'self' ${url.protocol}`;
  return `'self' ${url.origin}`;
}

/**
 * The name of the consent CSRF cookie: `__Host-` prefixed (Secure, Path=/, no Domain) on https;
 * unprefixed on plain http, which is accepted only on loopback.
 *
 * @param secure Whether the page is served over https.
 * @returns The cookie name.
 * @example
 * ```ts
 * import { consentCookieName } from "./consent_page.ts";
 * console.log(consentCookieName(true)); // __Host-mcp-run-consent
 * ```
 */
export function consentCookieName(secure: boolean): string {
  return secure ? "__Host-mcp-run-consent" : "mcp-run-consent";
}

/**
 * The `Set-Cookie` value binding a consent form to this browser: short-lived, `HttpOnly`,
 * `SameSite=Strict`, and `Secure` on https.
 *
 * @param token The CSRF token (also in the form).
 * @param secure Whether the page is served over https.
 * @param maxAgeSeconds The cookie's lifetime (default 600).
 * @returns The header value.
 * @example
 * ```ts
 * import { consentCookie } from "./consent_page.ts";
 * console.log(consentCookie("abc", true));
 * // __Host-mcp-run-consent=abc; Path=/; Max-Age=600; HttpOnly; SameSite=Strict; Secure
 * ```
 */
export function consentCookie(token: string, secure: boolean, maxAgeSeconds = 600): string {
  return `${consentCookieName(secure)}=${token}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; ` +
    `SameSite=Strict${secure ? "; Secure" : ""}`;
}

/**
 * Read the consent CSRF cookie from a request.
 *
 * @param request The request.
 * @param secure Whether the page is served over https.
 * @returns The token, or null if absent.
 * @example
 * ```ts
 * import { readConsentCookie } from "./consent_page.ts";
 * const req = new Request("http://127.0.0.1/", { headers: { cookie: "a=1; mcp-run-consent=xyz" } });
 * console.log(readConsentCookie(req, false)); // xyz
 * ```
 */
export function readConsentCookie(request: Request, secure: boolean): string | null {
  const name = consentCookieName(secure);
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}
