/**
 * Tool pinning, as a guard stage: a server's tools, prompts and resource templates are the
 * definitions the user approved (or those it listed at its first launch: trust on first use);
 * one that changed or was added since is left out of the lists the client sees and refused when
 * called, until the user approves it with `mcp-run approve`. A server that changes its
 * definitions while running (`notifications/tools/list_changed`) is held to the same pins.
 *
 * @module
 */
import { DEFINITION_KINDS, type DefinitionKind } from "./definition_hash.ts";
import { KIND_LISTS as LISTS, listAll, listChanged, listKinds } from "./_lists.ts";
import { describeChange, diffPins, type PinChange } from "./pin_diff.ts";
import { type PinnedDefinition, type PinnedSet, pinSet, readPins, writePins } from "./pin_store.ts";
import { GuardErrorCode } from "./guard.ts";
import type { GuardContext, GuardStage, Message, Verdict } from "./stage.ts";

export { listDefinitions, type ListRequest } from "./_lists.ts";

/** The kind each list-changed notification concerns (templates change with the resources). */
const CHANGED: Record<string, DefinitionKind> = {
  "notifications/tools/list_changed": "tool",
  "notifications/prompts/list_changed": "prompt",
  "notifications/resources/list_changed": "resourceTemplate",
};

/** The requests that use one definition by name. */
const USES: Record<string, DefinitionKind> = { "tools/call": "tool", "prompts/get": "prompt" };

/** The most distinct blocks said on stderr; a server that keeps changing is said once more. */
const MAX_LOGGED = 1000;

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === "object" && !Array.isArray(value);
}

/** Options for {@linkcode pinStage}. */
export interface PinStageOptions {
  /** mcp-run's cache root (the pins live under it). */
  cacheRoot: string;
  /** The command that approves the server, for messages (default `mcp-run approve <server>`). */
  approveCommand?: string;
}

/** JSON-RPC "invalid params": the error MCP servers answer a call of an unknown tool with. */
const UNKNOWN_NAME = -32602;

/** The kinds' words in messages. */
const WORDS: Record<DefinitionKind, string> = {
  tool: "Tool",
  prompt: "Prompt",
  resourceTemplate: "Resource template",
};

/**
 * The pinning stage of a server's guard: lists what the server offers (its own requests) when the
 * client first needs it, records it when the server has no pins yet, and from then on passes only
 * approved definitions.
 *
 * Requires read/write access to the cache root.
 *
 * @param options The cache root, and the approve command to name.
 * @returns The stage.
 *
 * @example
 * ```ts ignore
 * import { pinStage } from "./pins.ts";
 * const stages = [pinStage({ cacheRoot })];
 * ```
 */
export function pinStage(options: PinStageOptions): GuardStage {
  return new PinStage(options);
}

/**
 * What the guard knows of one kind since approval. Verdicts are kept for approved names only (any
 * other name is refused anyway), so a server inventing names cannot grow these maps.
 */
interface KindState {
  /** Approved names some listing showed changed: refused for the rest of the connection. */
  blocked: Map<string, PinChange>;
  /** Approved names a listing of the current generation showed as approved. */
  checked: Set<string>;
  /** Bumped by each list-changed notification. */
  generation: number;
  /** The generation of the last complete listing (-1: none yet). */
  listed: number;
  /** Names listed that were never approved (bounded; only for the refusal's words). */
  added: Set<string>;
}

