// What recording costs the relay per answered request: building the record and the span, with
// and without content, for an ordinary answer and a hostile 3 MB one (the line stays bounded).
import { auditRecord } from "./_audit_record.ts";
import { auditSpan } from "./otlp.ts";
import type { Exchange } from "./stage.ts";

function exchange(text: string): Exchange {
  return {
    request: {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "read_file", arguments: { path: "/data/notes.md", api_token: "t" } },
    },
    response: { jsonrpc: "2.0", id: 7, result: { content: [{ type: "text", text }] } },
    startedAt: Date.now(),
    durationMs: 3,
    requestBytes: 120,
    responseBytes: text.length + 60,
    answeredBy: "server",
  };
}

const ordinary = exchange("x".repeat(2_000));
const hostile = exchange("x".repeat(3_000_000));
const options = { session: "s", server: "notes" };

Deno.bench("auditRecord() of an ordinary answer", { group: "record", baseline: true }, () => {
  JSON.stringify(auditRecord(ordinary, options));
});
Deno.bench("auditRecord() of an ordinary answer, with content", { group: "record" }, () => {
  JSON.stringify(auditRecord(ordinary, { ...options, content: true }));
});
Deno.bench("auditRecord() of a 3 MB answer, with content", { group: "record" }, () => {
  JSON.stringify(auditRecord(hostile, { ...options, content: true }));
});
Deno.bench("auditSpan() of an ordinary answer", () => {
  auditSpan(auditRecord(ordinary, options), { startedAt: ordinary.startedAt });
});
