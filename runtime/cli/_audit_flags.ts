/**
 * `--audit FILE`, `--audit-content` and the `OTEL_EXPORTER_OTLP_*` variables, read into the
 * launch's audit log before the server starts. The log's modules load only when one is asked for.
 *
 * @module
 */
import { onUse } from "../_on_use.ts";
import type { AuditLog } from "../guard/audit_log.ts";
import type { ResolvedServer } from "../policy/resolve.ts";
import { type CliContext, UsageError } from "./context.ts";
import type { GuardFlags } from "./guard_flags.ts";

/**
 * Opens the audit log the options and the environment ask for: a JSONL file (`--audit`), spans
 * for an OTLP collector (`OTEL_EXPORTER_OTLP_ENDPOINT`, read by the launcher only), or both.
 *
 * @param ctx CLI context (its environment, where notices go).
 * @param server The resolved server (the file may not lie where it may read or write).
 * @param flags The options as parsed.
 * @param transport How clients reach mcp-run: `pipe` (`run`) or `tcp` (`serve`).
 * @returns The log, or undefined when none is asked for.
 * @throws {UsageError} For a file that cannot be the log, or `--audit-content` with nowhere to
 *   record (a bad OTLP variable is only said: no spans are sent).
 */
export async function openAuditFlags(
  ctx: CliContext,
  server: ResolvedServer,
  flags: GuardFlags,
  transport: "pipe" | "tcp",
): Promise<AuditLog | undefined> {
  const otlpSet = Object.keys(ctx.env).some((name) => name.startsWith("OTEL_EXPORTER_OTLP_"));
  const otlp = otlpSet ? readOtlpTarget((await loadOtlp()).otlpTarget, ctx) : undefined;
  if (flags.audit === undefined && otlp === undefined) {
    if (flags["audit-content"]) {
      throw new UsageError(
        "--audit-content needs --audit FILE (or OTEL_EXPORTER_OTLP_ENDPOINT): there is no log " +
          "to record content in",
      );
    }
    return undefined;
  }
  const { openAuditLog } =
    await (import(onUse("../guard/audit_log.ts", import.meta.url)) as Promise<
      typeof import("../guard/audit_log.ts")
    >);
  try {
    return await openAuditLog({
      file: flags.audit,
      content: flags["audit-content"] ?? false,
      otlp,
      server: server.name,
      transport,
      serverPaths: [...server.read, ...server.write, ...(server.localDir ? [server.localDir] : [])],
      log: ctx.printError,
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

function loadOtlp(): Promise<typeof import("../guard/otlp.ts")> {
  return import(onUse("../guard/otlp.ts", import.meta.url));
}

/**
 * The OTLP target, or undefined with a notice when the variables are wrong: they are often set
 * for a whole desktop session, and one meant for another program must not stop the server.
 */
function readOtlpTarget(
  read: typeof import("../guard/otlp.ts").otlpTarget,
  ctx: CliContext,
): ReturnType<typeof read> {
  try {
    return read(ctx.env);
  } catch (error) {
    ctx.printError(`mcp-run: ${(error as Error).message}; no spans are sent`);
    return undefined;
  }
}
