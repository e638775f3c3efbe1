/**
 * An MCP client's OAuth side as a person uses it: an `OAuthClientProvider` for the MCP SDK
 * clients (v1 `@modelcontextprotocol/sdk` and v2 `@modelcontextprotocol/client`) whose
 * "browser" is headless Chromium, signing the owner in on mcp-run's consent page and landing on
 * a loopback callback; plus what end-to-end tests of `serve --auth oauth` share.
 *
 * @module
 */
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type { Tab } from "../runtime/auth/_chromium_fixture.ts";
import { JsonFileTokenStore } from "../runtime/auth/token_file_store.ts";
import { cli } from "./_helpers.ts";

/** A loopback listener standing in for a native client's redirect URI. */
export interface Callback {
  /** The redirect URI. */
  url: string;
  /** Every URL the browser landed on. */
  hits: string[];
  /** Stop listening. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 for the browser's redirect back to the client.
 *
 * @returns The callback.
 */
export function callbackServer(): Callback {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    hits.push(req.url);
    return new Response("signed in; you may close this tab", {
      headers: { "Content-Type": "text/plain" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/callback`,
    hits,
    close: () => server.shutdown(),
  };
}

/**
 * The client side of OAuth for the SDK clients, with Chromium as the user agent: each
 * authorization opens the consent page, types the passphrase, approves, and waits for the
 * redirect to the callback (kept in {@linkcode BrowserOAuthProvider.landed}).
 */
export class BrowserOAuthProvider {
  /** The redirect URI. */
  readonly redirectUrl: string;
  /** How many times the SDK sent the person to sign in. */
  signIns = 0;
  /** Where the browser landed after the last sign-in. */
  landed?: URL;
  /** Every token response the SDK saved (the first from the code, then refreshes). */
  saved: OAuthTokens[] = [];
  #tab: Tab;
  #passphrase: string;
  #client?: OAuthClientInformationMixed;
  #tokens?: OAuthTokens;
  #verifier = "";
  #discovery?: OAuthDiscoveryState;

  /**
   * @param tab The browser tab.
   * @param callbackUrl The loopback redirect URI.
   * @param passphrase The owner's passphrase to type.
   */
  constructor(tab: Tab, callbackUrl: string, passphrase: string) {
    this.#tab = tab;
    this.redirectUrl = callbackUrl;
    this.#passphrase = passphrase;
  }

  /** The metadata the SDK registers the client with. */
  get clientMetadata(): OAuthClientMetadata {
    return {
      redirect_uris: [this.redirectUrl],
      client_name: "SDK client in Chromium",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** @returns The registered client, once registered. */
  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  /** @param client The registered client. */
  saveClientInformation(client: OAuthClientInformationMixed): void {
    this.#client = client;
  }

  /** @returns The current tokens. */
  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  /** @param tokens New tokens. */
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
    this.saved.push(tokens);
  }

  /** @param verifier The PKCE verifier. */
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  /** @returns The PKCE verifier. */
  codeVerifier(): string {
    return this.#verifier;
  }

  /** @param state What discovery found (kept to bind the callback to its server). */
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  /** @returns What discovery found. */
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  /** @param scope What the SDK found invalid. */
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if (scope === "all" || scope === "client") this.#client = undefined;
    if (scope === "all" || scope === "discovery") this.#discovery = undefined;
  }

  /** @param url The authorization URL: signs in on it in the browser. */
  async redirectToAuthorization(url: URL): Promise<void> {
    this.signIns++;
    await this.#tab.navigate(url.href);
    await this.#tab.evaluate(
      `document.querySelector('[name=passphrase]').value = ${JSON.stringify(this.#passphrase)};
       document.querySelector('button[value=approve]').click()`,
    );
    this.landed = new URL(await this.#tab.waitForUrl(this.redirectUrl));
  }

  /**
   * @returns The code of the last sign-in.
   * @throws {Error} If the browser did not land on the callback with one.
   */
  code(): string {
    const code = this.landed?.searchParams.get("code");
    if (!code) throw new Error(`no code in the callback: ${this.landed}`);
    return code;
  }
}

/**
 * Sets the owner's passphrase in a state root with the real CLI (one line on stdin).
 *
 * @param stateDir The state root.
 * @param passphrase The passphrase.
 * @throws {Error} If the command fails.
 */
export async function setPassphrase(stateDir: string, passphrase: string): Promise<void> {
  const r = await cli(["serve", "--set-passphrase", "--state-dir", stateDir], {
    stdin: `${passphrase}\n`,
  });
  if (r.code !== 0) throw new Error(`--set-passphrase failed: ${r.stderr}`);
}

/**
 * Expires every access token in a server's store now (as an hour passing would), leaving the
 * refresh tokens: the running serve sees the change at its next check.
 *
 * @param tokensFile The server's tokens.json.
 * @returns How many access tokens were expired.
 */
export async function expireAccessTokens(tokensFile: string): Promise<number> {
  const store = new JsonFileTokenStore(tokensFile);
  const access = (await store.list()).filter((t) => t.kind === "access");
  for (const token of access) await store.put({ ...token, expiresAt: Date.now() - 1000 });
  return access.length;
}

/**
 * A loopback port free right now.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
