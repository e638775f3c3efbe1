/**
 * Refused accesses in the CLI: the log each launch keeps (`run` writes one stderr line per new
 * denial as it happens; `inspect` and `call` print them after their output), the record of the
 * last run of each server, and `mcp-run denials <server>`.
 *
 * @module
 */
import { type AuditChannel, openAuditChannel } from "../learn/audit_channel.ts";
import { type Denial, denialAdvice, formatDenial } from "../learn/denial.ts";
import { DenialLog } from "../learn/denial_log.ts";
import { denialContext } from "../learn/denial_places.ts";
import { serverProtectedPaths } from "../sandbox/write_protection.ts";
import { onUse } from "../_on_use.ts";
import { osErrorMessage } from "../_os_error.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import type { Sandbox } from "../sandbox/sandbox.ts";
import { loadManifest } from "../registry/load.ts";
import { type CliContext, type CommandLine, EXIT, expectArgs } from "./context.ts";

/** Options for {@linkcode launchDenialLog}. */
export interface LaunchDenialLogOptions {
  /** Write one stderr line per new denial as it happens (`run`). */
  live?: boolean;
}

/**
 * The denial log of one launch from the CLI, worded for the sandbox's isolation.
 *
 * @param ctx CLI context.
 * @param server The resolved server.
 * @param sandbox The sandbox it runs in.
 * @param options Whether to print each new denial at once.
 * @returns The log.
 *
 * @example
 * ```ts ignore
 * const log = launchDenialLog(ctx, server, sandbox, { live: true });
 * ```
 */
export function launchDenialLog(
  ctx: CliContext,
  server: ResolvedServer,
  sandbox: Pick<Sandbox, "isolation">,
  options: LaunchDenialLogOptions = {},
): DenialLog {
  const context = denialContext(server, {
    cacheRoot: ctx.target.cacheRoot,
    isolation: sandbox.isolation,
    home: ctx.env.HOME,
    // The plan's own list: scanned once per resolved server, so this is not a second walk.
    protectedWrites: server.write.length ? serverProtectedPaths(server) : [],
  });
  const onDenial = options.live
    ? (denial: Denial) => ctx.printError(formatDenial(server.name, denial))
    : undefined;
  return new DenialLog(server, { context, onDenial });
}

/**
 * Opens a launch's audit channel (see `openAuditChannel`); one that cannot be made (no
 * `mkfifo`) is reported on stderr and the server runs without reports rather than not at all.
 *
 * @param ctx CLI context.
 * @param log The launch's log.
 * @param onClose Called with the complete log once the channel is closed.
 * @returns The channel, or `undefined` when none could be made.
 *
 * @example
 * ```ts ignore
 * const audit = await openAudit(ctx, launchDenialLog(ctx, server, sandbox));
 * ```
 */
export async function openAudit(
  ctx: CliContext,
  log: DenialLog,
  onClose?: (log: DenialLog) => Promise<void>,
): Promise<AuditChannel | undefined> {
  try {
    return await openAuditChannel({ cacheRoot: ctx.target.cacheRoot, log, onClose });
  } catch (error) {
    ctx.printError(
      `mcp-run: refused accesses will not be reported: ${osErrorMessage(error as Error)}`,
    );
    return undefined;
  }
}

/**
 * Stores a launch's denials as the server's last run's; a failure to store is reported on
 * stderr, never turned into the command's failure.
 *
 * @param ctx CLI context.
 * @param server The server.
 * @param log The launch's log.
 * @param command The command that launched it.
 * @returns When stored (or reported).
 *
 * @example
 * ```ts ignore
 * await storeDenials(ctx, server, log, "run");
 * ```
 */
export async function storeDenials(
  ctx: CliContext,
  server: ResolvedServer,
  log: DenialLog,
  command: string,
): Promise<void> {
  const record = {
    server: server.name,
    at: new Date().toISOString(),
    command,
    denials: log.denials,
    ...(log.dropped ? { dropped: log.dropped } : {}),
  };
  const { writeDenials } = await store();
  await writeDenials(ctx.target.cacheRoot, record).catch((error) =>
    ctx.printError(`mcp-run: could not record what ${server.name} was refused: ${error.message}`)
  );
}

/**
 * The text block listing denials (`inspect`, `call`, `denials`): a heading, then one line each.
 *
 * @param denials The denials.
 * @returns The lines, or none when nothing was refused.
 *
 * @example
 * ```ts
 * import { denialLines } from "./denials.ts";
 * const d = { permission: "sys", value: "homedir", asked: "sys homedir", allow: '"sys": ["homedir"]', count: 2 };
 * console.log(denialLines([d]).join("\n"));
 * // Refused (1):
 * //   sys homedir (2 times): to allow it, "sys": ["homedir"]
 * ```
 */
export function denialLines(denials: readonly Denial[]): string[] {
  if (denials.length === 0) return [];
  return [
    `Refused (${denials.length}):`,
    ...denials.map((d) => {
      const times = d.count > 1 ? ` (${d.count} times)` : "";
      const mark = d.unverified ? " (unverified)" : "";
      return `  ${d.asked}${times}${mark}: ${denialAdvice(d)}`;
    }),
  ];
}

/**
 * `mcp-run denials <server>`: lists what the server's last run (`run`, `inspect`, `call`,
 * `serve`) was refused, with the change that would allow each. Exits 0.
 *
 * @param ctx CLI context.
 * @param line The server's name or manifest path.
 * @returns The exit code.
 * @throws {UsageError} When not given one server.
 * @throws {SyntaxError} When the stored record is damaged.
 */
export async function denialsCommand(ctx: CliContext, line: CommandLine): Promise<number> {
  expectArgs(line.rest, 1, 1, "give one server name or manifest path");
  let name = line.rest[0];
  if (name.includes("/") || /\.jsonc?$/.test(name)) {
    name = (await loadManifest(name, { sources: ctx.target.sources })).manifest.name;
  }
  const record = await (await store()).readDenials(ctx.target.cacheRoot, name);
  if (ctx.json) {
    ctx.print(JSON.stringify(record ?? { server: name, denials: null }, null, 2));
    return EXIT.ok;
  }
  if (!record) {
    ctx.print(`${name}: no run recorded`);
    return EXIT.ok;
  }
  const when = `the last run (${record.command}, ${record.at})`;
  if (record.denials.length === 0) {
    ctx.print(`${name}: ${when} was refused nothing`);
    return EXIT.ok;
  }
  const dropped = record.dropped ? [`  … and ${record.dropped} more not kept`] : [];
  ctx.print([`${name}: ${when}`, ...denialLines(record.denials), ...dropped].join("\n"));
  return EXIT.ok;
}

/** The store loads when a launch ends, not while the server starts. */
function store(): Promise<typeof import("../learn/denials_store.ts")> {
  return import(onUse("../learn/denials_store.ts", import.meta.url)) as Promise<
    typeof import("../learn/denials_store.ts")
  >;
}
