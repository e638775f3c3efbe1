/**
 * The 32-bit FNV-1a hash that keeps mcp-run's cache names short and stable.
 *
 * @module
 */

/**
 * What the hash reads of a text. Both exist because names already on disk were made with each:
 * changing one would orphan every cache made before.
 *
 * - `"utf-8"`: the text's UTF-8 bytes (docker code volume names).
 * - `"char-code"`: the first UTF-16 code unit of each code point, one value per character;
 *   a character outside the Basic Multilingual Plane counts as its high surrogate alone (cache
 *   folder names).
 */
export type Fnv1aEncoding = "utf-8" | "char-code";

const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

/**
 * Hashes a text with 32-bit FNV-1a, reading it as the given encoding. Not a security hash: it
 * only keeps names of different packages apart.
 *
 * @param text The text to hash.
 * @param encoding What is hashed of it (see {@linkcode Fnv1aEncoding}).
 * @returns Eight lowercase hex digits.
 *
 * @example
 * ```ts
 * import { fnv1a32 } from "./_fnv1a.ts";
 * console.log(fnv1a32("", "utf-8")); // "811c9dc5"
 * console.log(fnv1a32("a", "utf-8") === fnv1a32("a", "char-code")); // true
 * ```
 */
export function fnv1a32(text: string, encoding: Fnv1aEncoding): string {
  let h = OFFSET_BASIS;
  if (encoding === "utf-8") {
    for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, PRIME) >>> 0;
  } else {
    for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), PRIME) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
