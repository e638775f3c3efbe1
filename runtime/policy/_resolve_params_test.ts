import assert from "node:assert/strict";
import { parseManifest } from "./manifest_text.ts";
import { GrantError } from "./grant_error.ts";
import { resolveParams } from "./_resolve_params.ts";

const manifest = parseManifest(JSON.stringify({
  name: "demo",
  description: "d",
  package: "npm:demo@1.0.0",
  parameters: {
    dir: { type: "path", description: "a folder", required: true },
    hosts: { type: "host[]", description: "hosts" },
    port: { type: "number", description: "a port", default: "5432" },
    debug: { type: "boolean", description: "debug" },
  },
}));
const ctx = { cwd: "/work", home: "/home/ada", realPath: (path: string) => path };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GrantError, String(error));
    return `${error.field}: ${error.message}`;
  }
  assert.fail("no error");
}

Deno.test("resolveParams() makes paths absolute, fills defaults and normalises hosts", () => {
  assert.deepEqual(
    resolveParams(manifest, { dir: "~/docs", hosts: ["Example.com", "a.io:443"] }, ctx),
    { dir: ["/home/ada/docs"], hosts: ["example.com", "a.io:443"], port: ["5432"] },
  );
  assert.deepEqual(resolveParams(manifest, { dir: "sub" }, ctx).dir, ["/work/sub"]);
  assert.deepEqual(resolveParams(manifest, { dir: "~" }, ctx).dir, ["/home/ada"]);
});

Deno.test("resolveParams() refuses wrong, unknown and missing values, naming the parameter", () => {
  const cases: [Record<string, string | string[]>, RegExp][] = [
    [{}, /^-p dir: "demo" needs a parameter:\n {2}-p dir=\/some\/folder {2}a folder$/],
    [{ dir: "/x", nope: "1" }, /^-p nope: "demo" has no parameter "nope"; its parameters are/],
    [{ dir: ["/a", "/b"] }, /^-p dir: Parameter "dir" takes one value, got 2$/],
    [{ dir: "" }, /^-p dir: Parameter "dir" is an empty path$/],
    [{ dir: "/a\0b" }, /^-p dir: Parameter "dir" contains a NUL byte$/],
    [{ dir: "/x", port: "80a" }, /^-p port: Parameter "port" must be a number, got "80a"$/],
    [{ dir: "/x", debug: "yes" }, /^-p debug: Parameter "debug" must be true or false/],
    [{ dir: "/x", hosts: ["a b"] }, /^-p hosts: /],
  ];
  for (const [given, expected] of cases) {
    assert.match(fieldOf(() => resolveParams(manifest, given, ctx)), expected);
  }
});
