import assert from "node:assert/strict";
import { decodeEntities, htmlToMarkdown } from "./html_to_markdown.ts";

Deno.test("decodeEntities() decodes named and numeric references", () => {
  const cases: [string, string][] = [
    ["a &amp; b", "a & b"],
    ["&lt;tag&gt;", "<tag>"],
    ["&#39;&#x27;&#X27;", "'''"],
    ["&#128512;", "😀"],
    [
      "&unknown; &#0; &#xD800; &#99999999;",
      "&unknown; &#0; &#xD800; &#99999999;",
    ],
    ["&NBSP;x", " x"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(decodeEntities(input), expected, input);
  }
});

Deno.test("htmlToMarkdown() converts common elements", () => {
  const cases: [string, string][] = [
    [
      "<h1>Title</h1><p>Hello <b>bold</b> and <em>it</em>.</p>",
      "# Title\n\nHello **bold** and _it_.",
    ],
    ["<h3> Spaced\n title </h3>", "### Spaced title"],
    ["<ul><li>one</li><li>two</li></ul>", "- one\n- two"],
    ["<p>a<br>b</p>", "a\nb"],
    ['<a href="https://x.test/">x</a>', "[x](https://x.test/)"],
    ['<a href="#top">top</a>', "top"],
    ['<a href="javascript:alert(1)">click</a>', "click"],
    [
      "<pre>  indented\n    code &lt;x&gt;</pre>",
      "```\n  indented\n    code <x>\n```",
    ],
    ["<p>use <code>deno run</code> now</p>", "use `deno run` now"],
    ["<blockquote><p>quoted</p></blockquote>", "> quoted"],
    ['<img src="a.png" alt="A cat"><img src="b.png">', "[image: A cat]"],
    [
      "<table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>",
      "| k | v |\n| a | 1 |",
    ],
  ];
  for (const [input, expected] of cases) {
    assert.equal(htmlToMarkdown(input), expected, input);
  }
});

Deno.test("htmlToMarkdown() drops scripts, styles, comments and page chrome", () => {
  const html = `<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head>
    <body><nav><a href="/">Home</a></nav><script>alert("x")</script><!-- hidden -->
    <p>Visible</p><noscript>no js</noscript><footer>foot</footer></body></html>`;
  assert.equal(htmlToMarkdown(html), "Visible");
});

Deno.test("htmlToMarkdown() prefers <main> and resolves links against the base URL", () => {
  const html = `<body><div>sidebar</div><main><p>Read <a href="../guide">the guide</a></p></main>`;
  assert.equal(
    htmlToMarkdown(html, "https://docs.test/a/b/page"),
    "Read [the guide](https://docs.test/a/guide)",
  );
});
