// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps), the optional
// second factor of the owner's sign-in, with replay of a used code refused.
import { updateFile } from "../clients/_atomic_file.ts";
import { equalText } from "./_bytes.ts";

const STEP_SECONDS = 30;
const DIGITS = 6;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * Decode a TOTP secret as authenticator apps show it: base32 (RFC 4648, case, spaces and
 * padding ignored), or an `otpauth://totp/…?secret=…` URI.
 *
 * @param text The secret, e.g. the content of the TOTP file.
 * @returns The secret's bytes.
 * @throws {SyntaxError} If the text is not base32 or an otpauth URI with a secret, or the secret
 *   is shorter than 10 bytes (80 bits, RFC 4226 §4's minimum).
 * @example
 * ```ts
 * import { parseTotpSecret } from "./totp.ts";
 * console.log(parseTotpSecret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").length); // 20
 * ```
 */
export function parseTotpSecret(text: string): Uint8Array {
  let secret = text.trim();
  if (/^otpauth:/i.test(secret)) {
    const url = URL.canParse(secret) ? new URL(secret) : null;
    const algorithm = url?.searchParams.get("algorithm");
    if (
      !url || url.host.toLowerCase() !== "totp" || (algorithm && algorithm.toUpperCase() !== "SHA1")
    ) {
      throw new SyntaxError(
        "Cannot read the TOTP secret: the otpauth URI is not a SHA1 totp URI; give the base32 secret instead",
      );
    }
    secret = url.searchParams.get("secret") ?? "";
  }
  const clean = secret.replace(/[\s=]/g, "").toUpperCase();
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of clean) {
    const v = BASE32.indexOf(c);
    if (v < 0) {
      throw new SyntaxError(
        "Cannot read the TOTP secret: it is not base32 (letters A-Z and digits 2-7); copy it again from the authenticator setup",
      );
    }
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  if (out.length < 10) {
    throw new SyntaxError(
      "Cannot use the TOTP secret: it is shorter than 80 bits; generate a new one of at least 16 base32 characters",
    );
  }
  return Uint8Array.from(out);
}

/**
 * Compute the TOTP code of a time (RFC 6238 with HMAC-SHA-1, 6 digits, 30 s steps).
 *
 * @param secret The shared secret.
 * @param timeMs The time, milliseconds since the epoch.
 * @returns The 6-digit code, zero-padded.
 * @example
 * ```ts
 * import { totpCode } from "./totp.ts";
 * const secret = new TextEncoder().encode("12345678901234567890");
 * console.log(await totpCode(secret, 59_000)); // 287082
 * ```
 */
export async function totpCode(secret: Uint8Array, timeMs: number): Promise<string> {
  return await hotp(secret, Math.floor(timeMs / 1000 / STEP_SECONDS));
}

async function hotp(secret: Uint8Array, counter: number): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    secret as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const message = new DataView(new ArrayBuffer(8));
  message.setUint32(0, Math.floor(counter / 2 ** 32));
  message.setUint32(4, counter >>> 0);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, message.buffer));
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) |
    (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 10 ** DIGITS).padStart(DIGITS, "0");
}

/** Options for {@link TotpVerifier}. */
export interface TotpVerifierOptions {
  /**
   * Where the last accepted step is kept (mode 0600), so a restart does not accept a used code
   * again (default: memory only).
   */
  stateFile?: string;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

/**
 * Check TOTP codes, accepting the current 30 s step and one step either side (clock drift), and
 * refusing any code of a step at or before the last accepted one, so a code seen over a
 * shoulder or in a log cannot be used again.
 *
 * @example
 * ```ts
 * import { totpCode, TotpVerifier } from "./totp.ts";
 * const secret = new TextEncoder().encode("12345678901234567890");
 * const verifier = new TotpVerifier({ now: () => 59_000 });
 * const code = await totpCode(secret, 59_000);
 * console.log(await verifier.verify(secret, code)); // true
 * console.log(await verifier.verify(secret, code)); // false: already used
 * ```
 */
export class TotpVerifier {
  #now: () => number;
  #stateFile?: string;
  #lastStep?: number;

  /**
   * Create a verifier; with a state file, the steps it recorded stay spent.
   *
   * @param options The state file and clock.
   */
  constructor(options: TotpVerifierOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#stateFile = options.stateFile;
  }

  /**
   * Check a code typed at sign-in. The work is the same whether it matches or not, and whether
   * it is spent; a spent code is refused from then on.
   *
   * @param secret The shared secret.
   * @param code The code as typed (spaces ignored).
   * @param spend Whether an accepted code is spent (false to check it alongside a passphrase
   *   that was wrong, so the owner's current code stays usable).
   * @returns True if the code is valid now and was not spent before.
   * @throws {SyntaxError} If the state file holds no step.
   */
  async verify(secret: Uint8Array, code: string, spend = true): Promise<boolean> {
    const typed = code.replace(/\s/g, "");
    const wellFormed = /^\d{6}$/.test(typed);
    const step = Math.floor(this.#now() / 1000 / STEP_SECONDS);
    let matched: number | null = null;
    for (const s of [step - 1, step, step + 1]) {
      // Every candidate is computed and compared, whichever matches.
      if (equalText(typed, await hotp(secret, s)) && matched === null) matched = s;
    }
    // Another serve process may share the state file: it is read at every check, and a code
    // is spent in one locked edit, so two processes cannot both accept it.
    const last = await this.#last();
    if (!wellFormed || matched === null || matched <= last) return false;
    return spend ? await this.#spend(matched) : true;
  }

  async #last(): Promise<number> {
    if (!this.#stateFile) return this.#lastStep ?? -Infinity;
    let text: string;
    try {
      text = await Deno.readTextFile(this.#stateFile);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return -Infinity;
      throw e;
    }
    return this.#parseStep(text);
  }

  async #spend(step: number): Promise<boolean> {
    if (!this.#stateFile) {
      if (step <= (this.#lastStep ?? -Infinity)) return false;
      this.#lastStep = step;
      return true;
    }
    let fresh = false;
    await updateFile(this.#stateFile, (text) => {
      const last = text === null ? -Infinity : this.#parseStep(text);
      fresh = step > last;
      return `${Math.max(step, last)}\n`;
    }, { mode: 0o600, forceMode: true, backup: false });
    return fresh;
  }

  #parseStep(text: string): number {
    const step = Number(text.trim());
    if (!Number.isSafeInteger(step)) {
      throw new SyntaxError(
        `Cannot read the TOTP state file "${this.#stateFile}": it holds no step number; delete it (the current code may then be used once more)`,
      );
    }
    return step;
  }
}

/**
 * Read the TOTP secret file (base32 or an otpauth URI, mode 0600).
 *
 * Requires `--allow-read` on the file.
 *
 * @param file The file.
 * @returns The secret's bytes.
 * @throws {Deno.errors.NotFound} If the file does not exist.
 * @throws {SyntaxError} If it does not hold a usable secret.
 * @example
 * ```ts ignore
 * import { readTotpFile } from "./totp.ts";
 * const secret = await readTotpFile("/home/me/.local/state/mcp-run/totp");
 * ```
 */
export async function readTotpFile(file: string): Promise<Uint8Array> {
  try {
    return parseTotpSecret(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new SyntaxError(`Cannot read the TOTP file "${file}": ${e.message}`, { cause: e });
    }
    throw e;
  }
}
