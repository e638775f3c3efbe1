// Byte helpers shared by the auth modules: base64url, random strings, hashes, equal-time compare.
import { constantTimeEqual } from "../http/bearer_token.ts";

/** Encode bytes as base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Decode base64url (padding optional); null when the text is not base64url. */
export function fromBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** `size` bytes from the system's secure random source, as base64url. */
export function randomToken(size = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** SHA-256 of the UTF-8 text, as raw bytes. */
export async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/**
 * Compare a presented string with a secret one (UTF-8) in time that depends only on the
 * secret's length ({@linkcode constantTimeEqual}).
 */
export function equalText(presented: string, secret: string): boolean {
  const enc = new TextEncoder();
  return constantTimeEqual(enc.encode(presented), enc.encode(secret));
}
