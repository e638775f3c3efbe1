/**
 * Connect an MCP SDK client to a sandboxed server: the building block of `inspect` and `call`.
 *
 * @module
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Prompt, Resource, ResourceTemplate, Tool } from "@modelcontextprotocol/sdk/types.js";
import { isServerAnswer, listPages } from "../guard/_lists.ts";
import type { LaunchPlan, PrepareServerOptions } from "./launch_plan.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { ServerExitedError, ServerProcess, SpawnServerOptions } from "./server_process.ts";
import { DenoSandbox } from "./deno_sandbox.ts";
import { openAuditChannel } from "../learn/audit_channel.ts";
import { osErrorMessage } from "../_os_error.ts";
import type { DenialLog } from "../learn/denial_log.ts";
import type { Sandbox } from "./sandbox.ts";
import { ProcessTransport } from "./stdio_transport.ts";

/** Options for {@linkcode connectServer}. */
export interface ConnectServerOptions extends PrepareServerOptions, SpawnServerOptions {
  /**
   * The sandbox to prepare and start the server in (default: a {@linkcode DenoSandbox} made from
   * these options).
   */
  sandbox?: Sandbox;
  /** A plan from the sandbox to start instead of a fresh one. */
  plan?: LaunchPlan;
  /**
   * Records the server's refused accesses here: an audit channel is opened for the launch
   * (alongside its preparation) and read until the server stops. When none can be made or
   * opened, the server starts without one (one warning line on `onStderr`) and the log stays
   * empty.
   */
  denials?: DenialLog;
  /** The client's name in `initialize` (default `mcp-run`). */
  clientName?: string;
  /**
   * How long to wait for each answer from the server, in milliseconds: the answer to
   * `initialize` (its start-up), and to each {@linkcode ConnectedServer.request}. Default
   * {@linkcode DEFAULT_TIMEOUT_MS}.
   */
  timeoutMs?: number;
}

/** The default of {@linkcode ConnectServerOptions.timeoutMs}: the MCP SDK's own, 60 s. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** A connected client and the way to stop its server. */
export interface ConnectedServer {
  /** The MCP SDK client, initialized. */
  client: Client;
  /** The transport (and through it, the process). */
  transport: ProcessTransport;
  /** Closes the client and stops the server for sure. */
  close(): Promise<void>;
  /**
   * Sends one request through {@linkcode ConnectedServer.client}, bounded by the connection's
   * timeout, and explains a failure that is not an answer from the server: when the server
   * ended, its {@linkcode ServerExitedError} (exit code, end of stderr); when it did not answer in
   * time, a `Deno.errors.TimedOut` naming the server, the request and how to allow more time.
   *
   * @param method The request's MCP method, for messages (`tools/call`).
   * @param send Sends the request with the options given (pass them on to the SDK call).
   * @returns What `send` returns.
   * @throws {ServerExitedError} When the server ended before it answered.
   * @throws {Deno.errors.TimedOut} When it did not answer in time.
   */
  request<T>(method: string, send: (options: { timeout: number }) => Promise<T>): Promise<T>;
}

/**
 * Prepares (pull, verify), starts and initializes a server, returning a connected MCP client.
 *
 * Requires `--allow-run` for Deno (or docker) and read/write access to the cache root.
 *
 * @param server A resolved server.
 * @param options The sandbox (default: native, from the cache root and environment given),
 *   bounds, an optional plan from the sandbox.
 * @returns The connected client.
 * @throws {CacheError} When the cache is missing or tampered with.
 * @throws {ServerExitedError} When the server exits before it answers `initialize`; it carries the
 *   exit code and the end of the server's stderr.
 * @throws {Deno.errors.TimedOut} When the server does not answer `initialize` within
 *   `timeoutMs`; the message names the server and quotes the end of its stderr.
 *
 * @example
 * ```ts ignore
 * import { cacheRoot, connectServer, loadManifest, resolveServer } from "jsr:@sandboxed/mcp-run";
 * const { manifest } = await loadManifest("everything");
 * const root = cacheRoot();
 * const server = await connectServer(resolveServer(manifest, { cacheRoot: root }), { cacheRoot: root });
 * console.log((await server.client.listTools()).tools.length);
 * await server.close();
 * ```
 */
export async function connectServer(
  server: ResolvedServer,
  options: ConnectServerOptions,
): Promise<ConnectedServer> {
  const sandbox = options.sandbox ?? new DenoSandbox(options);
  const started = await startIn(sandbox, server, options);
  const transport = new ProcessTransport(started.process);
  try {
    await started.verify();
  } catch (error) {
    await transport.close();
    throw error;
  }
  // Loaded on use, so the CLI's `run` path starts without the SDK.
  const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
  const client = new Client({ name: options.clientName ?? "mcp-run", version: "0.1.0" });
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    await client.connect(transport, { timeout });
  } catch (error) {
    const failure = await explainFailure(transport, error, "initialize", timeout);
    await transport.close();
    throw failure;
  }
  return {
    client,
    transport,
    close: async () => {
      await client.close().catch(() => {});
      await transport.close();
    },
    request: async (method, send) => {
      try {
        return await send({ timeout });
      } catch (error) {
        throw await explainFailure(transport, error, method, timeout);
      }
    },
  };
}

