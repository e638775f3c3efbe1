/**
 * `mcp-run serve --set-passphrase`: the owner's sign-in passphrase for `--auth oauth`, asked
 * twice on a terminal with echo off, or read as one line from stdin, and stored as a slow
 * salted hash (mode 0600) in the state root, for every server. A running serve reads it at each
 * sign-in, so a change applies without a restart.
 *
 * @module
 */
import { join } from "node:path";
import { hashPassphrase, MIN_PASSPHRASE_LENGTH, writePassphraseFile } from "../auth/passphrase.ts";
import { type CliContext, EXIT } from "./context.ts";
import { checkStatePrivacy, UnsafeStateError } from "./_serve_auth.ts";

/** Longest line read from stdin, in bytes. */
const MAX_LINE_BYTES = 4096;

/** How the passphrase is read. */
export interface SetPassphraseOptions {
  /** Whether to ask on the terminal (default: stdin and stderr are terminals). */
  interactive?: boolean;
  /** Reads one answer without echo (default: the terminal in raw mode). */
  askHidden?: (prompt: string) => Promise<string>;
  /** Reads the first line of stdin (default: stdin). */
  readLine?: () => Promise<string>;
}

/**
 * Sets the owner's passphrase: asks for it twice on a terminal (echo off), or reads one line
 * from stdin; refuses one shorter than {@linkcode MIN_PASSPHRASE_LENGTH}; writes
 * `<root>/passphrase` (0600) through `writePassphraseFile`, the root made 0700 if new.
 *
 * Requires `--allow-read` and `--allow-write` on the state root.
 *
 * @param ctx CLI context (messages go to its stderr).
 * @param root The state root.
 * @param options How the passphrase is read.
 * @returns The exit code: 0 set, 1 not set (too short, the two entries differ, none given),
 *   2 the state folder or its files are open to other users (or the folder is a file).
 * @example
 * ```ts ignore
 * await setPassphraseCommand(ctx, "/home/ada/.local/state/mcp-run");
 * ```
 */
export async function setPassphraseCommand(
  ctx: CliContext,
  root: string,
  options: SetPassphraseOptions = {},
): Promise<number> {
  try {
    await checkStatePrivacy(root); // before anything is asked
  } catch (error) {
    if (!(error instanceof UnsafeStateError)) throw error;
    ctx.printError(`mcp-run serve: ${error.message}`);
    return EXIT.usage;
  }
  const interactive = options.interactive ??
    (Deno.stdin.isTerminal() && Deno.stderr.isTerminal());
  let passphrase: string;
  if (interactive) {
    const ask = options.askHidden ?? askHidden;
    passphrase = await ask(
      `New passphrase for signing in to mcp-run serve (at least ${MIN_PASSPHRASE_LENGTH} characters): `,
    );
    if (!long(ctx, passphrase)) return EXIT.error;
    if (await ask("Repeat it: ") !== passphrase) {
      ctx.printError("mcp-run serve: the two entries differ; nothing was changed, run it again");
      return EXIT.error;
    }
  } else {
    passphrase = await (options.readLine ?? readLine)();
    if (passphrase === "") {
      ctx.printError(
        "mcp-run serve: no passphrase on stdin; run it on a terminal, or pipe one line: " +
          "mcp-run serve --set-passphrase < file",
      );
      return EXIT.error;
    }
    if (!long(ctx, passphrase)) return EXIT.error;
  }
  const record = await hashPassphrase(passphrase);
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  const file = join(root, "passphrase");
  await writePassphraseFile(file, record);
  ctx.printError(
    `mcp-run serve: passphrase set in ${file}; running servers use it at the next sign-in`,
  );
  return EXIT.ok;
}

function long(ctx: CliContext, passphrase: string): boolean {
  const length = passphrase.normalize("NFC").length;
  if (length >= MIN_PASSPHRASE_LENGTH) return true;
  ctx.printError(
    `mcp-run serve: the passphrase has ${length} characters; choose at least ` +
      `${MIN_PASSPHRASE_LENGTH} (several words are easiest); nothing was changed`,
  );
  return false;
}

/** The first line of stdin, without its line ending (at most {@linkcode MAX_LINE_BYTES}). */
async function readLine(): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const buffer = new Uint8Array(1024);
  while (size < MAX_LINE_BYTES) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
    if (buffer.subarray(0, n).includes(10)) break;
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes).split("\n")[0].replace(/\r$/, "");
}

/** Asks on the terminal with echo off: raw mode, editing with backspace, Ctrl-C aborts. */
async function askHidden(prompt: string): Promise<string> {
  const encoder = new TextEncoder();
  // Echo goes off before the prompt shows, so nothing typed or pasted at once is echoed.
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(prompt));
    const buffer = new Uint8Array(64);
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      for (const byte of buffer.subarray(0, n)) {
        if (byte === 3) throw new Error("Cannot set the passphrase: interrupted (Ctrl-C)");
        if (byte === 13 || byte === 10 || byte === 4) {
          return new TextDecoder().decode(
            new Uint8Array(bytes),
          );
        }
        if (byte === 127 || byte === 8) {
          // Drop one whole UTF-8 character.
          while (bytes.length > 0 && (bytes.pop()! & 0xc0) === 0x80);
        } else if (bytes.length < MAX_LINE_BYTES) bytes.push(byte);
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
}
