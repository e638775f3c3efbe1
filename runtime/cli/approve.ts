/**
 * `mcp-run approve <server>`: starts the server sandboxed, reads its tools, prompts and resource
 * templates, shows them (or what changed since they were approved) and pins them on approval;
 * `--diff` only shows what changed. Thin: the listing, hashing and comparing live in the guard.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import { DEFINITION_KINDS } from "../guard/definition_hash.ts";
import { describeChange, describeDefinition, diffPins, type PinChange } from "../guard/pin_diff.ts";
import {
  type PinnedSet,
  type PinRecord,
  pinSet,
  pinsFile,
  readPins,
  writePins,
} from "../guard/pin_store.ts";
import { listDefinitions } from "../guard/pins.ts";
import { formatFinding, scanDefinition } from "../guard/scan.ts";
import type { DefinitionKind } from "../guard/definition_hash.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs, secondsOption } from "./context.ts";
import { askYesNo, type QuestionOptions } from "./_question.ts";
import { resolveFor } from "./launch.ts";

/** Options of `mcp-run approve`, as parsed (plus what the program wires in). */
export interface ApproveCommandOptions extends QuestionOptions {
  /** `--diff`: show what changed, record nothing. */
  diff?: boolean;
  /** `--timeout SECONDS`, as typed (default 30). */
  timeout?: string;
}

/**
 * `mcp-run approve <server> [-p …] [--diff] [--yes] [-- server args…]`: starts the server in its
 * sandbox, lists what it offers and compares it with its pins. With no pins it shows every
 * definition; with pins, what changed. Then (not with `--diff`) it records the new set once the
 * user approves: `--yes`, or a "y" on a terminal.
 *
 * Exit codes: 0 when the set was recorded or nothing changed; 1 when something changed (or
 * nothing was pinned yet) and was not recorded, which `--diff` never does.
 *
 * @param ctx CLI context.
 * @param line The target and the server's arguments.
 * @param options `--diff`, `--yes`, `--timeout`.
 * @returns The exit code.
 * @throws {UsageError} When not given one target, or a bad timeout.
 *
 * @example
 * ```ts ignore
 * // `mcp-run approve filesystem -p dirs=/home/ada/notes --diff`, from a CLI context.
 * const code = await approveCommand(ctx, { rest: ["filesystem"], serverArgs: [] }, { diff: true });
 * ```
 */
export async function approveCommand(
  ctx: CliContext,
  line: CommandLine,
  options: ApproveCommandOptions = {},
): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  const timeoutMs = secondsOption("timeout", options.timeout) ?? 30_000;
  const { server, sandbox } = await resolveFor(ctx, line.rest[0], line.serverArgs);
  const current = await listServer(ctx, server, sandbox, timeoutMs);
  const cacheRoot = ctx.target.cacheRoot;
  const stored = await readPins(cacheRoot, server.name);
  const empty: PinnedSet = { tool: {}, prompt: {}, resourceTemplate: {} };
  const changes = diffPins(stored?.definitions ?? empty, current);
  const pending = !stored || changes.length > 0;
  const record = async (): Promise<boolean> => {
    const question = `Pin these definitions for "${server.name}"? [y/N] `;
    if (options.diff || !pending || !await askYesNo(question, options)) return false;
    const pins: PinRecord = {
      server: server.name,
      at: new Date().toISOString(),
      by: "approve",
      definitions: current,
    };
    await writePins(cacheRoot, pins);
    return true;
  };
  if (ctx.json) {
    const recorded = await record();
    ctx.print(JSON.stringify(
      {
        server: server.name,
        pinned: stored ? { at: stored.at, by: stored.by } : null,
        changes: changes.map((c) => ({ ...c, text: describeChange(c) })),
        definitions: current,
        recorded,
      },
      null,
      2,
    ));
    return pending && !recorded ? EXIT.error : EXIT.ok;
  }
  ctx.print(report(server.name, stored, changes, current).join("\n"));
  if (!pending) return EXIT.ok;
  if (options.diff) return EXIT.error;
  if (await record()) {
    ctx.print(`Pinned in ${pinsFile(cacheRoot, server.name)}.`);
    return EXIT.ok;
  }
  const same = Object.keys(server.params).length ? " (with the same -p parameters)" : "";
  ctx.printError(
    `mcp-run approve: nothing was recorded; run \`mcp-run approve ${line.rest[0]} --yes\`${same} ` +
      "to approve these definitions.",
  );
  return EXIT.error;
}

/** Starts the server, lists what it offers, stops it: the set to pin. */
async function listServer(
  ctx: CliContext,
  server: Awaited<ReturnType<typeof resolveFor>>["server"],
  sandbox: Awaited<ReturnType<typeof resolveFor>>["sandbox"],
  timeoutMs: number,
): Promise<PinnedSet> {
  const [{ connectServer }, { ResultSchema }] = await Promise.all([
    import(onUse("../sandbox/connect.ts", import.meta.url)) as Promise<
      typeof import("../sandbox/connect.ts")
    >,
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  const connected = await connectServer(server, {
    cacheRoot: ctx.target.cacheRoot,
    sandbox,
    onStderr: () => {},
    timeoutMs,
  });
  try {
    const { client } = connected;
    // The raw result (a loose schema keeps every field): hashed exactly as the guard sees it.
    const request = (method: string, params?: Record<string, unknown>) =>
      connected.request(
        method,
        (o) =>
          client.request({ method, params } as never, ResultSchema, o) as Promise<
            Record<string, unknown>
          >,
      );
    const capabilities = client.getServerCapabilities() as Record<string, unknown> | undefined;
    return await pinSet(await listDefinitions(request, capabilities));
  } finally {
    await connected.close();
  }
}

/** Every character of what a server wrote is shown to the person approving it. */
const FULL = { limit: Infinity };

/**
 * What the user is asked to approve: every definition, or what changed; each shown definition
 * with the poisoning scan's findings in it (schema strings included), so text a summary line does
 * not show is still named.
 */
function report(
  name: string,
  stored: PinRecord | undefined,
  changes: PinChange[],
  current: PinnedSet,
): string[] {
  if (!stored) {
    const all = DEFINITION_KINDS.flatMap((kind) =>
      Object.values(current[kind]).flatMap((p) => [
        `  ${describeDefinition(kind, p.definition, FULL)}`,
        ...findingLines(kind, p.definition),
      ])
    );
    const count = DEFINITION_KINDS.reduce((n, k) => n + Object.keys(current[k]).length, 0);
    return [`${name}: nothing pinned yet. It offers (${count}):`, ...all];
  }
  const since = `since ${stored.at} (${stored.by === "approve" ? "approved" : "first launch"})`;
  if (changes.length === 0) return [`${name}: nothing changed ${since}.`];
  const lines = [`${name}: ${changes.length} changed ${since}:`];
  for (const change of changes) {
    lines.push(`  ${describeChange(change, FULL)}`);
    const now = change.change === "removed" ? undefined : current[change.kind][change.name];
    if (now && change.change === "added") {
      lines.push(`    ${describeDefinition(change.kind, now.definition, FULL)}`);
    }
    if (now) lines.push(...findingLines(change.kind, now.definition));
  }
  return lines;
}

/** The scan's findings in one definition, one indented line each. */
function findingLines(kind: DefinitionKind, definition: Record<string, unknown>): string[] {
  return scanDefinition(kind, definition).findings.map((f) => `    ! ${formatFinding(f)}`);
}