/** Plans, prepares and starts a server in a sandbox; its cache check may still be running. */
async function startIn(
  sandbox: Sandbox,
  server: ResolvedServer,
  options: ConnectServerOptions,
): Promise<{ process: ServerProcess; verify: () => Promise<unknown> }> {
  const plan = options.plan ?? sandbox.plan(server);
  // A channel that cannot be made or opened leaves the server unreported (said once), not
  // unstarted: the plan then names no audit file, which Deno would wait on for a reader.
  const warn = options.onStderr ?? ((line: string) => console.error(line));
  const opening = options.denials
    ? openAuditChannel({ cacheRoot: options.cacheRoot, log: options.denials }).catch((error) => {
      warn(`mcp-run: refused accesses will not be reported: ${osErrorMessage(error as Error)}`);
      return undefined;
    })
    : undefined;
  let prepared;
  try {
    prepared = await sandbox.prepare(server);
  } catch (error) {
    await (await opening)?.close();
    throw error;
  }
  const audit = await opening;
  try {
    return { process: sandbox.spawn(server, { ...options, plan, audit }), verify: prepared.verify };
  } catch (error) {
    await audit?.close();
    throw error;
  }
}

/** The SDK's codes for a closed connection and for a request that timed out. */
const CONNECTION_CLOSED = -32000;
const REQUEST_TIMEOUT = -32001;
/** How long a failed request waits for the server's exit before it is reported as it came. */
const EXIT_WAIT_MS = 2000;

/**
 * Turns a failed request into what happened to the server: its exit, or its silence.
 */
async function explainFailure(
  transport: ProcessTransport,
  error: unknown,
  method: string,
  timeoutMs: number,
): Promise<Error> {
  const name = transport.process.name;
  const { code, data } = (error ?? {}) as { code?: unknown; data?: { timeout?: unknown } };
  const sdkError = (error as Error)?.name === "McpError";
  // The SDK's own timeout carries the timeout it waited (a server's error with this code does not).
  if (sdkError && code === REQUEST_TIMEOUT && data?.timeout === timeoutMs) {
    const seconds = Math.round(timeoutMs / 100) / 10;
    const why = method === "initialize"
      ? ": it may not be an MCP server speaking stdio, or it needs longer to start"
      : "";
    const tail = transport.process.stderrTail;
    return new Deno.errors.TimedOut(
      `Server "${name}" did not answer ${method} within ${seconds} s${why}. Allow more time ` +
        `with --timeout SECONDS.${
          tail ? `\nThe end of its stderr:\n${tail}` : " It wrote nothing to stderr."
        }`,
      { cause: error },
    );
  }
  // A connection that broke (a write into a closed pipe, a stream that ended) is explained by
  // the server's exit. Anything else (an error the server answered, an answer the SDK refused)
  // stands as it is: the server may exit only because the SDK then closed the connection.
  const broken = (sdkError && code === CONNECTION_CLOSED) ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset;
  if (!broken) return error as Error;
  const exited: ServerExitedError | undefined = await transport.exitError(EXIT_WAIT_MS);
  return exited ?? (error as Error);
}

/** What a server lists, from each list it advertises, and what it says of itself. */
export interface ServerOffering {
  /** Its tools. */
  tools: Tool[];
  /** Its prompts. */
  prompts: Prompt[];
  /** Its resources. */
  resources: Resource[];
  /** Its resource templates. */
  resourceTemplates: ResourceTemplate[];
  /** The instructions of its `initialize` answer (what a client may give the model). */
  instructions?: string;
  /**
   * The lists it advertises but answered with an error, each as `<method>: <error>` (such a list
   * reads as empty; some servers advertise lists they do not serve).
   */
  problems: string[];
}

/**
 * Lists the tools, prompts, resources and resource templates a connected server advertises, every
 * page of each, with the guard's bounded lister (so `inspect` and `call` judge what a guarded
 * client would be shown). A list it answers with an error of its own is empty and the error kept
 * (not for templates, which servers with resources often do not serve); a server that ended or
 * went silent fails.
 *
 * @param connected The connected server.
 * @returns Its offering.
 * @throws {ServerExitedError} When the server ended before it answered.
 * @throws {Deno.errors.TimedOut} When it did not answer in time.
 *
 * @example
 * ```ts ignore
 * const { tools, problems } = await listAdvertised(await connectServer(server, options));
 * ```
 */
export async function listAdvertised(connected: ConnectedServer): Promise<ServerOffering> {
  const { client } = connected;
  const { ResultSchema } = await import("@modelcontextprotocol/sdk/types.js");
  const caps = client.getServerCapabilities() ?? {};
  const problems: string[] = [];
  // The raw result (a loose schema keeps every field): judged exactly as the guard sees it.
  const request = (method: string, params?: Record<string, unknown>) =>
    connected.request(
      method,
      (o) => client.request({ method, params } as never, ResultSchema, o),
    ) as Promise<Record<string, unknown>>;
  const list = async <T>(advertised: unknown, method: string, quiet = false): Promise<T[]> => {
    if (!advertised) return [];
    try {
      return await listPages(request, method) as T[];
    } catch (error) {
      if (!isServerAnswer(error)) throw error;
      if (!quiet) problems.push(`${method}: ${(error as Error).message}`);
      return [];
    }
  };
  const instructions = client.getInstructions();
  return {
    tools: await list<Tool>(caps.tools, "tools/list"),
    prompts: await list<Prompt>(caps.prompts, "prompts/list"),
    resources: await list<Resource>(caps.resources, "resources/list"),
    resourceTemplates: await list<ResourceTemplate>(
      caps.resources,
      "resources/templates/list",
      true,
    ),
    ...(typeof instructions === "string" ? { instructions } : {}),
    problems,
  };
}
