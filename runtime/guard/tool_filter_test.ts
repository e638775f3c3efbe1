import assert from "node:assert/strict";
import { toolFilter, toolFilterLayers, toolMatches, toolPatternProblem } from "./tool_filter.ts";
import { toolFilterStage } from "./tool_filter_stage.ts";
import { testContext } from "./_guard_context_fixture.ts";
import type { Message } from "./stage.ts";

Deno.test("toolMatches() takes exact names and * globs, nothing else", () => {
  const cases: [string, string, boolean][] = [
    ["read_file", "read_file", true],
    ["read_file", "read_*", true],
    ["read_file", "*_file", true],
    ["read_file", "*", true],
    ["read_files", "read_file", false],
    ["unread_file", "read_*", false],
    ["readXfile", "read.file", false],
    ["a.b", "a.*", true],
    // A line break in a name does not slip past a deny rule.
    ["delete_repo\n", "delete*", true],
    ["file\nwrite", "*write*", true],
    ["delete_repo\u2028", "delete*", true],
  ];
  for (const [name, pattern, expected] of cases) {
    assert.equal(toolMatches(name, pattern), expected, `${name} ~ ${pattern}`);
  }
});

Deno.test("toolPatternProblem() refuses what is not a tool name or glob", () => {
  for (const bad of ["", "a b", "a,b", "(.*)", "x".repeat(129), "a\u200bb"]) {
    assert.ok(toolPatternProblem(bad), JSON.stringify(bad));
  }
  assert.throws(
    () => toolFilter(toolFilterLayers({ tools: [" , "] })),
    (e: Error) => e instanceof TypeError && /^--tools: "" is not a tool name/.test(e.message),
  );
});

Deno.test("toolFilter() passes a tool only when every layer does: the CLI cannot widen", () => {
  const filter = toolFilter(toolFilterLayers({
    manifest: { allow: ["read_*", "list"], deny: ["read_secret"] },
    tools: ["read_file,read_secret,write_file,list"],
    excludeTools: ["list"],
  }));
  assert.equal(filter.refusal({ name: "read_file" }), undefined);
  assert.equal(filter.refusal({ name: "read_secret" }), "it is excluded by the manifest's tools");
  assert.match(filter.refusal({ name: "write_file" })!, /not among the tools the manifest's/);
  assert.match(filter.refusal({ name: "read_dir" })!, /not among the tools --tools allows/);
  assert.equal(filter.refusal({ name: "list" }), "it is excluded by --exclude-tools");
});

Deno.test("toolFilter() readOnly keeps only tools annotated readOnlyHint: true", () => {
  const filter = toolFilter(toolFilterLayers({ manifest: { readOnly: true } }));
  assert.ok(filter.needsAnnotations);
  assert.equal(filter.refusal({ name: "a", annotations: { readOnlyHint: true } }), undefined);
  assert.ok(filter.refusal({ name: "a", annotations: { readOnlyHint: "true" } }));
  assert.ok(filter.refusal({ name: "a" }));
  assert.equal(toolFilter([]).active, false);
});

const list = (tools: Record<string, unknown>[]): Message => ({
  jsonrpc: "2.0",
  id: 1,
  result: { tools },
});
const TOOLS = [
  { name: "read_file", annotations: { readOnlyHint: true } },
  { name: "delete_all", annotations: { destructiveHint: true } },
];

Deno.test("toolFilterStage() leaves filtered tools out of tools/list", async () => {
  const stage = toolFilterStage(toolFilter(toolFilterLayers({ excludeTools: ["delete_*"] })));
  const verdict = await stage.fromServer!(list(TOOLS), { method: "tools/list" }, testContext());
  const tools = ((verdict as { pass: Message }).pass.result as { tools: { name: string }[] }).tools;
  assert.deepEqual(tools.map((t) => t.name), ["read_file"]);
});

Deno.test("toolFilterStage() answers a call of a filtered tool with an error naming the rule", async () => {
  const stage = toolFilterStage(toolFilter(toolFilterLayers({ excludeTools: ["delete_*"] })));
  const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "delete_all" } };
  const verdict = await stage.fromClient!(call, testContext());
  const reply = (verdict as { reply: Message }).reply;
  assert.equal(reply.id, 7);
  assert.equal(reply.error?.code, -32600);
  assert.match(
    reply.error!.message,
    /refused tool "delete_all": it is excluded by --exclude-tools "delete_\*"/,
  );
  const allowed = { ...call, params: { name: "read_file" } };
  assert.deepEqual(await stage.fromClient!(allowed, testContext()), { pass: allowed });
});

Deno.test("toolFilterStage() judges a readOnly call by the listing, reading it when unseen", async () => {
  const stage = toolFilterStage(
    toolFilter([{ source: "the manifest's tools", rules: { readOnly: true } }]),
  );
  const context = testContext({ "tools/list": { tools: TOOLS } });
  const call = (name: string) => ({
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name },
  });
  assert.ok("reply" in await stage.fromClient!(call("delete_all"), context));
  assert.ok("pass" in await stage.fromClient!(call("read_file"), context));
  assert.deepEqual(context.requests, ["tools/list"]);
});

Deno.test("toolFilter().unmatched() names the allowed patterns no tool matches, with their source", () => {
  const filter = toolFilter(toolFilterLayers({
    manifest: { allow: ["read_*", "write_file"] },
    tools: ["read_file,reed_file"],
  }));
  assert.deepEqual(filter.unmatched(["read_file", "delete_all"]), [
    `the manifest's tools "write_file"`,
    `--tools "reed_file"`,
  ]);
  assert.deepEqual(filter.unmatched(["read_file", "write_file", "reed_file"]), []);
});

Deno.test("toolFilterStage() says once that an allowed name matches none of the listed tools", async () => {
  const stage = toolFilterStage(toolFilter(toolFilterLayers({ tools: ["read_file,reed_fiel"] })));
  const context = testContext();
  await stage.fromServer!(list(TOOLS), { method: "tools/list" }, context);
  await stage.fromServer!(list(TOOLS), { method: "tools/list" }, context);
  assert.deepEqual(context.logs, [`--tools "reed_fiel" matches none of its tools; check the name`]);
  // A name the server offers raises nothing (positive control).
  const quiet = testContext();
  const fine = toolFilterStage(toolFilter(toolFilterLayers({ tools: ["read_file"] })));
  await fine.fromServer!(list(TOOLS), { method: "tools/list" }, quiet);
  assert.deepEqual(quiet.logs, []);
});
