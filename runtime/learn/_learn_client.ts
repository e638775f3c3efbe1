/**
 * The MCP side of a learn run: what the server offers, and the tool calls asked for.
 *
 * @module
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { type connectServer, listAdvertised } from "../sandbox/connect.ts";

/** One tool call made during learn. */
export interface LearnCall {
  /** The tool's name. */
  tool: string;
  /** Its arguments. */
  arguments?: Record<string, unknown>;
}

/** What the server offers. */
export interface LearnOffering {
  /** Tool names. */
  tools: string[];
  /** Prompt names. */
  prompts: string[];
  /** Resource URIs. */
  resources: string[];
  /**
   * The lists the server answered with an error (`tools/list: MCP error -32603: fetch failed`):
   * such a list reads as empty, though the server may offer more once it has what it needs.
   */
  errors?: string[];
}

/** What the server offers, with each tool's input schema (for probe calls). */
export interface ListedOffering extends LearnOffering {
  /** Each tool's `inputSchema`, by name. */
  schemas: Record<string, unknown>;
}

/** The outcome of one tool call during learn. */
export interface LearnCallResult {
  /** The tool. */
  tool: string;
  /** Whether the call returned without an error. */
  ok: boolean;
  /** Whether learn made the call itself, with sample arguments (see `probe`). */
  probe?: boolean;
  /** The start of its text content, or the error. */
  text: string;
}

/** A connected server, as `connectServer` returns it. */
export type Connected = Awaited<ReturnType<typeof connectServer>>;

/**
 * Lists what the server offers; a list it advertises but answers with an error stays empty, and
 * the error is kept in `errors`.
 *
 * @param connected The connected server.
 * @returns Tool and prompt names, resource URIs, the tools' input schemas.
 * @throws {ServerExitedError} When the server ended; `Deno.errors.TimedOut` when it went silent.
 */
export async function listOffering(connected: Connected): Promise<ListedOffering> {
  const { tools, prompts, resources, problems } = await listAdvertised(connected);
  const listed = {
    tools: tools.map((t) => t.name),
    prompts: prompts.map((p) => p.name),
    resources: resources.map((r) => r.uri),
    schemas: Object.fromEntries(tools.map((t) => [t.name, t.inputSchema as unknown])),
  };
  return problems.length ? { ...listed, errors: problems } : listed;
}

/**
 * Calls one tool; a failure is a result, not an error (the run goes on to the next call).
 *
 * @param connected The connected server.
 * @param call The tool and its arguments.
 * @param timeoutMs A shorter wait than the connection's, in milliseconds.
 * @returns Whether it succeeded and the start of its text.
 */
export async function callTool(
  connected: Connected,
  call: LearnCall,
  timeoutMs?: number,
): Promise<LearnCallResult> {
  try {
    const result = await connected.request<CallToolResult>(
      "tools/call",
      (o) =>
        connected.client.callTool(
          { name: call.tool, arguments: call.arguments ?? {} },
          undefined,
          { ...o, timeout: Math.min(o.timeout, timeoutMs ?? o.timeout) },
        ),
    );
    const content = (result.content ?? []) as { type: string; text?: string }[];
    const text = content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
    return { tool: call.tool, ok: !result.isError, text: text.slice(0, 2000) };
  } catch (error) {
    return {
      tool: call.tool,
      ok: false,
      text: error instanceof Error ? error.message : String(error),
    };
  }
}
