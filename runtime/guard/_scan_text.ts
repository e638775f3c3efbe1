/**
 * The text rules of the poisoning scan: which characters a definition must never carry to a
 * client (they hide text from the person who reads it, or steer their terminal), and which
 * phrases read as instructions to the model rather than as a description of a tool.
 *
 * @module
 */
import { cutText } from "../learn/_escape.ts";

/** The kinds of hidden or control character, each named in a finding. */
export type HiddenKind = "tag-characters" | "bidi" | "invisible" | "control";

/** The hidden characters of one kind found in a text. */
export interface HiddenHit {
  /** What kind of character. */
  kind: HiddenKind;
  /** How many characters (an escape sequence counts as its length). */
  count: number;
  /** Where the first one starts, in UTF-16 units of the original text. */
  at: number;
  /** For tag characters: the ASCII text they spell (what the model was meant to read). */
  hidden?: string;
}

/** A text with every hidden and control character removed, and what was removed. */
export interface CleanedText {
  /** The text as the client may see it. */
  clean: string;
  /** One entry per kind found, in the order first met. */
  hits: HiddenHit[];
}

/**
 * Terminal escape sequences, as a pattern to be removed whole, so no "[31m" is left for a
 * terminal or a model: CSI; OSC, DCS, APC, PM and SOS (bounded); any other ESC sequence.
 */
export const ESCAPE_SEQUENCE_PATTERN: string = [
  String.raw`(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]`,
  String
    .raw`(?:\u001b[\]P_^X]|[\u009d\u0090\u009f\u009e\u0098])[^\u0007\u001b\u009c]{0,4096}(?:\u0007|\u001b\\|\u009c)?`,
  String.raw`\u001b[ -/]*[0-~]`,
].join("|");
const ESCAPE_SEQUENCE = new RegExp(ESCAPE_SEQUENCE_PATTERN, "gu");

const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029]/u;
// Format characters, variation selectors beyond the emoji ones (used to smuggle bytes), and the
// Hangul fillers that render as nothing.
const INVISIBLE = /[\p{Cf}\u{e0100}-\u{e01ef}\u115f\u1160\u3164\uffa0]/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;

/** The kind of a character that never reaches a client, or undefined for an ordinary one. */
export function hiddenKind(char: string): HiddenKind | undefined {
  const code = char.codePointAt(0)!;
  if (code >= 0xe0000 && code <= 0xe007f) return "tag-characters";
  if (BIDI.test(char)) return "bidi";
  if (CONTROL.test(char)) return "control";
  if (INVISIBLE.test(char)) return "invisible";
  return undefined;
}

/** A zero-width joiner between two pictographs joins an emoji (👩‍💻): that one is kept. */
function joinsEmoji(chars: string[], i: number): boolean {
  if (chars[i] !== "\u200d") return false;
  const before = chars[i - 1] === "\ufe0f" ? chars[i - 2] : chars[i - 1];
  return PICTOGRAPHIC.test(before ?? "") && PICTOGRAPHIC.test(chars[i + 1] ?? "");
}

/**
 * Removes every hidden and control character (tabs and line breaks stay), and says what was
 * removed: tag characters with the text they spell.
 *
 * @param text Text a server chose.
 * @returns The clean text and one hit per kind found.
 */
