/**
 * What a server says at run time, cleaned as its definitions are: tool results, resource and
 * prompt contents, completions, notifications and the server's requests to the client lose the
 * characters that hide text from the person reading along — Unicode tag characters (which spell
 * ASCII no one sees: "ASCII smuggling"), the variation selectors beyond the emoji ones (which
 * carry bytes the same way), bidirectional embeddings, overrides and isolates (which reorder what
 * is shown) and terminal escapes and other control characters. Characters that real text uses
 * stay: zero-width joiners and non-joiners (emoji, Persian, Indic scripts), the left-to-right and
 * right-to-left marks, and the tag sequence of a subdivision flag emoji. The list answers and `initialize` are the poisoning scan's to clean.
 *
 * @module
 */
import type { GuardContext, GuardStage, Message, Verdict } from "./stage.ts";
import { ESCAPE_SEQUENCE_PATTERN } from "./_scan_text.ts";

/** The answers the poisoning scan cleans (and judges) instead. */
const SCANNED = new Set([
  "initialize",
  "tools/list",
  "prompts/list",
  "resources/list",
  "resources/templates/list",
]);

// One pass: a subdivision flag (the black flag, two to six tag letters or digits, the cancel tag)
// is matched first and kept whole; then terminal escape sequences, removed whole; then tag
// characters, the variation selectors beyond the emoji ones (which carry bytes as tags do),
// bidirectional embeddings, overrides and isolates, and controls other than tab and line breaks.
const CLEANING = new RegExp(
  [
    String.raw`(\u{1f3f4}[\u{e0030}-\u{e0039}\u{e0061}-\u{e007a}]{2,6}\u{e007f})`,
    ESCAPE_SEQUENCE_PATTERN,
    String
      .raw`[\u{e0000}-\u{e007f}\u{e0100}-\u{e01ef}\u202a-\u202e\u2066-\u2069\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]`,
  ].join("|"),
  "gu",
);
/** Anything that may need cleaning: most text is plain and passes one test. */
const SUSPECT = new RegExp(
  String
    .raw`[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u{e0000}-\u{e01ef}]`,
  "u",
);

/** What cleaning removed, added up over the texts of one message. */
export interface Removed {
  /** Characters removed. */
  count: number;
  /** The ASCII the removed tag characters spelled. */
  spelled: string;
}

/**
 * Removes the hiding characters of one text.
 *
 * @param text Text a server sent.
 * @param removed Where the count and the spelled text are added.
 * @returns The clean text (the same string when there was nothing to remove).
 */
export function scrubText(text: string, removed: Removed = { count: 0, spelled: "" }): string {
  if (!SUSPECT.test(text)) return text;
  return text.replace(CLEANING, (match: string, flag: string | undefined) => {
    if (flag !== undefined) return flag;
    const chars = [...match];
    removed.count += chars.length;
    const code = chars[0].codePointAt(0)!;
    if (chars.length === 1 && code >= 0xe0020 && code <= 0xe007e) {
      removed.spelled += String.fromCharCode(code - 0xe0000);
    }
    return "";
  });
}

/** Cleans every string of a JSON value; returns the same value when nothing changed. */
function scrubValue(value: unknown, removed: Removed, depth = 0): unknown {
  if (typeof value === "string") return scrubText(value, removed);
  if (value === null || typeof value !== "object" || depth > 64) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = scrubValue(item, removed, depth + 1);
      if (clean !== item) (out ??= [...value])[i] = clean;
    });
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = scrubValue(item, removed, depth + 1);
    if (clean !== item) (out ??= { ...value as Record<string, unknown> })[key] = clean;
  }
  return out ?? value;
}

/**
 * A stage that removes hiding characters from everything the server sends at run time except the
 * answers the poisoning scan cleans. The first removal of each kind of message is said on stderr,
 * with the text any tag characters spelled.
 *
 * @returns The stage.
 * @example
 * ```ts
 * import { contentScrub } from "./content_scrub.ts";
 * const stage = contentScrub();
 * const answer = {
 *   jsonrpc: "2.0",
 *   id: 1,
 *   result: { content: [{ type: "text", text: "ok\u{e0068}\u{e0069}" }] },
 * };
 * const request = { jsonrpc: "2.0", id: 1, method: "tools/call" };
 * const verdict = stage.fromServer!(answer, request, { log: () => {} } as never);
 * console.log(JSON.stringify(verdict)); // {"pass":{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}}
 * ```
 */
export function contentScrub(): GuardStage {
  const said = new Set<string>();
  return {
    name: "content-scrub",
    /** Runs the cleaning once, while the server starts (its pattern compiles on first use). */
    prepare(): void {
      scrubText("\u{1f3f4}\u{e0067}\u{e0062}\u{e007f}\u001b[0m\u202e\u{e0041}");
    },
    fromServer(message: Message, request: Message | undefined, context: GuardContext): Verdict {
      if (request?.method !== undefined && SCANNED.has(request.method)) return { pass: message };
      const removed: Removed = { count: 0, spelled: "" };
      const clean = scrubValue(message, removed) as Message;
      if (clean === message) return { pass: message };
      const what = request?.method ? `${request.method} answers` : `${message.method} messages`;
      if (!said.has(what)) {
        said.add(what);
        const spelled = removed.spelled
          ? `; the tag characters spelled ${JSON.stringify(removed.spelled.slice(0, 120))}`
          : "";
        context.log(
          `removed ${removed.count} hidden or control characters from ${what}${spelled} ` +
            "(said once)",
        );
      }
      return { pass: clean };
    },
  };
}
