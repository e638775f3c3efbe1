// The OAuth clients the authorization server knows: dynamically registered ones, persisted in
// clients.json, and clients identified by a metadata document URL, fetched and cached.
import { updateFile } from "../clients/_atomic_file.ts";
import { clientKey } from "../http/_client_address.ts";
import { randomToken } from "./_bytes.ts";
import { OAuthError } from "./oauth_error.ts";
import {
  checkClientIdUrl,
  type ClientMetadata,
  parseClientMetadataDocument,
} from "./registration.ts";

/** A dynamically registered client: what the registration response returns (RFC 7591 §3.2.1). */
export interface RegisteredClient extends ClientMetadata {
  /** The issued client identifier. */
  client_id: string;
  /** When it was issued, seconds since the epoch. */
  client_id_issued_at: number;
}

/** A client as the authorization endpoint shows and checks it. */
export interface KnownClient {
  /** The client identifier. */
  clientId: string;
  /** Its validated metadata. */
  metadata: ClientMetadata;
  /**
   * `registered`: registered dynamically, so its name is unverified; `document`: a client ID
   * metadata document, vouched for by the host that serves it.
   */
  source: "registered" | "document";
}

/** Options for {@link ClientStore}. */
export interface ClientStoreOptions {
  /** Fetches a client ID metadata document (e.g. {@linkcode fetchClientMetadata}). */
  fetchDocument: (url: URL) => Promise<string>;
  /** The most clients that obtained tokens kept in the file; the least recently used go first (default 500). */
  maxClients?: number;
  /** The most registrations that never obtained tokens, kept in memory only (default 1000). */
  maxUnused?: number;
  /** The most of those from one client address ({@linkcode clientKey}); its oldest go first (default 5). */
  maxUnusedPerAddress?: number;
  /** How long a fetched metadata document is trusted, in ms (default 5 min, at most 1 day). */
  documentTtlMs?: number;
  /** The most metadata documents cached (default 100). */
  maxDocuments?: number;
  /** Told why a metadata document could not be fetched; the client hears only that it could not. */
  onError?: (error: Error) => void;
  /** The clock (default `Date.now`). */
  now?: () => number;
}

interface StoredClient {
  client: RegisteredClient;
  lastUsedAt: number;
  /** Whether the client ever obtained tokens (files of older versions also hold unused ones). */
  used?: boolean;
}

interface UnusedClient {
  client: RegisteredClient;
  key: string;
}

interface ClientFile {
  version: 1;
  clients: StoredClient[];
}

const DAY_MS = 24 * 60 * 60_000;
/** Metadata documents fetched at once, at most. */
const MAX_FETCHING = 4;
/** How long a document that could not be fetched or used is not fetched again. */
const FAILURE_TTL_MS = 60_000;

/**
 * The known clients of one server. A dynamic registration is kept in memory only, bounded in
 * number and per client address, until the client first obtains tokens; only then is it written
 * to a JSON file (mode 0600, atomic, under a lock), itself bounded (least recently used go
 * first). So anonymous registrations cost no disk and cannot push out clients in use, and a
 * flood from a few addresses evicts only their own registrations, not the owner's fresh one.
 * Registrations that never obtained tokens do not survive a restart. Client IDs that are https
 * URLs are resolved by fetching their metadata document, cached for a bounded time.
 *
 * Requires `--allow-read` and `--allow-write` on the file's folder.
 *
 * @example
 * ```ts ignore
 * import { ClientStore } from "./client_store.ts";
 * import { fetchClientMetadata } from "./client_metadata_fetch.ts";
 * const clients = new ClientStore("/var/lib/mcp-run/serve/docs/clients.json", {
 *   fetchDocument: (url) => fetchClientMetadata(url),
 * });
 * ```
 */
export class ClientStore {
  #file: string;
  #fetch: (url: URL) => Promise<string>;
  #maxClients: number;
  #maxUnused: number;
  #maxPerAddress: number;
  #ttl: number;
  #maxDocuments: number;
  #now: () => number;
  #onError?: (error: Error) => void;
  #documents = new Map<string, { metadata: ClientMetadata; expiresAt: number }>();
  /** Client IDs whose document could not be fetched or used, until when. */
  #failed = new Map<string, number>();
  #fetching = new Map<string, Promise<ClientMetadata>>();
  /** The file's clients, parsed once and kept in step with every write. */
  #saved?: Map<string, StoredClient>;
  /** Registrations that never obtained tokens, oldest first. */
  #unused = new Map<string, UnusedClient>();