export function cleanText(text: string): CleanedText {
  // Most text is plain: one test avoids building anything for it.
  if (!/[^\t\n\r\u0020-\u007e\u00a0-\u00ac\u00ae-\u05ff]/u.test(text)) {
    return { clean: text, hits: [] };
  }
  const hits = new Map<HiddenKind, HiddenHit>();
  const note = (kind: HiddenKind, at: number, length: number, hidden?: string) => {
    const hit = hits.get(kind) ?? { kind, count: 0, at };
    hit.count += length;
    if (hidden !== undefined) hit.hidden = (hit.hidden ?? "") + hidden;
    hits.set(kind, hit);
  };
  const spans: [number, number][] = [];
  for (const match of text.matchAll(ESCAPE_SEQUENCE)) {
    spans.push([match.index, match.index + match[0].length]);
    note("control", match.index, [...match[0]].length);
  }
  let out = "";
  let offset = 0;
  let span = 0;
  const chars = [...text];
  for (let i = 0; i < chars.length; offset += chars[i].length, i++) {
    while (span < spans.length && spans[span][1] <= offset) span++;
    if (span < spans.length && offset >= spans[span][0]) continue;
    const kind = hiddenKind(chars[i]);
    if (kind === undefined || joinsEmoji(chars, i)) {
      out += chars[i];
      continue;
    }
    const code = chars[i].codePointAt(0)!;
    const spelled = kind === "tag-characters" && code >= 0xe0020 && code <= 0xe007e
      ? String.fromCharCode(code - 0xe0000)
      : undefined;
    note(kind, offset, 1, spelled);
  }
  return { clean: out, hits: [...hits.values()].sort((a, b) => a.at - b.at) };
}

/**
 * Shows every hidden and control character of a text as `\u{…}`, so an excerpt can be printed;
 * a run of tag characters is shown by its ends and its length.
 *
 * @param text Text a server chose.
 * @returns The text, with those characters spelled out.
 */
export function showHidden(text: string): string {
  const code = (char: string) => `\\u{${char.codePointAt(0)!.toString(16)}}`;
  return text.replace(/[\u{e0000}-\u{e007f}]{3,}/gu, (run) => {
    const chars = [...run];
    return `${code(chars[0])}…${code(chars.at(-1)!)} (${chars.length} tag characters)`;
  }).replace(/[^]/gu, (char) => hiddenKind(char) || "\t\n\r".includes(char) ? code(char) : char);
}

/**
 * A short window of a text around a position, with its hidden characters spelled out: what a
 * finding quotes.
 *
 * @param text The text.
 * @param at Where the interesting part starts.
 * @param length How long it is.
 * @returns The excerpt, bounded and printable.
 */
export function excerpt(text: string, at: number, length = 0): string {
  let start = Math.max(0, at - 40);
  let end = Math.min(text.length, at + Math.max(length, 1) + 40);
  // Never split a surrogate pair (tag characters and emoji are pairs).
  if (/[\udc00-\udfff]/u.test(text[start] ?? "")) start--;
  if (/[\udc00-\udfff]/u.test(text[end] ?? "")) end++;
  // A run of tag characters is shown by its ends and its whole length, so it is kept whole.
  while (isTag(text.codePointAt(end))) end += 2;
  // Spelled out first: a run of tags, however long, becomes a short line with its true count.
  const window = cutText(showHidden(text.slice(start, end)), 300);
  return `${start > 0 ? "…" : ""}${window}${end < text.length ? "…" : ""}`;
}

function isTag(code: number | undefined): boolean {
  return code !== undefined && code >= 0xe0000 && code <= 0xe007f;
}

/** The kinds of instruction-like text. */
export type InstructionRule =
  | "tag-block"
  | "ignore-instructions"
  | "hide-from-user"
  | "credential-file"
  | "other-tool";

/** One instruction-like phrase found in a text. */
export interface InstructionHit {
  /** Which rule matched. */
  rule: InstructionRule;
  /** Where the phrase starts, in the text searched. */
  at: number;
  /** How long it is. */
  length: number;
}

const TAG_NAMES = "important|system|instructions?|hidden|secret|admin|critical|urgent|" +
  "system[-_ ]?prompt|assistant|im_start|im_end";

