/**
 * Serves the conformance server natively over MCP Streamable HTTP: one server per session,
 * resumable SSE streams (SEP-1699) and DNS-rebinding protection for loopback binds.
 *
 * @module
 */
import {
  type EventStore,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { createConformanceServer, type CreateConformanceServerOptions } from "./server.ts";

/** Options for {@linkcode createConformanceHandler}. */
export interface CreateConformanceHandlerOptions extends CreateConformanceServerOptions {
  /** Accepted `Host` header values (`host:port`). Requests with another Host get 403. */
  allowedHosts: string[];
  /** The endpoint path. Default `/mcp`. */
  path?: string;
  /** Most events kept for replay across all streams. Default 10 000. */
  maxStoredEvents?: number;
}

/** A web-standard request handler and a way to end every session. */
export interface ConformanceHandler {
  /** Handles one HTTP request. */
  handler: (request: Request) => Promise<Response>;
  /** Closes every session. */
  close: () => Promise<void>;
}

/**
 * Creates the conformance server's Streamable HTTP handler.
 *
 * @param options Allowed hosts, path and the server's step delay.
 * @returns The handler and a `close()` that ends every session.
 * @example
 * ```ts ignore
 * const { handler } = createConformanceHandler({ allowedHosts: ["localhost:3000"] });
 * Deno.serve({ hostname: "127.0.0.1", port: 3000 }, handler);
 * ```
 */
export function createConformanceHandler(
  options: CreateConformanceHandlerOptions,
): ConformanceHandler {
  const path = options.path ?? "/mcp";
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const eventStore = createMemoryEventStore(options.maxStoredEvents ?? 10_000);

  const reply = (status: number, message: string): Response =>
    Response.json({
      jsonrpc: "2.0",
      error: { code: -32000, message },
      id: null,
    }, { status });

  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (url.pathname !== path) return reply(404, "Not found");
    const host = request.headers.get("host");
    if (host === null || !options.allowedHosts.includes(host)) {
      return reply(403, `Invalid Host header: ${host}`);
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId !== null) {
      const transport = sessions.get(sessionId);
      if (transport === undefined) return reply(404, "Session not found");
      return await transport.handleRequest(request);
    }
    if (request.method !== "POST") {
      return reply(400, "Mcp-Session-Id header is required");
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return Response.json(
        {
          jsonrpc: "2.0",
          error: { code: -32700, message: "Parse error" },
          id: null,
        },
        { status: 400 },
      );
    }
    const isInitialize = !Array.isArray(body) && typeof body === "object" &&
      body !== null &&
      (body as { method?: unknown }).method === "initialize";
    if (!isInitialize) return reply(400, "Mcp-Session-Id header is required");
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      eventStore,
      retryInterval: 1000,
      onsessioninitialized: (id: string) => {
        sessions.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) {
        sessions.delete(transport.sessionId);
      }
    };
    await createConformanceServer(options).connect(transport);
    return await transport.handleRequest(request, { parsedBody: body });
  };

  const close = async (): Promise<void> => {
    await Promise.all(
      [...sessions.values()].map((transport) => transport.close()),
    );
  };
  return { handler, close };
}

/**
 * An in-memory event store bounded to `maxEvents`; the oldest events are dropped first.
 * Event ids sort in insertion order within a stream.
 */
function createMemoryEventStore(maxEvents: number): EventStore {
  const events = new Map<
    string,
    { streamId: string; message: JSONRPCMessage }
  >();
  let counter = 0;
  return {
    storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
      const eventId = `${streamId}::${String(++counter).padStart(12, "0")}`;
      events.set(eventId, { streamId, message });
      if (events.size > maxEvents) events.delete(events.keys().next().value!);
      return Promise.resolve(eventId);
    },
    getStreamIdForEventId(eventId: string): Promise<string | undefined> {
      const streamId = eventId.split("::")[0];
      return Promise.resolve(streamId === "" ? undefined : streamId);
    },
    async replayEventsAfter(
      lastEventId: string,
      { send }: {
        send: (eventId: string, message: JSONRPCMessage) => Promise<void>;
      },
    ): Promise<string> {
      const streamId = lastEventId.split("::")[0];
      for (const [eventId, event] of events) {
        if (event.streamId !== streamId || eventId <= lastEventId) continue;
        if (Object.keys(event.message).length === 0) continue;
        await send(eventId, event.message);
      }
      return streamId;
    },
  };
}
