/**
 * JSON-RPC as the bridge relays it: the error codes it answers with, and the loose message shape
 * it reads (the SDK's types are a union too narrow to rewrite ids in).
 *
 * @module
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** A JSON-RPC request id. */
export type RequestId = string | number;

/** JSON-RPC error codes the bridge answers with. */
export const BridgeErrorCode = {
  /** The server process exited, could not start, or could not be written to. */
  ServerUnavailable: -32000,
  /** The server did not answer within the request timeout. */
  RequestTimeout: -32001,
  /** The request cannot be routed or was refused by the bridge. */
  InvalidRequest: -32600,
  /** The bridge could not route a server-initiated request to a client. */
  InternalError: -32603,
  /** The client cancelled the request. */
  RequestCancelled: -32800,
} as const;

/** Any JSON-RPC message, read field by field. */
export interface Message {
  /** Always "2.0". */
  jsonrpc: "2.0";
  /** Request or response id. */
  id?: RequestId | null;
  /** Request or notification method. */
  method?: string;
  /** Parameters, with the MCP `_meta` (progress tokens). */
  params?: Record<string, unknown> & { _meta?: Record<string, unknown> };
  /** A response's result. */
  result?: unknown;
  /** A response's error. */
  error?: { code: number; message: string; data?: unknown };
}

/** Lets a promise run without its rejection going unhandled. */
export function settle(promise: Promise<unknown>): void {
  promise.catch(() => {});
}

/** A JSON-RPC error response. */
export function errorResponse(id: RequestId, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code, message } } as JSONRPCMessage;
}

/** Whether a value can be a request id or progress token. */
export function isToken(value: unknown): value is string | number {
  return typeof value === "string" || typeof value === "number";
}

/**
 * Whether a value is a JSON object (not null, not an array).
 *
 * @param value Any parsed JSON value.
 * @returns True for an object.
 * @example
 * ```ts
 * import { isObject } from "./_messages.ts";
 * console.assert(isObject({ a: 1 }) && !isObject([1]) && !isObject(null));
 * ```
 */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