const RULES: readonly [InstructionRule, RegExp][] = [
  ["tag-block", new RegExp(String.raw`<\|?\s*/?\s*(${TAG_NAMES})\s*\|?>`, "giu")],
  [
    "ignore-instructions",
    /\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(of\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding|other|system|original)\s+(instructions?|prompts?|rules|directions|guidelines)/giu,
  ],
  [
    "hide-from-user",
    new RegExp(
      [
        String
          .raw`\b(do\s+not|don[’']?t|never|must\s+not)\s+(tell|inform|mention\s+(this\s+)?to|reveal\s+(this\s+)?to|notify|alert|warn|disclose\s+(this\s+)?to|let)\s+(the\s+)?user\b(?![’']s)`,
        String.raw`\bwithout\s+(telling|informing|notifying|alerting|asking)\s+(the\s+)?user\b`,
        String.raw`\b(hide|conceal|keep)\s+(this|it|that)?\s*(secret\s+)?from\s+the\s+user\b`,
        String
          .raw`\bthe\s+user\s+(must|should|need|needs)\s+(not|never)\s+(to\s+)?(know|see|notice|be\s+told)`,
      ].join("|"),
      "giu",
    ),
  ],
  [
    "credential-file",
    new RegExp(
      [
        String.raw`~/\.ssh\b`,
        String.raw`(?<![\w.-])\.ssh/`,
        String.raw`\bid_(rsa|dsa|ecdsa|ed25519)\b`,
        String.raw`\.aws/(credentials|config)\b`,
        String.raw`(?<![\w.-])\.(npmrc|pypirc|netrc|git-credentials|pgpass)\b`,
        String.raw`(?<![\w.$-])\.env(\.[\w-]+)?(?![\w/-])`,
        String.raw`\bmcp\.json\b`,
        String.raw`\bclaude_desktop_config\b`,
        String.raw`\.docker/config\.json\b`,
        String.raw`\.kube/config\b`,
        String.raw`/etc/shadow\b`,
      ].join("|"),
      "giu",
    ),
  ],
];

// "When the `send_email` tool is called, …": a definition that tells the model what to do around
// a tool that is not its own. Only names that look like tool names (quoted, or with `_`, `-`, `.`
// or an inner capital) count, so "the search tool" in plain prose does not.
const TRIGGER = /\b(when|whenever|before|after|instead\s+of|each\s+time|every\s+time)\b/iu;
const TOOL_NAMED =
  /([`"'“‘])?\b([A-Za-z][\w.-]*)[`"'”’]?\s+tools?\b|\btools?\s+([`"'“‘])([\w.-]+)[`"'”’]/gu;
const USE =
  /\b(call|calls|called|calling|use|uses|used|using|invoke|invoked|invoking|run|runs)\b/iu;

/** Whether a word reads as a tool's name rather than as prose. */
function toolShaped(name: string, quoted: boolean): boolean {
  return quoted || /[_.-]|[a-z][A-Z]/u.test(name);
}

/** The sentences of a text that name a tool not its own in a "when … tool … is called" shape. */
function otherToolHits(text: string, ownTools: ReadonlySet<string>): InstructionHit[] {
  const hits: InstructionHit[] = [];
  for (const sentence of text.matchAll(/[^.!?\n]+(\.(?=\w)[^.!?\n]*)*/gu)) {
    const body = sentence[0];
    if (!TRIGGER.test(body) || !USE.test(body)) continue;
    for (const named of body.matchAll(TOOL_NAMED)) {
      const name = named[2] ?? named[4];
      const quoted = (named[1] ?? named[3]) !== undefined;
      if (toolShaped(name, quoted) && !ownTools.has(name)) {
        hits.push({
          rule: "other-tool",
          at: sentence.index + named.index,
          length: named[0].length,
        });
        break;
      }
    }
  }
  return hits;
}

/**
 * Finds instruction-like phrases: `<IMPORTANT>`-style tag blocks, "ignore previous
 * instructions", hiding something from the user, credential files, and telling the model what to
 * do when a tool that is not this server's is called.
 *
 * @param text The text as the client would see it (hidden characters already removed).
 * @param ownTools The server's own tool names (a reference to one of them is ordinary).
 * @returns One hit per phrase, in text order.
 */
export function instructionHits(text: string, ownTools: ReadonlySet<string>): InstructionHit[] {
  const hits: InstructionHit[] = [];
  for (const [rule, pattern] of RULES) {
    for (const match of text.matchAll(pattern)) {
      hits.push({ rule, at: match.index, length: match[0].length });
    }
  }
  hits.push(...otherToolHits(text, ownTools));
  return hits.sort((a, b) => a.at - b.at);
}
