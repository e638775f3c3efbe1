/**
 * The tool filter as a guard stage: filtered tools are left out of every `tools/list` answer, and
 * a `tools/call` of one is answered with a JSON-RPC error naming the rule; it never reaches the
 * server.
 *
 * @module
 */
import { listAll, listChanged, listItems, refuse, withItems } from "./_lists.ts";
import { quoteText } from "../learn/_escape.ts";
import type { GuardContext, GuardStage, Message, Verdict } from "./stage.ts";
import type { ToolFilter } from "./tool_filter.ts";

/**
 * A guard stage that applies a tool filter to `tools/list` and `tools/call`. With a `readOnly`
 * rule a call is judged by the annotations of the tool's latest listing; when the client calls
 * before any listing, the stage reads the list itself first.
 *
 * @param filter The compiled filter (see `toolFilter()`).
 * @returns The stage.
 *
 * @example
 * ```ts
 * import { toolFilter } from "./tool_filter.ts";
 * import { toolFilterStage } from "./tool_filter_stage.ts";
 * const stage = toolFilterStage(toolFilter([{ source: "--exclude-tools", rules: { deny: ["rm"] } }]));
 * console.log(stage.name); // filter
 * ```
 */
export function toolFilterStage(filter: ToolFilter): GuardStage {
  // The annotations of each tool as last listed: readOnly judges a call by them.
  let annotations: Map<string, Record<string, unknown> | undefined> | undefined;
  let warned = false;
  const remember = (tools: Record<string, unknown>[], fresh: boolean) => {
    if (fresh || !annotations) annotations = new Map();
    for (const tool of tools) {
      if (typeof tool.name !== "string") continue;
      annotations.set(tool.name, tool.annotations as Record<string, unknown> | undefined);
    }
  };
  const judgeCall = async (message: Message, context: GuardContext): Promise<Verdict> => {
    const name = message.params?.name;
    if (typeof name !== "string") return { pass: message };
    if (filter.needsAnnotations && !annotations?.has(name)) {
      try {
        remember(await listAll(context, "tools/list"), true);
      } catch { /* judged without annotations: a readOnly rule then refuses */ }
    }
    const why = filter.refusal({ name, annotations: annotations?.get(name) });
    if (!why) return { pass: message };
    return refuse(
      message,
      `mcp-run refused tool "${quoteText(name, 128)}": ${why}`,
      { refusedBy: "tool filter", tool: name, reason: why },
    );
  };
  return {
    name: "filter",
    fromClient(message: Message, context: GuardContext): Verdict | Promise<Verdict> {
      if (!filter.active || message.method !== "tools/call" || message.id === undefined) {
        return { pass: message };
      }
      return judgeCall(message, context);
    },
    fromServer(message: Message, request: Message | undefined, context: GuardContext): Verdict {
      // Changed tools are judged by their new annotations: read afresh on the next call.
      if (message.method === "notifications/tools/list_changed") {
        annotations = undefined;
        listChanged(context, message);
      }
      if (!filter.active || request?.method !== "tools/list") return { pass: message };
      const tools = listItems(message, "tools");
      if (!tools) return { pass: message };
      remember(tools, request.params?.cursor === undefined);
      // A whole list in one answer shows allowed names the server does not offer: said once.
      if (
        !warned && request.params?.cursor === undefined &&
        (message.result as { nextCursor?: unknown } | undefined)?.nextCursor === undefined
      ) {
        warned = true;
        const names = tools.flatMap((tool) => typeof tool.name === "string" ? [tool.name] : []);
        const unmatched = filter.unmatched(names);
        if (unmatched.length > 0) {
          context.log(
            `${unmatched.join(", ")} match${
              unmatched.length === 1 ? "es" : ""
            } none of its tools; check the name`,
          );
        }
      }
      const kept = tools.filter((tool) =>
        typeof tool.name === "string" &&
        !filter.refusal({ name: tool.name, annotations: tool.annotations as ToolFacts })
      );
      return { pass: withItems(message, "tools", kept) };
    },
  };
}

type ToolFacts = Record<string, unknown> | undefined;
