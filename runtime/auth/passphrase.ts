// The owner's sign-in passphrase: a slow salted hash (PBKDF2-SHA-256 through WebCrypto), checked
// in constant time, kept in a 0600 file.
import { updateFile } from "../clients/_atomic_file.ts";
import { constantTimeEqual } from "../http/bearer_token.ts";
import { base64url, fromBase64url } from "./_bytes.ts";

/** A stored passphrase: never the passphrase, only a slow salted hash of it. */
export interface PassphraseRecord {
  /** The algorithm: PBKDF2 with HMAC-SHA-256. */
  alg: "PBKDF2-SHA-256";
  /** 16 random bytes, base64url. */
  salt: string;
  /** PBKDF2 iterations. */
  iterations: number;
  /** The 32-byte derived key, base64url. */
  hash: string;
}

/** PBKDF2-SHA-256 iterations of new records (OWASP's 2023 recommendation). */
export const PASSPHRASE_ITERATIONS = 600_000;
/** The fewest iterations a record may have; weaker records are refused. */
export const MIN_PASSPHRASE_ITERATIONS = 100_000;
const MAX_ITERATIONS = 10_000_000;
/** The shortest passphrase accepted, in characters. */
export const MIN_PASSPHRASE_LENGTH = 12;
const MAX_PASSPHRASE_LENGTH = 1024;

/** Options for {@link hashPassphrase}. */
export interface HashPassphraseOptions {
  /** PBKDF2 iterations (default {@link PASSPHRASE_ITERATIONS}, at least 100 000). */
  iterations?: number;
}

/**
 * Hash a passphrase for storage with a fresh random salt. The passphrase is NFC-normalised so
 * the same words typed on another keyboard still match.
 *
 * @param passphrase The passphrase the owner chose.
 * @param options The iteration count.
 * @returns The record to store.
 * @throws {RangeError} If the passphrase is shorter than 12 or longer than 1024 characters, or
 *   the iteration count is out of bounds.
 * @example
 * ```ts
 * import { hashPassphrase, verifyPassphrase } from "./passphrase.ts";
 * const record = await hashPassphrase("correct horse battery staple");
 * console.log(await verifyPassphrase("correct horse battery staple", record)); // true
 * ```
 */
export async function hashPassphrase(
  passphrase: string,
  options: HashPassphraseOptions = {},
): Promise<PassphraseRecord> {
  const text = passphrase.normalize("NFC");
  if (text.length < MIN_PASSPHRASE_LENGTH || text.length > MAX_PASSPHRASE_LENGTH) {
    throw new RangeError(
      `Cannot use this passphrase: it has ${text.length} characters; choose ${MIN_PASSPHRASE_LENGTH} to ${MAX_PASSPHRASE_LENGTH} (several words are easiest)`,
    );
  }
  const iterations = options.iterations ?? PASSPHRASE_ITERATIONS;
  checkIterations(iterations);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return {
    alg: "PBKDF2-SHA-256",
    salt: base64url(salt),
    iterations,
    hash: base64url(await derive(text, salt, iterations)),
  };
}

/**
 * Check a passphrase against a stored record, comparing in constant time.
 *
 * @param passphrase The passphrase typed at sign-in.
 * @param record The stored record (checked by {@link parsePassphraseRecord}).
 * @returns True if it matches.
 * @example
 * ```ts
 * import { hashPassphrase, verifyPassphrase } from "./passphrase.ts";
 * const record = await hashPassphrase("correct horse battery staple", { iterations: 100_000 });
 * console.log(await verifyPassphrase("Tr0ub4dor&3 wrong guess", record)); // false
 * ```
 */
export async function verifyPassphrase(
  passphrase: string,
  record: PassphraseRecord,
): Promise<boolean> {
  const salt = fromBase64url(record.salt);
  const expected = fromBase64url(record.hash);
  if (!salt || !expected) return false;
  const text = passphrase.normalize("NFC").slice(0, MAX_PASSPHRASE_LENGTH + 1);
  return constantTimeEqual(await derive(text, salt, record.iterations), expected);
}

/**
 * Parse and check the text of a passphrase file.
 *
 * @param text The file's content.
 * @returns The record.
 * @throws {SyntaxError} If the text is not a passphrase record.
 * @throws {RangeError} If its iteration count is below 100 000 or absurdly high.
 * @example
 * ```ts
 * import { parsePassphraseRecord } from "./passphrase.ts";
 * const r = parsePassphraseRecord('{"alg":"PBKDF2-SHA-256","salt":"AAAAAAAAAAAAAAAAAAAAAA","iterations":600000,"hash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}');
 * console.log(r.iterations); // 600000
 * ```
 */
export function parsePassphraseRecord(text: string): PassphraseRecord {
  let data: Partial<PassphraseRecord> | null;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new SyntaxError(
      "Cannot read the passphrase file: it is not JSON; set the passphrase again",
      { cause },
    );
  }
  const salt = typeof data?.salt === "string" ? fromBase64url(data.salt) : null;
  const hash = typeof data?.hash === "string" ? fromBase64url(data.hash) : null;
  if (
    data?.alg !== "PBKDF2-SHA-256" || !Number.isSafeInteger(data.iterations) ||
    salt?.length !== 16 || hash?.length !== 32
  ) {
    throw new SyntaxError(
      'Cannot read the passphrase file: it is not a {"alg":"PBKDF2-SHA-256",salt,iterations,hash} record; set the passphrase again',
    );
  }
  checkIterations(data.iterations!);
  return { alg: data.alg, salt: data.salt!, iterations: data.iterations!, hash: data.hash! };
}

/**
 * Read the passphrase file.
 *
 * Requires `--allow-read` on the file.
 *
 * @param file The file.
 * @returns The record, or null if the file does not exist.
 * @throws {SyntaxError} If it is not a passphrase record.
 * @throws {RangeError} If its iteration count is out of bounds.
 * @example
 * ```ts ignore
 * import { readPassphraseFile } from "./passphrase.ts";
 * const record = await readPassphraseFile("/home/me/.config/mcp-run/passphrase.json");
 * ```
 */
export async function readPassphraseFile(file: string): Promise<PassphraseRecord | null> {
  try {
    return parsePassphraseRecord(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Write the passphrase file atomically with mode 0600 (also forced on an existing file),
 * creating its folders, keeping no backup of the previous hash.
 *
 * Requires `--allow-read` and `--allow-write` on the file's folder.
 *
 * @param file The file.
 * @param record The record from {@link hashPassphrase}.
 * @returns Once written.
 * @example
 * ```ts ignore
 * import { hashPassphrase, writePassphraseFile } from "./passphrase.ts";
 * await writePassphraseFile("/home/me/.config/mcp-run/passphrase.json", await hashPassphrase(p));
 * ```
 */
export async function writePassphraseFile(file: string, record: PassphraseRecord): Promise<void> {
  const text = JSON.stringify(record) + "\n";
  await updateFile(file, () => text, { mode: 0o600, forceMode: true, backup: false });
}

function checkIterations(iterations: number): void {
  if (
    !Number.isSafeInteger(iterations) || iterations < MIN_PASSPHRASE_ITERATIONS ||
    iterations > MAX_ITERATIONS
  ) {
    throw new RangeError(
      `Cannot use ${iterations} PBKDF2 iterations: use ${MIN_PASSPHRASE_ITERATIONS} to ${MAX_ITERATIONS}; set the passphrase again`,
    );
  }
}

async function derive(text: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(text),
    "PBKDF2",
    false,
    ["deriveBits"],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}
