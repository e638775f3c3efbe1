/**
 * The MCP TypeScript SDK v2 client (`@modelcontextprotocol/client`), which speaks protocol
 * 2026-07-28 (stateless) when it negotiates it, for tests of both generations on one endpoint.
 *
 * @module
 */
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { type FetchLike, LOCAL_URL } from "./_bridge_helpers.ts";

/** Options for {@linkcode connectModernClient}. */
export interface ConnectModernClientOptions {
  /** The MCP endpoint. Default `LOCAL_URL`. */
  url?: string;
  /** fetch to use (in-process or the real one). */
  fetch?: FetchLike;
  /** Bearer token to send. */
  token?: string;
  /**
   * `modern`: 2026-07-28 only, no fallback. `auto`: probe with `server/discover`, fall back to
   * `initialize`. `legacy`: the 2025 handshake (the v2 client's default).
   */
  negotiation?: "modern" | "auto" | "legacy";
}

/**
 * Connects a v2 SDK client over Streamable HTTP.
 *
 * @param options Where, how, and which negotiation.
 * @returns The connected client.
 */
export async function connectModernClient(
  options: ConnectModernClientOptions = {},
): Promise<Client> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  const transport = new StreamableHTTPClientTransport(new URL(options.url ?? LOCAL_URL), {
    fetch: options.fetch as typeof fetch | undefined,
    requestInit: { headers },
  });
  const negotiation = options.negotiation ?? "modern";
  const client = new Client({ name: "modern-test", version: "1.0.0" }, {
    versionNegotiation: {
      mode: negotiation === "modern" ? { pin: "2026-07-28" } : negotiation,
    },
  });
  await client.connect(transport);
  return client;
}

/**
 * Calls a tool with a v2 client and returns its first text content.
 *
 * @param client The client.
 * @param name The tool.
 * @param args Its arguments.
 * @returns The text.
 */
export async function modernCallText(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text?: string }[];
  return content[0]?.text ?? "";
}
