// A token store kept in one JSON file (mode 0600), so sign-ins survive a restart.
import { updateFile } from "../clients/_atomic_file.ts";
import type { StoredToken, TokenEdit, TokenStore } from "./tokens.ts";

interface TokenFile {
  version: 1;
  tokens: StoredToken[];
}

/**
 * A {@link TokenStore} in a JSON file. Every change rewrites the file atomically under a lock
 * with mode 0600, so concurrent writers lose nothing and readers never see half a file. The
 * file holds only token hashes.
 *
 * Requires `--allow-read` and `--allow-write` on the file's folder.
 *
 * @example
 * ```ts ignore
 * import { TokenService } from "./tokens.ts";
 * import { JsonFileTokenStore } from "./token_file_store.ts";
 * const tokens = new TokenService(new JsonFileTokenStore("/home/me/.local/state/mcp-run/tokens.json"));
 * ```
 */
export class JsonFileTokenStore implements TokenStore {
  #file: string;
  /** The last parse, keyed by the file's identity: every write renames a new file in. */
  #cache?: { key: string; tokens: Map<string, StoredToken> };

  /**
   * Use `file`; it is created on the first write.
   *
   * @param file The JSON file.
   */
  constructor(file: string) {
    this.#file = file;
  }

  /**
   * Find a token by hash.
   *
   * @param hash The token's SHA-256, hex.
   * @returns The token, or undefined.
   * @throws {SyntaxError} If the file is not a token file.
   */
  async get(hash: string): Promise<StoredToken | undefined> {
    const t = (await this.#read()).get(hash);
    return t && { ...t };
  }

  /**
   * Every stored token.
   *
   * @returns The tokens; none if the file does not exist.
   * @throws {SyntaxError} If the file is not a token file.
   */
  async list(): Promise<StoredToken[]> {
    return [...(await this.#read()).values()].map((t) => ({ ...t }));
  }

  // Reads the file unless it is the one parsed last (same inode, times and size), so checking
  // a token on every request costs a stat, not a parse. A file is cached only once it is a
  // second old: file times are coarse and inodes are reused, so a younger file could be
  // replaced by another with the same identity; any later write carries a later time. The stat
  // is synchronous: a local stat takes microseconds, the asynchronous one a thread-pool round
  // trip ten times longer, on every authenticated request.
  async #read(): Promise<Map<string, StoredToken>> {
    let key: string;
    let text: string;
    let settled: boolean;
    try {
      const s = Deno.statSync(this.#file);
      key = `${s.ino}:${s.mtime?.getTime()}:${s.ctime?.getTime()}:${s.size}`;
      const changed = Math.max(s.mtime?.getTime() ?? Infinity, s.ctime?.getTime() ?? Infinity);
      settled = Date.now() - changed > 1000;
      if (this.#cache?.key === key) return this.#cache.tokens;
      text = await Deno.readTextFile(this.#file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return new Map();
      throw e;
    }
    const tokens = new Map(this.#parse(text).tokens.map((t) => [t.hash, t]));
    this.#cache = settled ? { key, tokens } : undefined;
    return tokens;
  }

  /**
   * Add or replace a token.
   *
   * @param token The token to store.
   * @returns Once written.
   * @throws {SyntaxError} If the file is not a token file.
   */
  async put(token: StoredToken): Promise<void> {
    await this.#edit((tokens) => [...tokens.filter((t) => t.hash !== token.hash), token]);
  }

  /**
   * Change the tokens in one locked read and write of the file.
   *
   * @param change Given the tokens, returns the tokens to keep and a result.
   * @returns The change's result.
   * @throws {SyntaxError} If the file is not a token file.
   */
  async edit<T>(change: (tokens: StoredToken[]) => TokenEdit<T>): Promise<T> {
    let result!: T;
    await this.#edit((tokens) => {
      const edited = change(tokens);
      result = edited.result;
      return edited.tokens;
    });
    return result;
  }

  /**
   * Delete every token `match` selects.
   *
   * @param match Selects the tokens to delete.
   * @returns How many were deleted.
   * @throws {SyntaxError} If the file is not a token file.
   */
  async deleteWhere(match: (token: StoredToken) => boolean): Promise<number> {
    let n = 0;
    await this.#edit((tokens) => {
      const kept = tokens.filter((t) => !match(t));
      n = tokens.length - kept.length;
      return kept;
    });
    return n;
  }

  async #edit(change: (tokens: StoredToken[]) => StoredToken[]): Promise<void> {
    await updateFile(this.#file, (text) => {
      const tokens = text === null ? [] : this.#parse(text).tokens;
      const file: TokenFile = { version: 1, tokens: change(tokens) };
      return JSON.stringify(file) + "\n";
    }, { mode: 0o600, forceMode: true, backup: false });
  }

  #parse(text: string): TokenFile {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new SyntaxError(
        `Cannot read the token file "${this.#file}": it is not JSON; delete it (every client signs in again)`,
        { cause },
      );
    }
    const file = data as Partial<TokenFile> | null;
    if (file?.version !== 1 || !Array.isArray(file.tokens)) {
      throw new SyntaxError(
        `Cannot read the token file "${this.#file}": it is not a version 1 token file; delete it (every client signs in again)`,
      );
    }
    return file as TokenFile;
  }
}