class PinStage implements GuardStage {
  readonly name = "pins";
  readonly #options: PinStageOptions;
  /** The approved set: undefined until read; null when it could not be read or recorded. */
  #approved: PinnedSet | null | undefined;
  #loading: Promise<void> | undefined;
  readonly #state: Record<DefinitionKind, KindState> = {
    tool: newKindState(),
    prompt: newKindState(),
    resourceTemplate: newKindState(),
  };
  readonly #listing: Partial<Record<DefinitionKind, Promise<void>>> = {};
  readonly #logged = new Set<string>();

  constructor(options: PinStageOptions) {
    this.#options = options;
  }

  /** Reads the stored pins and hashes once, while the server starts. */
  async prepare(context: GuardContext): Promise<void> {
    await Promise.all([
      this.#loading ? undefined : this.#readStored(context),
      pinSet({
        tool: [{ name: "warm-up", inputSchema: { type: "object" } }],
        prompt: [],
        resourceTemplate: [],
      }),
    ]);
  }

  async fromClient(message: Message, context: GuardContext): Promise<Verdict> {
    const method = message.method;
    if (method === "notifications/initialized") {
      // After the notification has gone on: the first launch's pins are recorded even when the
      // client lists nothing.
      setTimeout(() => this.#load(context).catch(() => {}), 0);
      return { pass: message };
    }
    if (method === undefined || message.id === undefined) return { pass: message };
    if (Object.values(LISTS).some((l) => l.method === method)) {
      await this.#load(context).catch(() => {});
      return { pass: message };
    }
    const kind = USES[method];
    if (!kind) return { pass: message };
    await this.#load(context).catch(() => {});
    const name = message.params?.name;
    if (typeof name !== "string") return { pass: message };
    const refusal = await this.#judgeUse(kind, name, context);
    if (!refusal) return { pass: message };
    return { reply: { jsonrpc: "2.0", id: message.id, error: refusal } };
  }

  async fromServer(
    message: Message,
    request: Message | undefined,
    context: GuardContext,
  ): Promise<Verdict> {
    const changed = message.method !== undefined ? CHANGED[message.method] : undefined;
    if (changed) {
      listChanged(context, message);
      const state = this.#state[changed];
      state.generation++;
      state.checked.clear();
      // Listed again now, so a changed definition is reported even if the client never asks.
      this.#relist(changed, context).catch(() => {});
      return { pass: message };
    }
    const kind = DEFINITION_KINDS.find((k) => LISTS[k].method === request?.method);
    if (!kind || !isObject(message.result)) return { pass: message };
    const { field } = LISTS[kind];
    const items = message.result[field];
    if (!Array.isArray(items)) return { pass: message };
    const generation = this.#state[kind].generation;
    // Hashed together (each digest is asynchronous), then settled in the listing's order, so
    // that what is blocked is said in that order.
    const named = (item: unknown): item is Record<string, unknown> =>
      isObject(item) && typeof item.name === "string";
    const judged = await Promise.all(
      items.map((item) => named(item) ? this.#judge(kind, item) : undefined),
    );
    const changes = items.map((item, i) =>
      named(item) ? this.#settleListed(kind, item, judged[i], generation, context) : "malformed"
    );
    const kept = items.filter((_, i) => changes[i] === undefined);
    if (kept.length === items.length) return { pass: message };
    return { pass: { ...message, result: { ...message.result, [field]: kept } } };
  }

  /**
   * Reads the pins once; records them when there are none (the first launch). Before the server
   * has answered `initialize` its lists are unknown, so nothing is recorded (and nothing cached):
   * an empty pin set would approve whatever it lists later.
   */
  #load(context: GuardContext): Promise<void> {
    if (!this.#loading && context.serverInit === undefined) return this.#readStored(context);
    this.#loading ??= this.#readOrRecord(context).catch((error) => {
      this.#approved = null;
      context.log(
        `tools are blocked: the approved definitions could not be read or recorded ` +
          `(${(error as Error).message}). Run \`${this.#approve(context)}\` to review them.`,
      );
      throw error;
    });
    return this.#loading;
  }

  /** Reads stored pins without recording any (the server's lists are not known yet). */
  async #readStored(context: GuardContext): Promise<void> {
    const stored = await readPins(this.#options.cacheRoot, context.server);
    if (stored && this.#approved === undefined) this.#approved = stored.definitions;
  }

  async #readOrRecord(context: GuardContext): Promise<void> {
    const { cacheRoot } = this.#options;
    const stored = await readPins(cacheRoot, context.server);
    if (stored) {
      this.#approved = stored.definitions;
      return;
    }
    const generations = DEFINITION_KINDS.map((k) => this.#state[k].generation);
    const listed = await listKinds(
      (method) => listAll(context, method),
      capabilitiesOf(context),
      DEFINITION_KINDS,
    );
    const record = await writePins(cacheRoot, {
      server: context.server,
      at: new Date().toISOString(),
      by: "first-launch",
      definitions: await pinSet(listed),
    }, { ifAbsent: true });
    this.#approved = record.definitions;
    // Judged like any listing: another launcher may have recorded a different set first.
    for (const [i, kind] of DEFINITION_KINDS.entries()) {
      await this.#judgeListing(kind, listed[kind], generations[i], context);
    }
    const [tools, prompts, templates] = DEFINITION_KINDS.map((k) =>
      Object.keys(record.definitions[k]).length
    );
    const counted = `${count(tools, "tool")}, ${count(prompts, "prompt")} and ` +
      count(templates, "resource template");
    context.log(
      `pinned ${counted} at this first launch; a later change is blocked until ` +
        `\`${this.#approve(context)}\``,
    );
  }

  /** Lists one kind again (one listing at a time per kind), judging each definition. */
  #relist(kind: DefinitionKind, context: GuardContext): Promise<void> {
    this.#listing[kind] ??= (async () => {
      try {
        const generation = this.#state[kind].generation;
        const listed = await listKinds(
          (method) => listAll(context, method),
          capabilitiesOf(context),
          [kind],
        );
        if (this.#approved === undefined) return;
        await this.#judgeListing(kind, listed[kind], generation, context);
      } finally {
        delete this.#listing[kind];
      }
    })();
    return this.#listing[kind]!;
  }

  /** Judges a complete listing of one kind, read during the given generation. */
  async #judgeListing(
    kind: DefinitionKind,
    items: readonly Record<string, unknown>[],
    generation: number,
    context: GuardContext,
  ): Promise<void> {
    for (const item of items) {
      if (typeof item.name === "string") {
        await this.#judgeListed(kind, item, generation, context);
      }
    }
    const state = this.#state[kind];
    if (state.generation === generation) state.listed = generation;
  }

  /**
   * Judges one listed definition and remembers the verdict for its name: a changed approved
   * definition stays blocked for the rest of the connection, whatever later listings show (a
   * server can tell the guard's listings from the client's, or answer each differently).
   */
  async #judgeListed(
    kind: DefinitionKind,
    item: Record<string, unknown>,
    generation: number,
    context: GuardContext,
  ): Promise<PinChange | undefined> {
    return this.#settleListed(kind, item, await this.#judge(kind, item), generation, context);
  }

  /** Says and remembers the verdict on one listed definition, given its change (if any). */
  #settleListed(
    kind: DefinitionKind,
    item: Record<string, unknown>,
    change: PinChange | undefined,
    generation: number,
    context: GuardContext,
  ): PinChange | undefined {
    const name = item.name as string;
    if (change) this.#logBlock(change, context);
    const approved = this.#approved;
    const state = this.#state[kind];
    if (!approved || !Object.hasOwn(approved[kind], name)) {
      // Only for the refusal's words; bounded, as a server may invent names without end.
      if (approved && state.added.size < MAX_LOGGED) state.added.add(name);
      return change;
    }
    if (change) {
      if (!state.blocked.has(name)) state.blocked.set(name, change);
      state.checked.delete(name);
    } else if (state.generation === generation && !state.blocked.has(name)) {
      state.checked.add(name);
    }
    // Blocked once, left out of every later listing too.
    return change ?? state.blocked.get(name);
  }

  /** Why a use of a definition by name is refused, as a JSON-RPC error; undefined if allowed. */
  async #judgeUse(
    kind: DefinitionKind,
    name: string,
    context: GuardContext,
  ): Promise<Message["error"]> {
    const approved = this.#approved;
    if (!approved) {
      const why = "the approved definitions could not be read";
      return this.#refusal(kind, name, why, undefined, context);
    }
    const state = this.#state[kind];
    if (!Object.hasOwn(approved[kind], name)) {
      // Listed first when not seen yet: a name the server does not list is no approval matter.
      if (!state.added.has(name) && state.listed !== state.generation) {
        await this.#relist(kind, context).catch(() => {});
      }
      if (!state.added.has(name) && state.listed === state.generation) {
        const message = `${
          WORDS[kind]
        } "${name}" is unknown: server "${context.server}" lists none`;
        return { code: UNKNOWN_NAME, message };
      }
      const change: PinChange = { kind, name, change: "added", fields: [] };
      const why = state.added.has(name)
        ? "it was added since you approved the server"
        : "it is not among the approved definitions";
      return this.#refusal(kind, name, why, change, context);
    }
    // A listing that was under way when the list changed is stale: at most one more is read.
    for (let tries = 0; tries < 2; tries++) {
      if (state.blocked.has(name) || state.checked.has(name)) break;
      if (state.listed === state.generation) break;
      try {
        await this.#relist(kind, context);
      } catch (error) {
        const why = `the server's definitions could not be listed (${(error as Error).message})`;
        return this.#refusal(kind, name, why, undefined, context);
      }
    }
    const change = state.blocked.get(name);
    if (!change) {
      // Approved, and unchanged or removed since: what was approved is what is called.
      if (state.checked.has(name) || state.listed === state.generation) return undefined;
      const why = "the server's definitions changed while they were being listed";
      return this.#refusal(kind, name, why, undefined, context);
    }
    this.#logBlock(change, context);
    const why = change.change === "added"
      ? "it was added since you approved the server"
      : "its definition changed since you approved it";
    return this.#refusal(kind, name, why, change, context);
  }

  /** The change that blocks a listed definition, or undefined when it is the approved one. */
  async #judge(
    kind: DefinitionKind,
    item: Record<string, unknown>,
  ): Promise<PinChange | undefined> {
    const name = item.name as string;
    const approved = this.#approved;
    const pinned: PinnedDefinition | undefined = approved && Object.hasOwn(approved[kind], name)
      ? approved[kind][name]
      : undefined;
    const current = await pinSet({ tool: [], prompt: [], resourceTemplate: [], [kind]: [item] });
    // A definition that cannot be hashed (nested too deeply) is missing from the set: blocked.
    if (!current[kind][name]) {
      const fields = [{
        field: "definition",
        before: "approved",
        after: "too deeply nested to read",
      }];
      return { kind, name, change: pinned ? "changed" : "added", fields: pinned ? fields : [] };
    }
    if (pinned && pinned.hash === current[kind][name].hash) return undefined;
    const before: PinnedSet = { tool: {}, prompt: {}, resourceTemplate: {} };
    if (pinned) before[kind][name] = pinned;
    return diffPins(before, current)[0] ?? { kind, name, change: "added", fields: [] };
  }

  #refusal(
    kind: DefinitionKind,
    name: string,
    why: string,
    change: PinChange | undefined,
    context: GuardContext,
  ): Message["error"] {
    const detail = change && change.change === "changed" ? ` (${describeChange(change)})` : "";
    return {
      code: GuardErrorCode.Refused,
      message: `${WORDS[kind]} "${name}" of server "${context.server}" is blocked: ${why}` +
        `${detail}. Review and approve it with: ${this.#approve(context)}`,
      data: { blocked: change ? { ...change, text: describeChange(change) } : { kind, name } },
    };
  }

  /** Says once per definition and change that it is blocked. */
  #logBlock(change: PinChange, context: GuardContext): void {
    const key = JSON.stringify([change.kind, change.name, describeChange(change)]);
    if (this.#logged.has(key) || this.#logged.size > MAX_LOGGED) return;
    this.#logged.add(key);
    if (this.#logged.size > MAX_LOGGED) {
      context.log(`more definitions are blocked; see \`${this.#approve(context)} --diff\``);
      return;
    }
    context.log(
      `blocked ${describeChange(change)}: not approved; review it with ` +
        `\`${this.#approve(context)} --diff\``,
    );
  }

  #approve(context: GuardContext): string {
    return this.#options.approveCommand ?? `mcp-run approve ${context.server}`;
  }
}

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function newKindState(): KindState {
  return { blocked: new Map(), checked: new Set(), generation: 0, listed: -1, added: new Set() };
}

function capabilitiesOf(context: GuardContext): Record<string, unknown> | undefined {
  const caps = context.serverInit?.capabilities;
  return isObject(caps) ? caps : undefined;
}
