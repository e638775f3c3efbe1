/**
 * The options that set the MCP-layer guard of `run` and `serve` (and of launcher-form client
 * entries, which run `mcp-run run`), read into the guard's settings.
 *
 * @module
 */
import type { GuardOptions } from "../guard/guard_options.ts";
import { type GuardStage, guardStages } from "../guard/guard_options.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { type CliContext, UsageError } from "./context.ts";

/** The guard's options as parsed (strings as typed). */
export interface GuardFlags {
  /** `--request-timeout SECONDS` (run; serve reads it for its bridge). */
  "request-timeout"?: string;
}

/** The guard options `run` and `serve` take (besides `--request-timeout`, which both have). */
export const GUARD_OPTIONS: readonly string[] = [];

/** What a launch's guard is made of. */
export interface GuardSetup {
  /** The checks, in order. */
  stages: GuardStage[];
  /** Milliseconds a client request may wait (`run` only; undefined: no limit). */
  requestTimeoutMs?: number;
}

/**
 * Reads the guard's options for a launch.
 *
 * @param ctx CLI context (the cache root, where the guard keeps its state).
 * @param server The resolved server (its manifest's guard settings).
 * @param flags The options as parsed (`serve`'s `--session-mode` among them).
 * @returns The stages and the timeout.
 * @throws {UsageError} When an option's value is not valid.
 */
export function guardSetup(
  ctx: CliContext,
  server: ResolvedServer,
  flags: GuardFlags & { "session-mode"?: string },
): GuardSetup {
  const options: GuardOptions = {
    cacheRoot: ctx.target.cacheRoot,
    checkServerRequests: flags["session-mode"] !== "shared",
  };
  return {
    stages: guardStages(server, options),
    requestTimeoutMs: seconds("request-timeout", flags["request-timeout"]),
  };
}

/** Reads a positive number of seconds as milliseconds. */
function seconds(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--${flag} must be a positive number of seconds, got "${text}"`);
  }
  return Math.ceil(value * 1000);
}