  /**
   * Use `file`; it is created when a client first obtains tokens.
   *
   * @param file The clients.json file.
   * @param options The document fetcher, bounds and clock.
   * @throws {RangeError} If a bound is below 1 or the TTL is negative or over a day.
   */
  constructor(file: string, options: ClientStoreOptions) {
    this.#file = file;
    this.#fetch = options.fetchDocument;
    this.#maxClients = options.maxClients ?? 500;
    this.#maxUnused = options.maxUnused ?? 1000;
    this.#maxPerAddress = options.maxUnusedPerAddress ?? 5;
    this.#ttl = options.documentTtlMs ?? 5 * 60_000;
    this.#maxDocuments = options.maxDocuments ?? 100;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError;
    if (
      !(this.#maxClients >= 1) || !(this.#maxDocuments >= 1) || !(this.#maxUnused >= 1) ||
      !(this.#maxPerAddress >= 1)
    ) {
      throw new RangeError("Cannot keep fewer than 1 client or document: give at least 1");
    }
    if (!(this.#ttl >= 0 && this.#ttl <= DAY_MS)) {
      throw new RangeError(
        `Cannot cache client metadata documents for ${this.#ttl} ms: give 0 to 86400000`,
      );
    }
  }

  /**
   * Register a client (RFC 7591) under a new random client ID, in memory until it first
   * obtains tokens ({@linkcode ClientStore.markUsed}).
   *
   * @param metadata The validated metadata ({@linkcode parseRegistrationRequest}).
   * @param address The registering client's address, so one address cannot evict others'.
   * @returns The registration, as the response returns it.
   */
  register(metadata: ClientMetadata, address = ""): Promise<RegisteredClient> {
    const client: RegisteredClient = {
      ...metadata,
      client_id: `mcpr_client_${randomToken(16)}`,
      client_id_issued_at: Math.floor(this.#now() / 1000),
    };
    const key = clientKey(address);
    const own = [...this.#unused].filter(([, u]) => u.key === key).map(([id]) => id);
    if (own.length >= this.#maxPerAddress) this.#unused.delete(own[0]);
    this.#unused.set(client.client_id, { client, key });
    if (this.#unused.size > this.#maxUnused) this.#evictUnused();
    return Promise.resolve(client);
  }

  /**
   * Find a client: a registered one by ID, or, for an https client ID, by fetching and
   * validating its metadata document (cached).
   *
   * @param clientId The `client_id` parameter.
   * @returns The client, or undefined if no such client is registered.
   * @throws {OAuthError} `invalid_client` if the client ID is a URL whose document cannot be
   *   fetched or is not acceptable.
   * @throws {SyntaxError} If the file is not a clients file.
   */
  async find(clientId: string): Promise<KnownClient | undefined> {
    if (clientId.startsWith("https:")) {
      return { clientId, metadata: await this.#document(clientId), source: "document" };
    }
    const client = this.#unused.get(clientId)?.client ??
      (await this.#load()).get(clientId)?.client;
    if (!client) return undefined;
    const { client_id: _, client_id_issued_at: __, ...metadata } = client;
    return { clientId, metadata, source: "registered" };
  }

  /**
   * Record that a registered client obtained tokens: a registration kept in memory is written
   * to the file; a saved one is written again only when its use is over a day old.
   *
   * @param clientId The client ID.
   * @returns Once written (nothing is written for unknown or document clients).
   * @throws {SyntaxError} If the file is not a clients file.
   */
  async markUsed(clientId: string): Promise<void> {
    if (clientId.startsWith("https:")) return;
    const now = this.#now();
    const unused = this.#unused.get(clientId);
    const saved = (await this.#load()).get(clientId);
    if (!unused && (!saved || (saved.used && now - saved.lastUsedAt < DAY_MS))) return;
    const client = unused?.client ?? saved!.client;
    await this.#edit((clients) => {
      const others = clients.filter((c) => c.client.client_id !== clientId)
        // Clients that obtained tokens before ones that never did, most recently used first.
        .sort((a, b) =>
          Number(b.used ?? false) - Number(a.used ?? false) || b.lastUsedAt - a.lastUsedAt
        )
        .slice(0, this.#maxClients - 1);
      return [...others, { client, lastUsedAt: now, used: true }];
    });
    this.#unused.delete(clientId);
  }

  /** Forget the oldest unused registration of the address that holds the most. */
  #evictUnused(): void {
    const counts = new Map<string, number>();
    for (const u of this.#unused.values()) counts.set(u.key, (counts.get(u.key) ?? 0) + 1);
    const most = Math.max(...counts.values());
    for (const [id, u] of this.#unused) {
      if (counts.get(u.key) === most) {
        this.#unused.delete(id);
        return;
      }
    }
  }

  async #document(clientId: string): Promise<ClientMetadata> {
    const now = this.#now();
    const cached = this.#documents.get(clientId);
    if (cached && cached.expiresAt > now) return cached.metadata;
    const url = checkClientIdUrl(clientId);
    const failed = this.#failed.get(clientId);
    if (failed !== undefined && failed > now) throw this.#unfetched(clientId);
    // One fetch per client ID at a time; every caller waits for it.
    const running = this.#fetching.get(clientId);
    if (running) return await running;
    if (this.#fetching.size >= MAX_FETCHING) {
      throw new OAuthError(
        "invalid_client",
        `Too many client metadata documents are being fetched; try "${clientId}" again in a few seconds`,
      );
    }
    const fetching = this.#fetchDocument(clientId, url);
    this.#fetching.set(clientId, fetching);
    try {
      return await fetching;
    } finally {
      this.#fetching.delete(clientId);
    }
  }

  async #fetchDocument(clientId: string, url: URL): Promise<ClientMetadata> {
    let metadata: ClientMetadata;
    try {
      metadata = parseClientMetadataDocument(clientId, await this.#fetch(url));
    } catch (cause) {
      // Failures are remembered a while, so a client ID cannot make this server fetch on every
      // request.
      this.#failed.delete(clientId);
      this.#failed.set(clientId, this.#now() + FAILURE_TTL_MS);
      while (this.#failed.size > this.#maxDocuments) {
        this.#failed.delete(this.#failed.keys().next().value!);
      }
      if (cause instanceof OAuthError) throw cause;
      // Why it failed (resolved addresses, TLS and HTTP details) would map the network behind
      // this server for whoever chose the URL: only the owner's log hears it.
      this.#onError?.(cause instanceof Error ? cause : new Error(String(cause)));
      throw this.#unfetched(clientId);
    }
    this.#failed.delete(clientId);
    this.#documents.delete(clientId);
    this.#documents.set(clientId, { metadata, expiresAt: this.#now() + this.#ttl });
    while (this.#documents.size > this.#maxDocuments) {
      this.#documents.delete(this.#documents.keys().next().value!);
    }
    return metadata;
  }

  #unfetched(clientId: string): OAuthError {
    return new OAuthError(
      "invalid_client",
      `The client metadata document "${clientId}" could not be fetched; check the client_id, or try again in a minute`,
    );
  }

  async #load(): Promise<Map<string, StoredClient>> {
    if (this.#saved) return this.#saved;
    let text: string;
    try {
      text = await Deno.readTextFile(this.#file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      text = JSON.stringify({ version: 1, clients: [] });
    }
    this.#saved = this.#index(this.#parse(text).clients);
    return this.#saved;
  }

  #index(clients: StoredClient[]): Map<string, StoredClient> {
    return new Map(clients.map((c) => [c.client.client_id, c]));
  }

  async #edit(change: (clients: StoredClient[]) => StoredClient[]): Promise<void> {
    let written: StoredClient[] = [];
    await updateFile(this.#file, (text) => {
      const clients = text === null ? [] : this.#parse(text).clients;
      written = change(clients);
      const file: ClientFile = { version: 1, clients: written };
      return JSON.stringify(file) + "\n";
    }, { mode: 0o600, forceMode: true, backup: false });
    this.#saved = this.#index(written);
  }

  #parse(text: string): ClientFile {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new SyntaxError(
        `Cannot read the clients file "${this.#file}": it is not JSON; delete it (clients register again)`,
        { cause },
      );
    }
    const file = data as Partial<ClientFile> | null;
    if (file?.version !== 1 || !Array.isArray(file.clients)) {
      throw new SyntaxError(
        `Cannot read the clients file "${this.#file}": it is not a version 1 clients file; delete it (clients register again)`,
      );
    }
    return file as ClientFile;
  }
}
