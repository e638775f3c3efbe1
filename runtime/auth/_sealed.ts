// Values the server hands to the browser and must get back unchanged: a JSON value with an
// HMAC-SHA-256 under a key that lives only in this process, so nothing is stored per request.
import { base64url, fromBase64url } from "./_bytes.ts";

/**
 * Seals values with a random per-process key. A sealed value opens only in the process that
 * sealed it, unchanged; a restart makes every sealed value unreadable (the sign-in starts again).
 */
export class Sealer {
  #key: Promise<CryptoKey>;

  /** Create a sealer with a fresh random key. */
  constructor() {
    this.#key = crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]) as Promise<CryptoKey>;
  }

  /**
   * Seal a JSON value.
   *
   * @param value The value (JSON-serialisable).
   * @returns `payload.mac`, both base64url: safe in a form field.
   */
  async seal(value: unknown): Promise<string> {
    const payload = base64url(new TextEncoder().encode(JSON.stringify(value)));
    const mac = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      new TextEncoder().encode(payload),
    );
    return `${payload}.${base64url(new Uint8Array(mac))}`;
  }

  /**
   * Open a sealed value.
   *
   * @param sealed What {@linkcode Sealer.seal} returned.
   * @returns The value, or undefined if it is malformed or was not sealed, unchanged, here.
   */
  async open(sealed: string): Promise<unknown> {
    const [payload, macText, extra] = sealed.split(".");
    const mac = fromBase64url(macText ?? "");
    if (extra !== undefined || !payload || !mac) return undefined;
    const ok = await crypto.subtle.verify(
      "HMAC",
      await this.#key,
      mac as Uint8Array<ArrayBuffer>,
      new TextEncoder().encode(payload),
    );
    if (!ok) return undefined;
    const bytes = fromBase64url(payload);
    return bytes ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
  }
}
