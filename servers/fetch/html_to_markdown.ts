/**
 * A small, dependency-free HTML to Markdown converter for model-readable page text.
 *
 * It keeps headings, paragraphs, links, emphasis, lists, block quotes, code and tables' text,
 * and drops scripts, styles, forms, navigation chrome and comments. It is not a full HTML
 * parser: the goal is readable text, not a faithful round trip.
 *
 * @module
 */

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  laquo: "«",
  raquo: "»",
  middot: "·",
  bull: "•",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  deg: "°",
  times: "×",
  divide: "÷",
};

/**
 * Decodes HTML character references (named, decimal and hexadecimal).
 *
 * @param text Text that may contain references such as `&amp;`, `&#39;` or `&#x1F600;`.
 * @returns The text with known references replaced; unknown ones are left as written.
 * @example
 * ```ts
 * import { decodeEntities } from "@sandboxed/fetch";
 * decodeEntities("Fish &amp; chips &#8211; &lt;b&gt;"); // "Fish & chips – <b>"
 * ```
 */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(#x[0-9a-f]+|#\d+|[a-z][a-z0-9]*);/gi,
    (match, body: string) => {
      if (body[0] === "#") {
        const code = body[1] === "x" || body[1] === "X"
          ? parseInt(body.slice(2), 16)
          : parseInt(body.slice(1), 10);
        if (
          !Number.isFinite(code) || code <= 0 || code > 0x10ffff
        ) return match;
        if (code >= 0xd800 && code <= 0xdfff) return match;
        return String.fromCodePoint(code);
      }
      return NAMED_ENTITIES[body.toLowerCase()] ?? match;
    },
  );
}

const DROPPED_ELEMENTS = [
  "script",
  "style",
  "noscript",
  "template",
  "svg",
  "canvas",
  "iframe",
  "object",
  "head",
  "nav",
  "footer",
  "form",
  "button",
  "select",
  "textarea",
];

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(
    `\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`,
    "i",
  ).exec(tag);
  if (match === null) return undefined;
  return decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
}

function inlineText(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, "")).replace(/\s+/g, " ")
    .trim();
}

/**
 * Converts an HTML document or fragment to Markdown.
 *
 * @param html The HTML text.
 * @param baseUrl When given, relative link targets are made absolute against it.
 * @returns Markdown text with at most one blank line between blocks.
 * @example
 * ```ts
 * import { htmlToMarkdown } from "@sandboxed/fetch";
 * htmlToMarkdown('<h1>Hi</h1><p>See <a href="/docs">the docs</a>.</p>', "https://example.com/");
 * // "# Hi\n\nSee [the docs](https://example.com/docs)."
 * ```
 */
export function htmlToMarkdown(html: string, baseUrl?: string): string {
  let s = html.replace(/\ue000/g, "").replace(/<!--[\s\S]*?-->/g, "").replace(
    /<!DOCTYPE[^>]*>/gi,
    "",
  );
  // Prefer the main content when the page marks it.
  const main = /<main\b[^>]*>([\s\S]*?)<\/main>/i.exec(s) ??
    /<article\b[^>]*>([\s\S]*?)<\/article>/i.exec(s);
  if (main !== null) s = main[1];
  for (const element of DROPPED_ELEMENTS) {
    s = s.replace(
      new RegExp(`<${element}\\b[\\s\\S]*?<\\/${element}\\s*>`, "gi"),
      "",
    );
    s = s.replace(new RegExp(`<${element}\\b[^>]*\\/?>`, "gi"), "");
  }

  // Preformatted blocks keep their whitespace; stash them so later rules leave them alone.
  const stash: string[] = [];
  const keep = (text: string): string => `\ue000${stash.push(text) - 1}\ue000`;
  s = s.replace(/<pre\b[^>]*>([\s\S]*?)<\/pre\s*>/gi, (_m, body: string) => {
    const code = decodeEntities(body.replace(/<[^>]*>/g, "")).replace(
      /^\n+|\s+$/g,
      "",
    );
    return keep(`\n\n\`\`\`\n${code}\n\`\`\`\n\n`);
  });
  s = s.replace(/<code\b[^>]*>([\s\S]*?)<\/code\s*>/gi, (_m, body: string) => {
    const code = decodeEntities(body.replace(/<[^>]*>/g, ""));
    return code.includes("\n") ? keep(`\n\n\`\`\`\n${code}\n\`\`\`\n\n`) : keep(`\`${code}\``);
  });

  s = s.replace(
    /<h([1-6])\b[^>]*>([\s\S]*?)<\/h\1\s*>/gi,
    (_m, level: string, body: string) => {
      const text = inlineText(body);
      return text === "" ? "\n\n" : `\n\n${"#".repeat(Number(level))} ${text}\n\n`;
    },
  );
  s = s.replace(
    /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi,
    (_m, attrs: string, body: string) => {
      const text = inlineText(body);
      let href = attribute(` ${attrs}`, "href");
      if (
        href === undefined || href.startsWith("#") || /^javascript:/i.test(href)
      ) return text;
      if (baseUrl !== undefined) {
        try {
          href = new URL(href, baseUrl).href;
        } catch {
          return text;
        }
      }
      return text === "" ? "" : `[${text}](${href})`;
    },
  );
  s = s.replace(/<img\b([^>]*)>/gi, (_m, attrs: string) => {
    const alt = attribute(` ${attrs}`, "alt");
    return alt ? `[image: ${alt}]` : "";
  });
  s = s.replace(
    /<(strong|b)\b[^>]*>([\s\S]*?)<\/\1\s*>/gi,
    (_m, _t, body: string) => {
      const text = body.trim();
      return text === "" ? "" : `**${text}**`;
    },
  );
  s = s.replace(
    /<(em|i)\b[^>]*>([\s\S]*?)<\/\1\s*>/gi,
    (_m, _t, body: string) => {
      const text = body.trim();
      return text === "" ? "" : `_${text}_`;
    },
  );
  s = s.replace(/<li\b[^>]*>/gi, "\n- ");
  s = s.replace(/<\/li\s*>/gi, "");
  s = s.replace(
    /<blockquote\b[^>]*>([\s\S]*?)<\/blockquote\s*>/gi,
    (_m, body: string) => {
      const text = inlineText(body);
      return `\n\n> ${text}\n\n`;
    },
  );
  s = s.replace(/<br\s*\/?>/gi, "\n");
  s = s.replace(/<hr\b[^>]*>/gi, "\n\n---\n\n");
  s = s.replace(/<\/t[dh]\s*>/gi, " | ");
  s = s.replace(/<tr\b[^>]*>/gi, "\n| ");
  s = s.replace(/<\/tr\s*>/gi, "");
  s = s.replace(
    /<\/?(p|div|section|article|main|header|aside|ul|ol|dl|dt|dd|table|thead|tbody|tfoot|figure|figcaption|details|summary|address)\b[^>]*>/gi,
    "\n\n",
  );
  s = s.replace(/<[^>]*>/g, "");
  s = decodeEntities(s);

  // Collapse whitespace inside lines, then blank-line runs.
  const lines = s.split("\n").map((line) => line.replace(/[ \t\f\v\r\u00a0]+/g, " ").trim());
  s = lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
  return s.replace(
    /\ue000(\d+)\ue000/g,
    (_m, index: string) => stash[Number(index)],
  ).replace(
    /\n{3,}/g,
    "\n\n",
  ).trim();
}
