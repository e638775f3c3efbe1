// Byte helpers shared by the auth modules: base64url, random strings, hashes, equal-time compare.

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

/** SHA-256 of the UTF-8 text, as lowercase hex (how secrets are stored). */
export async function sha256Hex(text: string): Promise<string> {
  return [...await sha256(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compare two byte strings in time that depends only on their lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Compare two strings (UTF-8) in time that depends only on their lengths. */
export function equalText(a: string, b: string): boolean {
  const enc = new TextEncoder();
  return equalBytes(enc.encode(a), enc.encode(b));
}
