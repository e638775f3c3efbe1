import assert from "node:assert/strict";
import { cutText, escapeText, MAX_QUOTED, quoteText } from "./_escape.ts";

Deno.test("escapeText() shows control, bidirectional and invisible characters as \\u escapes", () => {
  assert.equal(
    escapeText("a\nb\r\u001b[2J\u202ex\u200by\u2028"),
    "a\\u000ab\\u000d\\u001b[2J\\u202ex\\u200by\\u2028",
  );
  assert.equal(escapeText("plain text: /a/b ok"), "plain text: /a/b ok");
});

Deno.test("quoteText() bounds then escapes, so a long value stays one bounded line", () => {
  assert.equal(cutText("x".repeat(MAX_QUOTED + 5)).length, MAX_QUOTED + 1);
  assert.equal(quoteText("ok\nMCP-RUN: all granted", 4), "ok\\u000aM…");
});
