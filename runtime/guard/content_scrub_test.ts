import assert from "node:assert/strict";
import { contentScrub, scrubText } from "./content_scrub.ts";
import type { Message } from "./stage.ts";

Deno.test("scrubText() removes tag characters, bidi controls and whole escape sequences", () => {
  const removed = { count: 0, spelled: "" };
  const tags = [..."hi"].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join("");
  assert.equal(
    scrubText(`a${tags}b\u202ec\u001b[31md\u001b]8;;http://x\u0007e\u0000f`, removed),
    "abcdef",
  );
  assert.equal(removed.spelled, "hi");
  assert.ok(removed.count >= 2 + 1 + 5 + 1);
});

Deno.test("scrubText() keeps what real text uses: tabs, line breaks, joiners, flags", () => {
  const text = "a\tb\r\nc \u0645\u06cc\u200c\u062e \u{1f469}\u200d\u{1f4bb} " +
    "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}";
  assert.equal(scrubText(text), text);
  // A flag's tags beyond its shape are not a flag: removed.
  assert.equal(
    scrubText("\u{1f3f4}\u{e0061}\u{e0062}\u{e0063}\u{e0064}\u{e0065}\u{e0066}\u{e0067}\u{e007f}"),
    "\u{1f3f4}",
  );
});

Deno.test("contentScrub() leaves list answers to the scan and returns a clean message itself", () => {
  const stage = contentScrub();
  const logs: string[] = [];
  const context = { log: (l: string) => logs.push(l) } as never;
  const clean: Message = {
    jsonrpc: "2.0",
    id: 1,
    result: { content: [{ type: "text", text: "ok" }] },
  };
  const verdict = stage.fromServer!(clean, { method: "tools/call" }, context) as { pass: Message };
  assert.equal(verdict.pass, clean, "unchanged: the same object, so its bytes pass as sent");
  const listed: Message = { jsonrpc: "2.0", id: 2, result: { tools: [{ description: "\u202e" }] } };
  assert.equal(
    (stage.fromServer!(listed, { method: "tools/list" }, context) as { pass: Message }).pass,
    listed,
  );
  const note: Message = {
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { data: "x\u001b[2J" },
  };
  const out = stage.fromServer!(note, undefined, context) as { pass: Message };
  assert.equal(out.pass.params?.data, "x");
  assert.equal(note.params?.data, "x\u001b[2J", "the original is not changed");
  stage.fromServer!(note, undefined, context);
  assert.equal(logs.length, 1, "said once per kind of message");
});
