/**
 * Masking of secrets inside the text the audit log writes: the credentials and secret-named
 * query values of every URL in a string, and token-shaped values whatever their field is called.
 * Field names are judged by the record's builder (see `_audit_record.ts`); this judges values.
 * Pure.
 *
 * @module
 */

/** What a masked value becomes. */
export const MASKED = "[masked]";

/**
 * Names that say a value is secret: tokens, passwords, keys, secrets, credentials,
 * authorization headers, cookies, sessions. Broad on purpose: a value masked wrongly costs a
 * value in the log, a secret missed stays in it.
 */
export const SECRET_NAME =
  /token|passw|pwd|secret|key|authori[sz]ation|bearer|credential|cookie|session|private/i;

/**
 * A URL anywhere in a text: a scheme, `://`, then everything up to a space, a quote or a
 * bracket (where a URL quoted in prose or JSON ends).
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>()[\]{}]+/gi;
/** The `user:password@` (or `token@`) part of a URL; greedy, as a password may hold an `@`. */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;
/**
 * Query and fragment parameters named like secrets, and signatures (`sig=` of a shared access
 * URL, `X-Amz-Signature=`), which grant access as a token does. The fragment counts: OAuth's
 * implicit flow puts `#access_token=` there.
 */
const URL_SECRET_PARAM = new RegExp(
  `([?&;#](?:sig|[^=&;#]*(?:${SECRET_NAME.source}|signature)[^=&;#]*)=)[^&;#]*`,
  "gi",
);
/** A user name alone this long is taken for a token (`https://<token>@github.com`). */
const LONG_USER = 20;

/**
 * Values shaped like the tokens of common services, wherever they stand: GitHub (`ghp_`,
 * `github_pat_`), OpenAI-style and Stripe keys (`sk-`, `sk_live_`), Slack (`xoxb-`), GitLab
 * (`glpat-`), Google API keys (`AIza`), AWS access key ids (`AKIA`), JSON Web Tokens (`eyJ…`
 * with two dots), and what follows `Bearer `.
 */
const TOKEN_SHAPES = [
  /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
  /\b(?:sk-[A-Za-z0-9_-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,})/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g,
  /\bglpat-[A-Za-z0-9_-]{20,}/g,
  /\bAIza[A-Za-z0-9_-]{35}/g,
  /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g,
  /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g,
];
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;

/**
 * A text as the audit log writes it: in every URL it holds, the password (or a long user name
 * alone, likely a token) and the values of secret-named query or fragment parameters are
 * replaced by `"[masked]"`; so is every token-shaped value (GitHub, OpenAI, Slack, AWS, JWT, …).
 * The rest of the text stays, so a record still says which host or resource was meant.
 *
 * @param text Any string from a request or an answer.
 * @returns The text, masked.
 * @example
 * ```ts
 * import { maskText } from "./_audit_mask.ts";
 * console.log(maskText("postgres://ada:hunter2@db/app?token=abc"));
 * // postgres://ada:[masked]@db/app?token=[masked]
 * ```
 */
export function maskText(text: string): string {
  let masked = text.includes("://") ? text.replace(URL_IN_TEXT, maskUrl) : text;
  for (const shape of TOKEN_SHAPES) masked = masked.replace(shape, MASKED);
  return masked.replace(BEARER, `$1${MASKED}`);
}

/** One URL with its credentials and secret-named parameters masked. */
function maskUrl(url: string): string {
  return url.replace(URL_USERINFO, (_, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${MASKED}@`;
    return `${scheme}${userinfo.length >= LONG_USER ? MASKED : userinfo}@`;
  }).replace(URL_SECRET_PARAM, `$1${MASKED}`);
}
