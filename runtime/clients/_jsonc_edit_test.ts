import assert from "node:assert/strict";
import {
  jsoncAppend,
  jsoncDelete,
  jsoncEntry,
  jsoncSet,
  jsoncValueAt,
  parseJsonc,
} from "./_jsonc_edit.ts";

const F = "mcp.json";

Deno.test("parseJsonc() accepts comments, trailing commas and an empty file", () => {
  assert.equal(parseJsonc("", F), undefined);
  assert.equal(parseJsonc("// only a comment\n", F), undefined);
  assert.equal(parseJsonc('{ /* c */ "a": [1, 2,], // c\n}', F)?.type, "object");
});

Deno.test("parseJsonc() names the line and column of a syntax error", () => {
  assert.throws(() => parseJsonc('{\n  "a": 1\n  "b": 2\n}', F), {
    name: "SyntaxError",
    message:
      'Cannot parse "mcp.json": comma expected at line 3, column 3; fix the file and try again ' +
      "(it was left untouched)",
  });
});

Deno.test("parseJsonc() refuses a top level that is not an object", () => {
  for (const [text, what] of [["[]", "an array"], ['"x"', "a string"], ["1", "a number"]]) {
    assert.throws(() => parseJsonc(text, F), {
      name: "TypeError",
      message: `Cannot edit "mcp.json": its top level is ${what}, not an object`,
    });
  }
});

Deno.test("jsoncSet() changes only the edited value, keeping comments and layout", () => {
  const text = '{\n  // servers\n  "servers": {\n    "a": 1, // keep\n    "b": 2\n  }\n}\n';
  assert.equal(
    jsoncSet(text, F, ["servers", "b"], { x: true }),
    '{\n  // servers\n  "servers": {\n    "a": 1, // keep\n    "b": {\n      "x": true\n    }\n  }\n}\n',
  );
});

Deno.test("jsoncSet() adds a missing key and its missing parents", () => {
  const out = jsoncSet('{\n\t"other": 1\n}\n', F, ["mcpServers", "x"], { command: "deno" });
  assert.deepEqual(JSON.parse(out), { other: 1, mcpServers: { x: { command: "deno" } } });
  assert.match(out, /\n\t"mcpServers"/, "the file's tab indentation is followed");
});

Deno.test("jsoncSet() writes a new object into an empty file", () => {
  assert.deepEqual(JSON.parse(jsoncSet("", F, ["a", "b"], 1)), { a: { b: 1 } });
});

Deno.test("jsoncSet() refuses a file with only comments, rather than dropping them", () => {
  assert.throws(() => jsoncSet("// mine\n", F, ["a"], 1), SyntaxError);
});

Deno.test("jsoncSet() refuses a path through a value that is not an object", () => {
  assert.throws(() => jsoncSet('{"servers": []}', F, ["servers", "x"], 1), {
    name: "TypeError",
    message: 'Cannot edit "mcp.json": "servers" is an array, not an object',
  });
});

Deno.test("jsoncSet() refuses duplicate keys, which readers resolve differently", () => {
  assert.throws(
    () => jsoncSet('{"servers": {"x": 1}, "servers": {"y": 2}}', F, ["servers", "z"], 1),
    { name: "SyntaxError", message: /key "servers" appears 2 times/ },
  );
});

Deno.test("jsoncSet() keeps hostile keys and values intact as JSON", () => {
  const key = 'we"ird\\key\u2028}';
  const value = { s: "*/ // \n ${HOME} </script>" };
  const out = jsoncSet('{"s": {}}', F, ["s", key], value);
  assert.deepEqual(JSON.parse(out).s[key], value);
  // __proto__ is stored as a plain key, not as a prototype.
  const proto = jsoncSet("{}", F, ["__proto__"], { polluted: true });
  assert.equal(jsoncValueAt(proto, F, ["__proto__", "polluted"]), true);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("jsoncSet() keeps a byte-order mark and CRLF line endings", () => {
  const out = jsoncSet('\uFEFF{\r\n  "a": 1\r\n}\r\n', F, ["b"], 2);
  assert.ok(out.startsWith("\uFEFF{"));
  assert.ok(!/[^\r]\n/.test(out), "a bare LF was written into a CRLF file");
});

Deno.test("jsoncAppend() adds to a list, creating it when absent", () => {
  const created = jsoncAppend("{}", F, ["inputs"], { id: "a" });
  assert.deepEqual(JSON.parse(created), { inputs: [{ id: "a" }] });
  const added = jsoncAppend(created, F, ["inputs"], { id: "b" });
  assert.deepEqual(JSON.parse(added), { inputs: [{ id: "a" }, { id: "b" }] });
  assert.throws(() => jsoncAppend('{"inputs": {}}', F, ["inputs"], 1), TypeError);
});

Deno.test("jsoncDelete() removes one member and its comma, nothing else", () => {
  const text = '{\n  "s": {\n    "a": 1,\n    "b": 2, // b\n    "c": 3\n  }\n}\n';
  const out = jsoncDelete(text, F, ["s", "b"]);
  assert.deepEqual(jsoncValueAt(out, F, ["s"]), { a: 1, c: 3 });
  assert.ok(out.includes('"a": 1,\n'));
  assert.equal(jsoncDelete(text, F, ["s", "missing"]), text, "an absent key changes nothing");
  assert.equal(jsoncDelete(text, F, ["nope", "b"]), text);
});

Deno.test("jsoncDelete() leaves an emptied container as {}", () => {
  const out = jsoncDelete('{\n  "s": {\n    "only": 1\n  }\n}\n', F, ["s", "only"]);
  assert.deepEqual(JSON.parse(out), { s: {} });
  assert.match(out, /"s": \{\}/);
});

Deno.test("jsoncEntry() reads one entry and refuses a container of the wrong type", () => {
  assert.deepEqual(jsoncEntry('{"servers": {"x": {"a": 1}}}', F, "servers", "x"), { a: 1 });
  assert.equal(jsoncEntry('{"servers": null}', F, "servers", "x"), undefined);
  assert.equal(jsoncEntry("{}", F, "servers", "x"), undefined);
  assert.throws(() => jsoncEntry('{"servers": 3}', F, "servers", "x"), {
    name: "TypeError",
    message: 'Cannot read "mcp.json": "servers" is not an object',
  });
});
