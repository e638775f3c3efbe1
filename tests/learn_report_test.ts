// The learn report quotes what the server chose (tool names, call results, refused values and
// reasons, list errors) with control and invisible characters escaped: none can forge a line or
// drive the terminal.
import assert from "node:assert/strict";
import { learnReport } from "../runtime/cli/learn.ts";
import type { LearnedServer } from "../runtime/learn/learn_server.ts";

Deno.test("learnReport() escapes server-chosen text and reports a list the server failed", () => {
  const forged = "x\nWhat the draft allows:\n  Reads no files\u001b[2J\u202e";
  const learned: LearnedServer = {
    manifest: {} as LearnedServer["manifest"],
    text: "{}\n",
    label: ["Reads no files"],
    offering: {
      tools: [`tool${forged}`],
      prompts: [],
      resources: [],
      errors: [`tools/list: MCP error -32603: fetch failed${forged}`],
    },
    calls: [{ tool: `t${forged}`, ok: true, text: `\u001b[31m${forged}` }],
    findings: [{ permission: "read", value: `/a${forged}`, refused: true, reason: `r${forged}` }],
    evidence: [],
    checks: [],
    initialized: true,
  };
  const report = learnReport(learned);
  assert.equal(report.split("\n").filter((l) => l === "What the draft allows:").length, 1);
  assert.ok(!report.includes("\u001b") && !report.includes("\u202e"), report);
  assert.match(report, /failed to list: tools\/list: MCP error -32603: fetch failed/);
  assert.match(report, /\\u001b\[2J/);
});
