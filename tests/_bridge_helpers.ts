/**
 * Helpers for the HTTP bridge tests: real `deno run` children over stdio, an in-process fetch
 * that calls a handler without sockets, and a real MCP SDK client.
 *
 * @module
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { ClientInfo, HttpBridge } from "../runtime/http/bridge.ts";
import { DenoChildTransport } from "./_deno_child_transport.ts";

/** The repository root, absolute. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** The fixture server used by most bridge tests. */
export const FIXTURE: string = `${ROOT}tests/testdata/bridge_fixture_server.ts`;

let fixturesCached: Promise<void> | undefined;

/**
 * Caches the fixture servers' dependencies once per test process, so their `--cached-only`
 * children start from an empty Deno cache too (the same cache: children get the same HOME).
 *
 * @returns When `deno cache` has finished.
 * @throws {Error} When the dependencies cannot be cached (with deno's output).
 */
export function cacheFixtures(): Promise<void> {
  fixturesCached ??= (async () => {
    const conformance = `${ROOT}servers/conformance/`;
    for (
      const args of [
        ["--no-config", FIXTURE],
        ["--config", `${conformance}deno.json`, `${conformance}mod.ts`],
      ]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["cache", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`Cannot cache ${args.at(-1)}:\n${new TextDecoder().decode(out.stderr)}`);
      }
    }
  })();
  return fixturesCached;
}

/** Children started by a factory, by pid. */
export interface Children {
  /** The `connect` factory for the bridge. */
  connect: () => Promise<Transport>;
  /** Every pid started so far. */
  pids: number[];
  /** How many times `connect` was called. */
  readonly starts: number;
}

/** Options for {@linkcode denoChildren}. */
export interface DenoChildrenOptions {
  /** `fixture` (default) or `conformance`. */
  server?: "fixture" | "conformance";
  /** Environment given to the child (beside what the SDK passes: HOME, PATH, …). */
  env?: Record<string, string>;
  /** Extra deno flags, e.g. `--allow-env`. */
  flags?: string[];
  /** Delay before `connect` resolves (a slow start). */
  startDelayMs?: number;
  /** Make `connect` fail. */
  fail?: boolean;
}

/**
 * A `connect` factory that starts a real `deno run` child with a minimal flag set.
 *
 * @param options Which server and flags.
 * @returns The factory and the pids it started.
 */
export function denoChildren(options: DenoChildrenOptions = {}): Children {
  const pids: number[] = [];
  let starts = 0;
  const script = options.server === "conformance"
    ? ["--config", `${ROOT}servers/conformance/deno.json`, `${ROOT}servers/conformance/mod.ts`]
    : ["--no-config", FIXTURE];
  class Tracked extends DenoChildTransport {
    override async start(): Promise<void> {
      await super.start();
      if (this.pid !== undefined) pids.push(this.pid);
    }
  }
  const home = Deno.env.get("HOME") ?? "/root";
  const denoDir = Deno.env.get("DENO_DIR");
  return {
    pids,
    get starts() {
      return starts;
    },
    connect: async () => {
      starts++;
      if (options.startDelayMs) await new Promise((r) => setTimeout(r, options.startDelayMs));
      if (options.fail) throw new Error("spawn refused by the test");
      await cacheFixtures();
      return new Tracked({
        command: Deno.execPath(),
        args: ["run", "--no-prompt", "--cached-only", ...(options.flags ?? []), ...script],
        env: { HOME: home, ...(denoDir ? { DENO_DIR: denoDir } : {}), ...options.env },
        cwd: ROOT,
      });
    },
  };
}

/**
 * Whether a process is still alive (not a zombie).
 *
 * @param pid The process id.
 * @returns True while it runs.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Waits until every pid has exited, or throws after `timeoutMs`.
 *
 * @param pids The processes.
 * @param timeoutMs How long to wait.
 */
export async function waitAllExited(pids: number[], timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) {
      throw new Error(`Children still alive: ${pids.filter(isAlive).join(", ")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A fetch that hands requests to a handler in-process, as if from `hostname`. */
export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that calls `bridge.handler` directly: no sockets.
 *
 * @param bridge The bridge.
 * @param info The peer address the handler sees.
 * @returns The fetch function.
 */
export function inProcessFetch(
  bridge: HttpBridge,
  info: ClientInfo = { remoteAddr: { hostname: "127.0.0.1" } },
): FetchLike {
  return (url, init) => {
    const request = new Request(url, init);
    // Like a real client: the Host header names the URL's authority.
    if (!request.headers.has("host")) request.headers.set("host", new URL(url).host);
    return bridge.handler(request, info);
  };
}

/** The URL in-process clients use; its Host must be allowed by the bridge. */
export const LOCAL_URL = "http://127.0.0.1:8808/mcp";
/** The Host of {@linkcode LOCAL_URL}. */
export const LOCAL_HOST = "127.0.0.1:8808";

/** Options for {@linkcode connectClient}. */
export interface ConnectClientOptions {
  /** The MCP endpoint. Default {@linkcode LOCAL_URL}. */
  url?: string;
  /** fetch to use (in-process or the real one). */
  fetch?: FetchLike;
  /** Bearer token to send. */
  token?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Answer sampling requests with this text. */
  sampleText?: string;
  /** Answer roots/list with these. */
  roots?: { uri: string; name?: string }[];
}

/**
 * Connects a real MCP SDK client over Streamable HTTP, with sampling, elicitation and roots.
 *
 * @param options Where and how.
 * @returns The connected client and its transport.
 */
export async function connectClient(
  options: ConnectClientOptions = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  const transport = new StreamableHTTPClientTransport(new URL(options.url ?? LOCAL_URL), {
    fetch: options.fetch,
    requestInit: { headers },
  });
  const client = new Client({ name: "bridge-test", version: "1.0.0" }, {
    capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
  });
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    role: "assistant",
    content: { type: "text", text: options.sampleText ?? "sampled-by-client" },
    model: "test-model",
  }));
  client.setRequestHandler(ElicitRequestSchema, () => ({
    action: "accept",
    content: { response: "elicited" },
  }));
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: options.roots ?? [{ uri: "file:///tmp/root-a", name: "a" }],
  }));
  await client.connect(transport);
  return { client, transport };
}

/**
 * Calls a tool and returns its first text content.
 *
 * @param client The client.
 * @param name The tool.
 * @param args Its arguments.
 * @param options Request options (signal, onprogress, timeout).
 * @returns The text.
 */
export async function callText(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  options?: Parameters<Client["callTool"]>[2],
): Promise<string> {
  const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, options);
  const content = result.content as { type: string; text?: string }[];
  return content[0]?.text ?? "";
}
